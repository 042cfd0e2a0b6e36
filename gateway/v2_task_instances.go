package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// Task instances under /api/v2: the task runs of the DAG's flow runs, read with /api/v1's
// neutral functions (readRunTIs, readTI, scanTIs, tryInstances, the same Prefect calls),
// written with Airflow 3's TaskInstanceResponse. Filters Prefect or the gateway can apply:
// state, pool, queue, executor, task_id, start_date / end_date / run_after / logical_date /
// updated_at ranges, duration; the others (dag_version, operator, map_index, ...) are a 400.

func (s *Server) registerV2TaskInstanceRoutes(g *echo.Group) {
	const ti = "/dags/:dag_id/dagRuns/:dag_run_id/taskInstances"
	s.routeV2(g, http.MethodPost, ti+"/list", s.listTIsBatchV2, RoleViewer)
	s.routeV2(g, http.MethodGet, ti, s.listTIsV2, RoleViewer)
	s.routeV2(g, http.MethodGet, ti+"/:task_id", s.getTIV2, RoleViewer)
	s.routeV2(g, http.MethodGet, ti+"/:task_id/listMapped", s.listMappedTIsV2, RoleViewer)
	s.routeV2(g, http.MethodGet, ti+"/:task_id/:map_index", s.getTIV2, RoleViewer)
	s.routeV2(g, http.MethodGet, ti+"/:task_id/tries", s.listTITriesV2, RoleViewer)
	s.routeV2(g, http.MethodGet, ti+"/:task_id/:map_index/tries", s.listTITriesV2, RoleViewer)
	s.routeV2(g, http.MethodGet, ti+"/:task_id/tries/:task_try_number", s.getTITryV2, RoleViewer)
	s.routeV2(g, http.MethodGet, ti+"/:task_id/:map_index/tries/:task_try_number", s.getTITryV2, RoleViewer)
	s.registerV2LogRoutes(g)
}

func v2TINotFound(p tiPath) *Problem {
	return v2NotFound(fmt.Sprintf("The Task Instance with dag_id: `%s`, run_id: `%s`, task_id: `%s` and map_index: `%d` was not found",
		p.DAGID, p.RunID, p.TaskID, p.MapIndex))
}

// unsupportedTIFilters are the v2 task-instance filters the gateway cannot apply.
var unsupportedTIFilters = []string{"dag_version", "operator", "operator_name_pattern", "map_index",
	"task_display_name_pattern", "task_group_id", "try_number", "run_id_pattern", "dag_id_pattern",
	"queued_dttm_gte", "queued_dttm_lte", "queued_dttm_gt", "queued_dttm_lt", "cursor"}

// v2TIQuery reads the filters of a task-instance listing (query or batch body as values).
func v2TIQuery(q url.Values, page translate.Page) (translate.TIQuery, error) {
	out := translate.TIQuery{Page: page, OrderBy: translate.OrderBy{Field: "map_index"}}
	for _, name := range unsupportedTIFilters {
		if q.Get(name) != "" {
			return out, v2BadRequest(fmt.Sprintf("Filtering task instances by %s is not supported by the gateway", name))
		}
	}
	for _, st := range v2List(q, "state") {
		v := st
		if st == "no_status" || st == "none" {
			out.States = append(out.States, nil)
			continue
		}
		out.States = append(out.States, &v)
	}
	out.Pools, out.Queues, out.Executors, out.TaskIDs = v2List(q, "pool"), v2List(q, "queue"), v2List(q, "executor"), v2List(q, "task_id")
	for _, r := range []struct {
		name string
		dst  *translate.TimeBounds
	}{{"run_after", &out.ExecutionDate}, {"logical_date", &out.ExecutionDate}, {"start_date", &out.StartDate},
		{"end_date", &out.EndDate}, {"updated_at", &out.UpdatedAt}} {
		tr, err := v2TimeRange(q, r.name)
		if err != nil {
			return out, err
		}
		if tr.set() {
			*r.dst = intersect(*r.dst, tr.Inclusive())
		}
	}
	for _, b := range []struct {
		name string
		dst  **float64
	}{{"duration_gte", &out.DurationGTE}, {"duration_lte", &out.DurationLTE}} {
		if v := q.Get(b.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return out, ValidationProblem(FieldError{Type: "float_parsing", Loc: []any{"query", b.name},
					Msg: "Input should be a valid number, unable to parse string as a number", Input: v})
			}
			*b.dst = &f
		}
	}
	if q.Get("duration_gt") != "" || q.Get("duration_lt") != "" {
		return out, v2BadRequest("Filtering task instances by duration_gt or duration_lt is not supported by the gateway: use duration_gte and duration_lte")
	}
	return out, nil
}

