package translate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Flow-run labels that hold what Airflow knows about a DAG run and Prefect does not
// (DESIGN §3). Prefect label values are str/int/float/bool, never null.
const (
	LabelNote              = "airflow.note"
	LabelDataIntervalStart = "airflow.data_interval_start"
	LabelDataIntervalEnd   = "airflow.data_interval_end"
	// LabelTrigger holds the fingerprint of the trigger request that created the run, so
	// that a retried trigger can tell its own run from somebody else's.
	LabelTrigger = "airflow.trigger"
	// Airflow 3's run fields: a manual run without a logical date (its expected start is
	// only its run_after), who triggered it, its partition key, and the backfill it is of.
	LabelNoLogicalDate  = "airflow.no_logical_date"
	LabelLogicalDate    = "airflow.logical_date"
	LabelTriggeringUser = "airflow.triggering_user"
	LabelPartitionKey   = "airflow.partition_key"
	LabelBackfill       = "airflow.backfill_id"
)

// MaxNoteLength is Airflow's limit on a DAG-run note.
const MaxNoteLength = 1000

// maxRunIDLength is Airflow's ID_LEN: the run_id column is VARCHAR(250).
const maxRunIDLength = 250

// InputError is a request Airflow's API refuses with 400. Title is Airflow's own title when
// it uses a specific one (empty means the default "Bad Request").
type InputError struct {
	Title  string
	Detail string
}

func (e *InputError) Error() string {
	if e.Title != "" {
		return e.Title + ": " + e.Detail
	}
	return e.Detail
}

func badInput(format string, args ...any) *InputError {
	return &InputError{Detail: fmt.Sprintf(format, args...)}
}

// DAGRun is Airflow's DAGRun object. Every field is always present; those Prefect has no
// value for are JSON null.
type DAGRun struct {
	DAGRunID               string          `json:"dag_run_id"`
	DAGID                  string          `json:"dag_id"`
	LogicalDate            *string         `json:"logical_date"`
	ExecutionDate          *string         `json:"execution_date"`
	StartDate              *string         `json:"start_date"`
	EndDate                *string         `json:"end_date"`
	DataIntervalStart      *string         `json:"data_interval_start"`
	DataIntervalEnd        *string         `json:"data_interval_end"`
	LastSchedulingDecision *string         `json:"last_scheduling_decision"`
	RunType                string          `json:"run_type"`
	State                  string          `json:"state"`
	ExternalTrigger        bool            `json:"external_trigger"`
	Conf                   json.RawMessage `json:"conf"` // a JSON object, verbatim from Prefect
	Note                   *string         `json:"note"`
}

// DAGRunFields are the DAGRun field names, for `fields` projections.
var DAGRunFields = []string{"dag_run_id", "dag_id", "logical_date", "execution_date", "start_date",
	"end_date", "data_interval_start", "data_interval_end", "last_scheduling_decision", "run_type",
	"state", "external_trigger", "conf", "note"}

// FromPrefectFlowRun maps a flow run of the deployment behind dagID to Airflow's DAGRun
// (DESIGN §3): name → dag_run_id, expected_start_time → logical_date, start/end times,
// parameters → conf, auto_scheduled → run_type and external_trigger, the state by
// DESIGN §4, and the airflow.* labels → note and data interval.
func FromPrefectFlowRun(run wire.FlowRun, dagID string) DAGRun {
	var st wire.StateType
	switch {
	case run.StateType != nil:
		st = *run.StateType
	case run.State != nil:
		st = run.State.Type
	}
	logical := FormatTimePtr(run.ExpectedStartTime)
	if l := labelTime(run.Labels.LogicalDate); l != nil {
		logical = l // an Airflow 3 run whose logical date is not its start
	}
	conf := run.Parameters
	if !isJSONObject(conf) {
		conf = emptyObject
	}
	out := DAGRun{
		DAGRunID:          run.Name,
		DAGID:             dagID,
		LogicalDate:       logical,
		ExecutionDate:     logical,
		StartDate:         FormatTimePtr(run.StartTime),
		EndDate:           FormatTimePtr(run.EndTime),
		DataIntervalStart: labelTime(run.Labels.DataIntervalStart),
		DataIntervalEnd:   labelTime(run.Labels.DataIntervalEnd),
		RunType:           "manual",
		State:             DAGRunState(st),
		ExternalTrigger:   !run.AutoScheduled,
		Conf:              conf,
	}
	if run.AutoScheduled {
		out.RunType = "scheduled"
	}
	if note := string(run.Labels.Note); note != "" {
		out.Note = &note
	}
	return out
}

