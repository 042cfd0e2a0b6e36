package translate

import (
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// TIQuery is a validated task-instance listing: the query of GET .../taskInstances and
// .../listMapped, or the body of POST /dags/~/dagRuns/~/taskInstances/list. Every filter is
// applied exactly to the task instances as the gateway builds them; the run-level ones also
// narrow what is read from Prefect.
type TIQuery struct {
	Page          Page
	ExecutionDate TimeBounds
	StartDate     TimeBounds
	EndDate       TimeBounds
	UpdatedAt     TimeBounds
	DurationGTE   *float64
	DurationLTE   *float64
	// States are Airflow's values as given; "none" (and a JSON null) is a task instance
	// without a state.
	States    []*string
	Pools     []string
	Queues    []string
	Executors []string
	// The batch form's lists (empty: no restriction).
	DAGIDs    []string
	DAGRunIDs []string
	TaskIDs   []string
	// OrderBy is listMapped's order (map_index by default); other lists keep the order of
	// the runs and of their tasks.
	OrderBy OrderBy
}

var tiListParams = []string{"limit", "offset", "execution_date_gte", "execution_date_lte", "start_date_gte",
	"start_date_lte", "end_date_gte", "end_date_lte", "updated_at_gte", "updated_at_lte", "duration_gte",
	"duration_lte", "state", "pool", "queue", "executor"}

// MappedOrderFields is listMapped's order_by allow-list (Airflow's task_instance_endpoint).
var MappedOrderFields = []string{"map_index", "state", "duration", "start_date", "end_date"}

// ParseTIListQuery reads the query of GET .../taskInstances (mapped: .../listMapped, which
// also takes order_by).
func ParseTIListQuery(q url.Values, maxLimit int, mapped bool) (TIQuery, error) {
	allowed := tiListParams
	if mapped {
		allowed = append(slices.Clip(allowed), "order_by")
	}
	var extra []string
	for k := range q {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return TIQuery{}, badInput("Extra query parameter(s) %s not in spec", strings.Join(extra, ", "))
	}
	var out TIQuery
	var err error
	if out.Page, err = ParsePage(q.Get("limit"), q.Get("offset"), maxLimit); err != nil {
		return out, badInput("%s", err.Error())
	}
	if mapped {
		v := strings.TrimSpace(q.Get("order_by"))
		if v == "" {
			v = "map_index"
		}
		o := OrderBy{Field: strings.TrimPrefix(v, "-"), Desc: strings.HasPrefix(v, "-")}
		if !slices.Contains(MappedOrderFields, o.Field) {
			return out, badInput("Ordering with '%s' is not supported", v)
		}
		out.OrderBy = o
	}
	for _, r := range []struct {
		name string
		dst  *TimeBounds
	}{{"execution_date", &out.ExecutionDate}, {"start_date", &out.StartDate}, {"end_date", &out.EndDate}, {"updated_at", &out.UpdatedAt}} {
		if r.dst.GTE, err = queryTimeParam(q, r.name+"_gte"); err != nil {
			return out, err
		}
		if r.dst.LTE, err = queryTimeParam(q, r.name+"_lte"); err != nil {
			return out, err
		}
	}
	for _, r := range []struct {
		key string
		dst **float64
	}{{"duration_gte", &out.DurationGTE}, {"duration_lte", &out.DurationLTE}} {
		if !q.Has(r.key) {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(q.Get(r.key)), 64)
		if err != nil {
			return out, badInput("Wrong type, expected 'number' for query parameter '%s'", r.key)
		}
		*r.dst = &f
	}
	for _, s := range q["state"] {
		out.States = append(out.States, stateValue(s))
	}
	out.Pools, out.Queues, out.Executors = q["pool"], q["queue"], q["executor"]
	return out, nil
}

// stateValue reads an Airflow TI state filter value: "none" (deprecated) and "" mean no state.
func stateValue(s string) *string {
	if s == "none" || s == "" {
		return nil
	}
	return &s
}

var tiFormKeys = []string{"page_offset", "page_limit", "dag_ids", "dag_run_ids", "task_ids",
	"execution_date_gte", "execution_date_lte", "start_date_gte", "start_date_lte", "end_date_gte",
	"end_date_lte", "duration_gte", "duration_lte", "state", "pool", "queue", "executor"}

// ParseTIListForm reads Airflow's ListTaskInstanceForm (TaskInstanceBatchFormSchema): as in
// Airflow, page_limit defaults to 100 and is not capped, and unknown fields are refused.
func ParseTIListForm(body []byte) (TIQuery, error) {
	obj, err := bodyObject(body)
	if err != nil {
		return TIQuery{}, err
	}
	if err := bodyKeys(obj, tiFormKeys, nil); err != nil {
		return TIQuery{}, err
	}
	out := TIQuery{Page: Page{Limit: DefaultPageLimit}}
	if n, err := bodyInt(obj, "page_limit"); err != nil {
		return out, err
	} else if n != nil {
		if *n < 1 {
			return out, badInput("page_limit: %d is less than the minimum of 1", *n)
		}
		out.Page.Limit = *n
	}
	if n, err := bodyInt(obj, "page_offset"); err != nil {
		return out, err
	} else if n != nil {
		if *n < 0 {
			return out, badInput("page_offset: %d is less than the minimum of 0", *n)
		}
		out.Page.Offset = *n
	}
	for _, l := range []struct {
		key string
		dst *[]string
	}{{"dag_ids", &out.DAGIDs}, {"dag_run_ids", &out.DAGRunIDs}, {"task_ids", &out.TaskIDs},
		{"pool", &out.Pools}, {"queue", &out.Queues}, {"executor", &out.Executors}} {
		if *l.dst, err = bodyStrings(obj, l.key); err != nil {
			return out, err
		}
	}
	if raw, ok := obj["state"]; ok && !bodyNull(raw) {
		var states []*string
		if err := json.Unmarshal(raw, &states); err != nil {
			return out, badInput("state: Not a valid list of strings.")
		}
		for _, s := range states {
			if s == nil {
				out.States = append(out.States, nil)
			} else {
				out.States = append(out.States, stateValue(*s))
			}
		}
	}
	for _, r := range []struct {
		name string
		dst  *TimeBounds
	}{{"execution_date", &out.ExecutionDate}, {"start_date", &out.StartDate}, {"end_date", &out.EndDate}} {
		if r.dst.GTE, err = bodyTime(obj, r.name+"_gte"); err != nil {
			return out, err
		}
		if r.dst.LTE, err = bodyTime(obj, r.name+"_lte"); err != nil {
			return out, err
		}
	}
	for _, r := range []struct {
		key string
		dst **float64
	}{{"duration_gte", &out.DurationGTE}, {"duration_lte", &out.DurationLTE}} {
		if raw, ok := obj[r.key]; ok && !bodyNull(raw) {
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil {
				return out, badInput("%s: Not a valid number.", r.key)
			}
			*r.dst = &f
		}
	}
	return out, nil
}

// Match reports whether a task instance passes every filter of q. updated is the task run's
// update stamp (nil for an instance that has no task run).
func (q TIQuery) Match(ti TaskInstance, logical time.Time, updated *time.Time) bool {
	if len(q.DAGIDs) > 0 && !slices.Contains(q.DAGIDs, ti.DAGID) ||
		len(q.DAGRunIDs) > 0 && !slices.Contains(q.DAGRunIDs, ti.DAGRunID) ||
		len(q.TaskIDs) > 0 && !slices.Contains(q.TaskIDs, ti.TaskID) {
		return false
	}
	if !inBounds(&logical, q.ExecutionDate) || !inBounds(parsedTime(ti.StartDate), q.StartDate) ||
		!inBounds(parsedTime(ti.EndDate), q.EndDate) || !inBounds(updated, q.UpdatedAt) {
		return false
	}
	if q.DurationGTE != nil && (ti.Duration == nil || *ti.Duration < *q.DurationGTE) ||
		q.DurationLTE != nil && (ti.Duration == nil || *ti.Duration > *q.DurationLTE) {
		return false
	}
	if len(q.States) > 0 && !slices.ContainsFunc(q.States, func(s *string) bool {
		return (s == nil && ti.State == nil) || (s != nil && ti.State != nil && *s == *ti.State)
	}) {
		return false
	}
	if len(q.Pools) > 0 && !slices.Contains(q.Pools, ti.Pool) ||
		len(q.Queues) > 0 && (ti.Queue == nil || !slices.Contains(q.Queues, *ti.Queue)) ||
		len(q.Executors) > 0 && (ti.Executor == nil || !slices.Contains(q.Executors, *ti.Executor)) {
		return false
	}
	return true
}

// inBounds is Airflow's inclusive range test; a missing value never matches a bound (SQL
// compares NULL with nothing).
func inBounds(t *time.Time, b TimeBounds) bool {
	if !b.set() {
		return true
	}
	if t == nil {
		return false
	}
	return (b.GTE == nil || !t.Before(*b.GTE)) && (b.LTE == nil || !t.After(*b.LTE))
}

func parsedTime(s *string) *time.Time {
	if s == nil {
		return nil
	}
	t, err := ParseTime(*s)
	if err != nil {
		return nil
	}
	return &t
}

// RunFilter narrows the flow runs a listing reads to those that can hold a match: the
// run-level filters (logical date, run ids) exactly, and, through Prefect's task_runs join,
// runs with at least one task run in the asked states and time ranges. It never drops a
// run that holds a match. A query for instances without a state (which have no task run)
// gets no task-run join.
func (q TIQuery) RunFilter() (runs *wire.FlowRunFilter, taskRuns *wire.TaskRunFilter) {
	runs = &wire.FlowRunFilter{}
	if q.ExecutionDate.set() {
		runs.ExpectedStartTime = &wire.TimeRange{After: q.ExecutionDate.GTE, Before: q.ExecutionDate.LTE}
	}
	if len(q.DAGRunIDs) > 0 {
		runs.Name = &wire.NameMatch{Any: q.DAGRunIDs}
	}
	tr := &wire.TaskRunFilter{}
	joined := false
	if q.StartDate.set() {
		tr.StartTime = &wire.TimeRange{After: q.StartDate.GTE, Before: q.StartDate.LTE}
		joined = true
	}
	if q.EndDate.set() {
		tr.EndTime = &wire.TimeRange{After: q.EndDate.GTE, Before: q.EndDate.LTE}
		joined = true
	}
	if len(q.States) > 0 && !slices.Contains(q.States, nil) {
		var types []string
		for _, s := range q.States {
			for _, t := range prefectTaskStateTypes(*s) {
				if !slices.Contains(types, string(t)) {
					types = append(types, string(t))
				}
			}
		}
		if len(types) > 0 { // none: MatchesNothing, the caller asks Prefect nothing
			tr.State = &wire.StateFilter{Type: &wire.AnyOf{Any: types}}
			joined = true
		}
	}
	if !joined {
		tr = nil
	}
	return runs, tr
}

// MatchesNothing is true when q cannot match any task instance: a state filter made only of
// values no task instance of the gateway's can have.
func (q TIQuery) MatchesNothing() bool {
	if len(q.States) == 0 || slices.Contains(q.States, nil) {
		return false
	}
	for _, s := range q.States {
		if len(prefectTaskStateTypes(*s)) > 0 {
			return false
		}
	}
	return true
}