// v2TIsOf writes listed task instances, resolving the DAG of each run's deployment.
func (s *Server) v2TIsOf(ctx context.Context, items []translate.ListedTI, runs []runTIs) ([]v2TI, error) {
	byRun := map[string]runTIs{}
	var deps []string
	for _, r := range runs {
		byRun[r.Ctx.DAGID+"\x00"+r.Ctx.DAGRunID] = r
		if r.Run.DeploymentID != nil && !contains(deps, *r.Run.DeploymentID) {
			deps = append(deps, *r.Run.DeploymentID)
		}
	}
	dags, err := s.dags.ByDeploymentIDs(ctx, deps)
	if err != nil {
		return nil, FromUpstream(err)
	}
	out := make([]v2TI, 0, len(items))
	for _, it := range items {
		r := byRun[it.TI.DAGID+"\x00"+it.TI.DAGRunID]
		dag := dags[strOf(r.Run.DeploymentID)]
		dag.DAGID = it.TI.DAGID
		out = append(out, toV2TI(it.TI, it.Entry, r, dag))
	}
	return out, nil
}

func (s *Server) writeV2TIPage(c echo.Context, items []translate.ListedTI, runs []runTIs, page translate.Page) error {
	tis, err := s.v2TIsOf(c.Request().Context(), translate.PageItems(items, page), runs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v2TICollection{TaskInstances: tis, TotalEntries: len(items)})
}

// runTaskInstancesV2 are the task instances of one run (the DAG's tasks when it has no task
// run yet), as Airflow 3 writes them.
func (s *Server) runTaskInstancesV2(ctx context.Context, dag prefect.ResolvedDAG, run wire.FlowRun) ([]v2TI, error) {
	r, err := s.readRunTIs(ctx, dag, run.ID, true)
	if err != nil {
		return nil, err
	}
	out := make([]v2TI, 0, len(r.Entries))
	for _, e := range r.Entries {
		out = append(out, toV2TI(r.tiOf(e), e, r, dag))
	}
	return out, nil
}

// listTIsV2 is GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances ("~" for
// either). Airflow 3 answers a missing DAG or run with a 404.
func (s *Server) listTIsV2(c echo.Context) error {
	q := c.QueryParams()
	query, err := v2TIQuery(q, v2Page(q, s.opts.MaxPageLimit))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	dagID, runID := decodedPathParam(c, "dag_id"), decodedPathParam(c, "dag_run_id")
	var runs []runTIs
	if dagID != allDAGs && runID != allDAGs {
		dag, err := s.resolveRunDAG(c, dagID)
		if err != nil {
			return err
		}
		r, err := s.readRunTIs(ctx, dag, runID, true)
		if err != nil {
			return err
		}
		runs = []runTIs{r}
	} else {
		if dagID != allDAGs {
			if _, err := s.resolveRunDAG(c, dagID); err != nil {
				return err
			}
		}
		sc, err := s.tiScanOf(c, dagID, nil)
		if err != nil {
			return err
		}
		if runID != allDAGs {
			query.DAGRunIDs = []string{runID}
		}
		if runs, err = s.scanTIs(ctx, sc, query); err != nil {
			return err
		}
	}
	return s.writeV2TIPage(c, listedTIs(runs, query), runs, query.Page)
}

// listTIsBatchV2 is POST /dags/~/dagRuns/~/taskInstances/list (TaskInstancesBatchBody).
func (s *Server) listTIsBatchV2(c echo.Context) error {
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return v2BadRequest("The request body could not be read.")
	}
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			return v2BadRequest("The request body is not a JSON object.")
		}
	}
	q := url.Values{}
	lists := map[string]string{"dag_ids": "dag_id", "dag_run_ids": "dag_run_id", "task_ids": "task_id", "state": "state",
		"pool": "pool", "queue": "queue", "executor": "executor"}
	var dagIDs, runIDs []string
	for k, v := range body {
		switch x := v.(type) {
		case string:
			q.Set(k, x)
		case float64:
			q.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
		case []any:
			for _, e := range x {
				str, _ := e.(string)
				switch k {
				case "dag_ids":
					dagIDs = append(dagIDs, str)
				case "dag_run_ids":
					runIDs = append(runIDs, str)
				default:
					if name, ok := lists[k]; ok {
						if e == nil {
							str = "no_status"
						}
						q.Add(name, str)
					} else {
						return unsupportedFilter(k)
					}
				}
			}
		}
	}
	page := translate.Page{Limit: 100}
	if v, ok := body["page_limit"].(float64); ok {
		page.Limit = int(v)
	}
	page.Limit = min(page.Limit, s.opts.MaxPageLimit)
	if v, ok := body["page_offset"].(float64); ok {
		page.Offset = int(v)
	}
	for _, k := range []string{"page_limit", "page_offset", "order_by"} {
		q.Del(k)
	}
	query, err := v2TIQuery(q, page)
	if err != nil {
		return err
	}
	query.DAGRunIDs = runIDs
	sc, err := s.tiScanOf(c, allDAGs, dagIDs)
	if err != nil {
		return err
	}
	runs, err := s.scanTIs(c.Request().Context(), sc, query)
	if err != nil {
		return err
	}
	return s.writeV2TIPage(c, listedTIs(runs, query), runs, query.Page)
}