var emptyObject = json.RawMessage("{}")

// isJSONObject reports whether raw (valid JSON, as a decoder left it) is an object rather
// than null or another kind of value.
func isJSONObject(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

func labelTime(v wire.LabelValue) *string {
	if v == "" {
		return nil
	}
	t, err := ParseTime(string(v))
	if err != nil {
		return nil
	}
	formatted := FormatTime(t)
	return &formatted
}

// ParseDAGRunFields reads the `fields` query values (repeated, comma-separated, or both)
// against DAGRun's fields. Nil means every field.
func ParseDAGRunFields(values []string) ([]string, error) {
	fields, err := ParseFields(values, DAGRunFields)
	if err != nil {
		return nil, badInput("%v", err)
	}
	return fields, nil
}

// --- trigger ---

// TriggerRequest is a validated POST /dags/{dag_id}/dagRuns body.
type TriggerRequest struct {
	DAGRunID string
	// GeneratedID is true when the caller sent no dag_run_id.
	GeneratedID bool
	LogicalDate time.Time
	// LogicalDateGiven is true when the caller pinned the logical date (logical_date or
	// execution_date) instead of taking "now".
	LogicalDateGiven  bool
	Conf              map[string]any
	Note              *string
	DataIntervalStart *time.Time
	DataIntervalEnd   *time.Time

	// Airflow 3: a run with no logical date at all (NoLogicalDate; LogicalDate then holds
	// its run_after, the time it may start), the user who triggered it, a partition key.
	NoLogicalDate  bool
	TriggeringUser string
	PartitionKey   *string
	// RunAfter, when set, is when the run may start, other than its logical date: it is
	// scheduled then, and the logical date is kept in LabelLogicalDate.
	RunAfter *time.Time
}

var (
	triggerWritable = []string{"dag_run_id", "logical_date", "execution_date", "conf", "note",
		"data_interval_start", "data_interval_end"}
	triggerReadOnly = []string{"dag_id", "start_date", "end_date", "last_scheduling_decision",
		"run_type", "state", "external_trigger"}
)

// ParseTrigger validates a trigger body as Airflow does: a JSON object of DAGRun's writable
// fields (a read-only or unknown field is a 400), tz-aware dates, logical_date and its
// deprecated alias execution_date agreeing, both ends of the data interval or neither, and a
// dag_run_id that matches Airflow's pattern. Without a logical date the run is for now;
// without an id it gets Airflow's manual__<logical date>.
func ParseTrigger(body []byte, now time.Time) (TriggerRequest, error) {
	obj, err := bodyObject(body)
	if err != nil {
		return TriggerRequest{}, err
	}
	if err := bodyKeys(obj, triggerWritable, triggerReadOnly); err != nil {
		return TriggerRequest{}, err
	}
	var req TriggerRequest
	runID, err := bodyString(obj, "dag_run_id")
	if err != nil {
		return req, err
	}
	logical, err := bodyTime(obj, "logical_date")
	if err != nil {
		return req, err
	}
	execution, err := bodyTime(obj, "execution_date")
	if err != nil {
		return req, err
	}
	switch {
	case logical != nil && execution != nil && !logical.Equal(*execution):
		return req, &InputError{Title: "logical_date conflicts with execution_date",
			Detail: fmt.Sprintf("logical_date is '%s' but execution_date is '%s'", FormatTime(*logical), FormatTime(*execution))}
	case logical != nil:
		req.LogicalDate, req.LogicalDateGiven = *logical, true
	case execution != nil:
		req.LogicalDate, req.LogicalDateGiven = *execution, true
	default:
		req.LogicalDate = now
	}
	// Prefect keeps microseconds: the date the run is stored with is the one its id names.
	req.LogicalDate = req.LogicalDate.UTC().Truncate(time.Microsecond)

	if raw, ok := obj["conf"]; ok && !bodyNull(raw) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // numbers reach Prefect exactly as sent
		var conf map[string]any
		if err := dec.Decode(&conf); err != nil || conf == nil {
			return req, badInput("conf: Not a valid mapping type: Airflow's conf is a JSON object")
		}
		req.Conf = conf
	}
	if req.Note, err = bodyString(obj, "note"); err != nil {
		return req, err
	}
	if req.DataIntervalStart, err = bodyTime(obj, "data_interval_start"); err != nil {
		return req, err
	}
	if req.DataIntervalEnd, err = bodyTime(obj, "data_interval_end"); err != nil {
		return req, err
	}
	if (req.DataIntervalStart == nil) != (req.DataIntervalEnd == nil) {
		return req, badInput("Both 'data_interval_start' and 'data_interval_end' must be specified together")
	}
	if req.DataIntervalStart != nil && req.DataIntervalStart.After(*req.DataIntervalEnd) {
		return req, badInput("data_interval_start %s is after data_interval_end %s",
			FormatTime(*req.DataIntervalStart), FormatTime(*req.DataIntervalEnd))
	}

	if runID == nil {
		req.DAGRunID, req.GeneratedID = GenerateRunID("manual", req.LogicalDate), true
	} else {
		if err := ValidateRunID(*runID); err != nil {
			return req, err
		}
		req.DAGRunID = *runID
	}
	return req, nil
}