// getTIV2 is GET .../taskInstances/{task_id}[/{map_index}].
func (s *Server) getTIV2(c echo.Context) error {
	path, err := tiPathOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, e, err := s.readTI(ctx, principalOf(c), path, func() *Problem { return v2TINotFound(path) })
	if err != nil {
		return err
	}
	dag, err := s.resolveRunDAG(c, path.DAGID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toV2TI(r.tiOf(e), e, r, dag))
}

// listMappedTIsV2 is GET .../taskInstances/{task_id}/listMapped.
func (s *Server) listMappedTIsV2(c echo.Context) error {
	q := c.QueryParams()
	query, err := v2TIQuery(q, v2Page(q, s.opts.MaxPageLimit))
	if err != nil {
		return err
	}
	if o := q.Get("order_by"); o != "" {
		ob, err := translate.ParseOrderBy(o, "map_index", translate.MappedOrderFields)
		if err != nil {
			return v2BadRequest(err.Error())
		}
		query.OrderBy = ob
	}
	path, _ := tiPathOf(c)
	ctx := c.Request().Context()
	dag, err := s.resolveRunDAG(c, path.DAGID)
	if err != nil {
		return err
	}
	r, err := s.readRunTIs(ctx, dag, path.RunID, false)
	if err != nil {
		return err
	}
	var items []translate.ListedTI
	for _, it := range listedTIs([]runTIs{r}, query) {
		if it.TI.TaskID == path.TaskID && it.TI.MapIndex >= 0 {
			items = append(items, it)
		}
	}
	if _, mapped := r.hasTask(path.TaskID); !mapped && len(items) == 0 {
		tasks, err := newDAGAPI(s).tasksOf(ctx, dag)
		if err != nil {
			return err
		}
		known := false
		for _, t := range tasks {
			if t.TaskID == path.TaskID {
				known, mapped = true, t.IsMapped
			}
		}
		switch {
		case !known:
			return v2NotFound(fmt.Sprintf("Task id %s not found", path.TaskID))
		case !mapped:
			return v2NotFound(fmt.Sprintf("Task id %s is not mapped", path.TaskID))
		}
	}
	translate.SortMapped(items, query.OrderBy)
	return s.writeV2TIPage(c, items, []runTIs{r}, query.Page)
}

// listTITriesV2 is GET .../{task_id}[/{map_index}]/tries: TaskInstanceHistoryCollection.
func (s *Server) listTITriesV2(c echo.Context) error {
	path, err := tiPathOf(c)
	if err != nil {
		return err
	}
	path.Mapped = true
	ctx := c.Request().Context()
	r, e, err := s.readTI(ctx, principalOf(c), path, func() *Problem { return v2TINotFound(path) })
	if err != nil {
		return err
	}
	dag, err := s.resolveRunDAG(c, path.DAGID)
	if err != nil {
		return err
	}
	tis, err := s.tryInstances(ctx, r, e)
	if err != nil {
		return err
	}
	out := v2TICollection{TaskInstances: make([]v2TI, 0, len(tis)), TotalEntries: len(tis)}
	for _, ti := range tis {
		out.TaskInstances = append(out.TaskInstances, toV2TI(ti, e, r, dag))
	}
	return c.JSON(http.StatusOK, out)
}

// getTITryV2 is GET .../{task_id}[/{map_index}]/tries/{task_try_number}.
func (s *Server) getTITryV2(c echo.Context) error {
	path, err := tiPathOf(c)
	if err != nil {
		return err
	}
	try, _ := strconv.Atoi(c.Param("task_try_number"))
	notFound := func() *Problem {
		return v2NotFound(fmt.Sprintf("The Task Instance with dag_id: `%s`, run_id: `%s`, task_id: `%s`, try_number: `%d` and map_index: `%d` was not found",
			path.DAGID, path.RunID, path.TaskID, try, path.MapIndex))
	}
	path.Mapped = true
	ctx := c.Request().Context()
	r, e, err := s.readTI(ctx, principalOf(c), path, notFound)
	if err != nil {
		return err
	}
	dag, err := s.resolveRunDAG(c, path.DAGID)
	if err != nil {
		return err
	}
	tis, err := s.tryInstances(ctx, r, e)
	if err != nil {
		return err
	}
	for _, ti := range tis {
		if ti.TryNumber == try {
			return c.JSON(http.StatusOK, toV2TI(ti, e, r, dag))
		}
	}
	return notFound()
}