// GenerateRunID is Airflow's DagRun.generate_run_id: "<run type>__<logical date in Python's
// isoformat>", e.g. manual__2024-05-01T00:00:00+00:00.
func GenerateRunID(runType string, logicalDate time.Time) string {
	return runType + "__" + PythonISOFormat(logicalDate)
}

// PythonISOFormat writes t in UTC as Python's datetime.isoformat() does: microseconds only
// when there are any, and "+00:00".
func PythonISOFormat(t time.Time) string { return FormatTime(t) }

// Airflow's default [scheduler] allowed_run_id_pattern, and the pattern of the ids it
// generates itself (which the first one also covers).
var (
	allowedRunIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.~:+-]+$`)
	builtinRunIDPattern = regexp.MustCompile(`^(?:manual|scheduled|dataset_triggered)__(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00)$`)
)

// ValidateRunID checks a caller's dag_run_id against Airflow's patterns and length.
func ValidateRunID(id string) error {
	if len(id) > maxRunIDLength {
		return badInput("The run_id provided is %d characters long; Airflow allows at most %d", len(id), maxRunIDLength)
	}
	if !allowedRunIDPattern.MatchString(id) && !builtinRunIDPattern.MatchString(id) {
		return badInput("The run_id provided '%s' does not match the pattern '%s' or '%s'",
			id, allowedRunIDPattern, builtinRunIDPattern)
	}
	return nil
}

// IdempotencyKey is the key a trigger creates its flow run with (DESIGN §3). Prefect's
// keys are unique per flow, so the deployment id keeps two DAGs of one flow apart.
func IdempotencyKey(deploymentID, dagRunID string) string {
	return "airflow:" + deploymentID + ":" + dagRunID
}

// Fingerprint identifies the request's content (everything but the id, which the
// idempotency key carries). A run whose airflow.trigger label holds it was created by this
// very request, sent before.
func (r TriggerRequest) Fingerprint() string {
	var doc = struct {
		LogicalDate string         `json:"logical_date"`
		Conf        map[string]any `json:"conf"`
		Note        *string        `json:"note"`
		Start       *string        `json:"data_interval_start"`
		End         *string        `json:"data_interval_end"`
	}{FormatTime(r.LogicalDate), r.Conf, r.Note, FormatTimePtr(r.DataIntervalStart), FormatTimePtr(r.DataIntervalEnd)}
	raw, _ := json.Marshal(doc) // map keys are sorted: the encoding is canonical
	if r.NoLogicalDate || r.PartitionKey != nil || r.RunAfter != nil {
		// Airflow 3's fields join the fingerprint only when set, so that a v1 request keeps
		// the fingerprint it always had.
		extra, _ := json.Marshal(struct {
			NoLogicalDate bool    `json:"no_logical_date"`
			PartitionKey  *string `json:"partition_key"`
			RunAfter      *string `json:"run_after"`
		}{r.NoLogicalDate, r.PartitionKey, FormatTimePtr(r.RunAfter)})
		raw = append(raw, extra...)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16])
}

// ToFlowRunCreate is the create_flow_run body for the trigger: the dag_run_id as the run's
// name, conf as parameters, a SCHEDULED state at the logical date, the idempotency key,
// and the Airflow-only fields as labels.
func (r TriggerRequest) ToFlowRunCreate(deploymentID string) wire.FlowRunCreate {
	at := r.LogicalDate
	if r.RunAfter != nil {
		at = *r.RunAfter
	}
	labels := map[string]any{LabelTrigger: r.Fingerprint()}
	if r.Note != nil && *r.Note != "" {
		labels[LabelNote] = *r.Note
	}
	if r.DataIntervalStart != nil {
		labels[LabelDataIntervalStart] = FormatTime(*r.DataIntervalStart)
		labels[LabelDataIntervalEnd] = FormatTime(*r.DataIntervalEnd)
	}
	if r.NoLogicalDate {
		labels[LabelNoLogicalDate] = true
	}
	if r.TriggeringUser != "" {
		labels[LabelTriggeringUser] = r.TriggeringUser
	}
	if r.PartitionKey != nil {
		labels[LabelPartitionKey] = *r.PartitionKey
	}
	if r.RunAfter != nil {
		labels[LabelLogicalDate] = FormatTime(r.LogicalDate)
	}
	return wire.FlowRunCreate{
		Name:       r.DAGRunID,
		Parameters: r.Conf,
		State: &wire.StateCreate{Type: wire.Scheduled, Message: "Triggered through the Airflow API",
			StateDetails: &wire.StateDetails{ScheduledTime: &at}},
		IdempotencyKey: IdempotencyKey(deploymentID, r.DAGRunID),
		Labels:         labels,
	}
}

// CreatedBy reports whether run is the one this request created (on an earlier attempt).
func (r TriggerRequest) CreatedBy(run wire.FlowRun) bool {
	return run.Name == r.DAGRunID && string(run.Labels.TriggerFingerprint) == r.Fingerprint()
}

// --- listing ---

// TimeBounds is an inclusive date range; nil ends are open.
type TimeBounds struct {
	GTE, LTE *time.Time
}

func (b TimeBounds) set() bool { return b.GTE != nil || b.LTE != nil }

// DAGRunQuery is a validated listing request: the query of GET .../dagRuns or the body of
// POST /dags/~/dagRuns/list.
type DAGRunQuery struct {
	Page          Page
	OrderBy       OrderBy
	States        []string
	ExecutionDate TimeBounds
	StartDate     TimeBounds
	EndDate       TimeBounds
	// DAGIDs is the batch form's dag_ids (empty: every DAG the caller may see).
	DAGIDs []string
	// Fields is GET's `fields` projection (empty: every field).
	Fields []string
}

// DAGRunOrderFields is Airflow's order_by allow-list for DAG runs; the default is id.
var DAGRunOrderFields = []string{"id", "state", "dag_id", "execution_date", "dag_run_id",
	"start_date", "end_date", "updated_at", "external_trigger", "conf"}

var dagRunListParams = []string{"limit", "offset", "execution_date_gte", "execution_date_lte",
	"start_date_gte", "start_date_lte", "end_date_gte", "end_date_lte", "updated_at_gte",
	"updated_at_lte", "state", "order_by", "fields"}

// errUpdatedAt explains the one Airflow filter Prefect cannot apply.
func errUpdatedAt(key string) error {
	return badInput("%s: filtering DAG runs by updated_at is not supported: Prefect cannot filter flow runs by their update time", key)
}

// ParseDAGRunListQuery reads GET /dags/{dag_id}/dagRuns's query. Unknown parameters get
// Airflow's own 400, as its strict validation does.
func ParseDAGRunListQuery(q url.Values, maxLimit int) (DAGRunQuery, error) {
	var extra []string
	for k := range q {
		if !slices.Contains(dagRunListParams, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return DAGRunQuery{}, badInput("Extra query parameter(s) %s not in spec", strings.Join(extra, ", "))
	}
	var out DAGRunQuery
	var err error
	if out.Page, err = ParsePage(q.Get("limit"), q.Get("offset"), maxLimit); err != nil {
		return out, badInput("%s", err.Error())
	}
	if out.OrderBy, err = ParseOrderBy(q.Get("order_by"), "id", DAGRunOrderFields); err != nil {
		return out, badInput("%s", err.Error())
	}
	for _, key := range []string{"updated_at_gte", "updated_at_lte"} {
		if q.Has(key) {
			return out, errUpdatedAt(key)
		}
	}
	for _, r := range []struct {
		name string
		dst  *TimeBounds
	}{{"execution_date", &out.ExecutionDate}, {"start_date", &out.StartDate}, {"end_date", &out.EndDate}} {
		if r.dst.GTE, err = queryTimeParam(q, r.name+"_gte"); err != nil {
			return out, err
		}
		if r.dst.LTE, err = queryTimeParam(q, r.name+"_lte"); err != nil {
			return out, err
		}
	}
	out.States = q["state"]
	if out.Fields, err = ParseDAGRunFields(q["fields"]); err != nil {
		return out, err
	}
	return out, nil
}

func queryTimeParam(q url.Values, key string) (*time.Time, error) {
	if !q.Has(key) {
		return nil, nil
	}
	t, err := ParseTime(q.Get(key))
	if err != nil {
		return nil, badInput("%s: %v", key, err)
	}
	return &t, nil
}

var listFormKeys = []string{"order_by", "page_offset", "page_limit", "dag_ids", "states",
	"execution_date_gte", "execution_date_lte", "start_date_gte", "start_date_lte",
	"end_date_gte", "end_date_lte", "updated_at_gte", "updated_at_lte"}

// ParseDAGRunListForm reads Airflow's ListDagRunsForm. As in Airflow, page_limit defaults
// to 100 and is not capped by the maximum page limit.
func ParseDAGRunListForm(body []byte) (DAGRunQuery, error) {
	obj, err := bodyObject(body)
	if err != nil {
		return DAGRunQuery{}, err
	}
	if err := bodyKeys(obj, listFormKeys, nil); err != nil {
		return DAGRunQuery{}, err
	}
	out := DAGRunQuery{Page: Page{Limit: DefaultPageLimit}}
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
	order, err := bodyString(obj, "order_by")
	if err != nil {
		return out, err
	}
	orderBy := ""
	if order != nil {
		orderBy = *order
	}
	if out.OrderBy, err = ParseOrderBy(orderBy, "id", DAGRunOrderFields); err != nil {
		return out, badInput("%s", err.Error())
	}
	if out.DAGIDs, err = bodyStrings(obj, "dag_ids"); err != nil {
		return out, err
	}
	if out.States, err = bodyStrings(obj, "states"); err != nil {
		return out, err
	}
	for _, key := range []string{"updated_at_gte", "updated_at_lte"} {
		if raw, ok := obj[key]; ok && !bodyNull(raw) {
			return out, errUpdatedAt(key)
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
	return out, nil
}

// PrefectQuery is the flow-run filter (without sort and paging) for q over the runs of
// deploymentIDs; nil deploymentIDs means the runs of every deployment that still exists.
// matchNothing is true when no run can match (an empty deployment list, or only states
// that are not Airflow DAG-run states): no Prefect call is needed then.
func (q DAGRunQuery) PrefectQuery(deploymentIDs []string) (query wire.Query, matchNothing bool) {
	types, none := StateTypesFilter(q.States)
	if none || (deploymentIDs != nil && len(deploymentIDs) == 0) {
		return wire.Query{}, true
	}
	f := &wire.FlowRunFilter{}
	if deploymentIDs != nil {
		f.DeploymentID = &wire.NullableAnyOf{Any: deploymentIDs}
	} else {
		// An EXISTS on the deployment: runs of deleted deployments belong to no DAG.
		query.Deployments = &wire.DeploymentFilter{Operator: "and_"}
	}
	if len(types) > 0 {
		names := make([]string, len(types))
		for i, t := range types {
			names[i] = string(t)
		}
		f.State = &wire.StateFilter{Type: &wire.AnyOf{Any: names}}
	}
	if q.ExecutionDate.set() {
		f.ExpectedStartTime = &wire.TimeRange{After: q.ExecutionDate.GTE, Before: q.ExecutionDate.LTE}
	}
	if q.StartDate.set() {
		// Prefect compares COALESCE(start_time, expected_start_time); requiring a start time
		// makes it Airflow's start_date test, which never matches runs that have not started.
		notNull := false
		f.StartTime = &wire.TimeRange{After: q.StartDate.GTE, Before: q.StartDate.LTE, IsNull: &notNull}
	}
	if q.EndDate.set() {
		f.EndTime = &wire.TimeRange{After: q.EndDate.GTE, Before: q.EndDate.LTE}
	}
	query.FlowRuns = f
	return query, false
}

// RunOrder is how an Airflow order_by is read from Prefect: one of Prefect's flow-run sorts,
// possibly read from the other end (Reverse) because Prefect only sorts that field one way.
type RunOrder struct {
	Sort    string
	Reverse bool
}

// DAGRunOrder maps an Airflow order_by onto Prefect's FlowRunSort. Airflow's id is a
// surrogate key; the gateway's is the flow-run id, unique, so paging in id order sees every
// run exactly once. (Prefect 3.8 makes flow-run ids with uuid4: id order is stable but is
// not creation order; execution_date is the time order.) Ascending id (Airflow's default)
// and ascending end_date exist in Prefect only descending: they are read reversed. dag_id is
// constant within one DAG (singleDAG), where it falls back to id order. Fields Prefect
// cannot sort by get Airflow's own 400.
func DAGRunOrder(o OrderBy, singleDAG bool) (RunOrder, error) {
	pick := func(asc, desc string) RunOrder {
		if o.Desc {
			return RunOrder{Sort: desc}
		}
		return RunOrder{Sort: asc}
	}
	switch o.Field {
	case "id":
		return RunOrder{Sort: "ID_DESC", Reverse: !o.Desc}, nil
	case "dag_id":
		if singleDAG {
			return RunOrder{Sort: "ID_DESC", Reverse: !o.Desc}, nil
		}
	case "execution_date":
		return pick("EXPECTED_START_TIME_ASC", "EXPECTED_START_TIME_DESC"), nil
	case "dag_run_id":
		return pick("NAME_ASC", "NAME_DESC"), nil
	case "start_date":
		return pick("START_TIME_ASC", "START_TIME_DESC"), nil
	case "end_date":
		return RunOrder{Sort: "END_TIME_DESC", Reverse: !o.Desc}, nil
	}
	why := "Prefect cannot sort flow runs by it"
	if o.Field == "dag_id" {
		why = "Prefect cannot sort the runs of several DAGs by DAG"
	}
	return RunOrder{}, badInput("Ordering with '%s' is disallowed or the attribute does not exist on the model (%s)", o.Field, why)
}

// Window is one Prefect read: offset and limit in Prefect's order.
type Window struct {
	Offset, Limit int
}

// PrefectWindows splits Airflow page p into Prefect reads of at most perCall rows, in
// Prefect's order. For a forward order total may be unknown (negative): the windows then
// cover the whole page and the caller stops at the first short read. A reversed order needs
// total: Airflow's rows [offset, offset+limit) are Prefect's rows
// [total-offset-limit, total-offset), read backwards.
func PrefectWindows(p Page, order RunOrder, total, perCall int) []Window {
	if perCall <= 0 {
		perCall = 200
	}
	start, end := p.Offset, p.Offset+p.Limit
	if order.Reverse {
		if total < 0 {
			return nil
		}
		start, end = max(0, total-p.Offset-p.Limit), total-p.Offset
	} else if total >= 0 {
		end = min(end, total)
	}
	var out []Window
	for s := start; s < end; s += perCall {
		out = append(out, Window{Offset: s, Limit: min(perCall, end-s)})
	}
	return out
}

// --- state, clear, note bodies ---

// ParseStatePatch reads UpdateDagRunState: {"state": "success" | "failed" | "queued"}.
func ParseStatePatch(body []byte) (string, error) {
	obj, err := bodyObject(body)
	if err != nil {
		return "", err
	}
	if err := bodyKeys(obj, []string{"state"}, nil); err != nil {
		return "", err
	}
	s, err := bodyString(obj, "state")
	if err != nil {
		return "", err
	}
	if s == nil {
		return "", badInput("state: Missing data for required field.")
	}
	switch *s {
	case DAGRunSuccess, DAGRunFailed, DAGRunQueued:
		return *s, nil
	}
	return "", badInput("state: Must be one of: success, failed, queued (got %q).", *s)
}

// ParseClear reads ClearDagRun: {"dry_run": bool}, dry_run defaulting to true. An empty
// body is the default.
func ParseClear(body []byte) (dryRun bool, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return true, nil
	}
	obj, err := bodyObject(body)
	if err != nil {
		return false, err
	}
	if err := bodyKeys(obj, []string{"dry_run"}, nil); err != nil {
		return false, err
	}
	raw, ok := obj["dry_run"]
	if !ok || bodyNull(raw) {
		return true, nil
	}
	if err := json.Unmarshal(raw, &dryRun); err != nil {
		return false, badInput("dry_run: Not a valid boolean.")
	}
	return dryRun, nil
}

// ParseNote reads SetDagRunNote: {"note": string | null}, at most 1000 characters. null
// clears the note.
func ParseNote(body []byte) (*string, error) {
	obj, err := bodyObject(body)
	if err != nil {
		return nil, err
	}
	if err := bodyKeys(obj, []string{"note"}, nil); err != nil {
		return nil, err
	}
	if _, ok := obj["note"]; !ok {
		return nil, badInput("note: Missing data for required field.")
	}
	note, err := bodyString(obj, "note")
	if err != nil {
		return nil, err
	}
	if note != nil && len([]rune(*note)) > MaxNoteLength {
		return nil, badInput("note: Longer than maximum length %d.", MaxNoteLength)
	}
	return note, nil
}

// NoteLabels is the label patch that stores note (an empty value clears it: Prefect labels
// cannot be null or removed).
func NoteLabels(note *string) map[string]any {
	v := ""
	if note != nil {
		v = *note
	}
	return map[string]any{LabelNote: v}
}

// TaskInstanceReference is Airflow's TaskInstanceReference.
type TaskInstanceReference struct {
	TaskID        string `json:"task_id"`
	DAGID         string `json:"dag_id"`
	ExecutionDate string `json:"execution_date"`
	DAGRunID      string `json:"dag_run_id"`
}

// TaskInstanceReferences lists the task instances of a run (its task runs: task_key →
// task_id, one reference per mapped instance) as clearing it would touch them, sorted by
// task and map index.
func TaskInstanceReferences(taskRuns []wire.TaskRun, run DAGRun) []TaskInstanceReference {
	sorted := append([]wire.TaskRun(nil), taskRuns...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].TaskKey != sorted[j].TaskKey {
			return sorted[i].TaskKey < sorted[j].TaskKey
		}
		return sorted[i].DynamicKey < sorted[j].DynamicKey
	})
	execDate := ""
	if run.LogicalDate != nil {
		execDate = *run.LogicalDate
	}
	out := make([]TaskInstanceReference, 0, len(sorted))
	for _, tr := range sorted {
		out = append(out, TaskInstanceReference{TaskID: tr.TaskKey, DAGID: run.DAGID, ExecutionDate: execDate, DAGRunID: run.DAGRunID})
	}
	return out
}

// --- JSON helpers ---

func bodyObject(body []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badInput("The request body is required: a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, badInput("The request body must be a JSON object")
	}
	return obj, nil
}

// bodyKeys refuses fields outside writable, naming read-only ones as such.
func bodyKeys(obj map[string]json.RawMessage, writable, readOnly []string) error {
	var unknown, ro []string
	for k := range obj {
		switch {
		case slices.Contains(writable, k):
		case slices.Contains(readOnly, k):
			ro = append(ro, k)
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 && len(ro) == 0 {
		return nil
	}
	sort.Strings(unknown)
	sort.Strings(ro)
	var parts []string
	if len(ro) > 0 {
		parts = append(parts, "read-only field(s) cannot be set: "+quotedList(ro))
	}
	if len(unknown) > 0 {
		parts = append(parts, "unknown field(s): "+quotedList(unknown))
	}
	return badInput("Invalid request body: %s", strings.Join(parts, "; "))
}

func quotedList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + s + "'"
	}
	return strings.Join(q, ", ")
}

func bodyNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func bodyString(obj map[string]json.RawMessage, key string) (*string, error) {
	raw, ok := obj[key]
	if !ok || bodyNull(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, badInput("%s: Not a valid string.", key)
	}
	return &s, nil
}

func bodyStrings(obj map[string]json.RawMessage, key string) ([]string, error) {
	raw, ok := obj[key]
	if !ok || bodyNull(raw) {
		return nil, nil
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil, badInput("%s: Not a valid list of strings.", key)
	}
	return ss, nil
}

func bodyInt(obj map[string]json.RawMessage, key string) (*int, error) {
	raw, ok := obj[key]
	if !ok || bodyNull(raw) {
		return nil, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, badInput("%s: Not a valid integer.", key)
	}
	return &n, nil
}

func bodyTime(obj map[string]json.RawMessage, key string) (*time.Time, error) {
	s, err := bodyString(obj, key)
	if err != nil || s == nil {
		return nil, err
	}
	t, err := ParseTime(*s)
	if err != nil {
		return nil, badInput("%s: %v", key, err)
	}
	return &t, nil
}
