package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// DAGs (issue 4): each Prefect deployment is one DAG (DESIGN §3).
//
// Prefect calls per request, on a warm cache (flow names cached forever, dag_id → deployment
// for the resolver's TTL):
//
//	GET   /dags                  1 (deployments/filter; 1 more per further 199 deployments)
//	GET   /dags/{dag_id}         1 (the deployment, read fresh by id)
//	GET   /dags/{dag_id}/details 1
//	PATCH /dags/{dag_id}         2 (pause or resume, and the fresh read, concurrently)
//	PATCH /dags                  1 + one pause or resume per DAG of the page (8 at a time)
//	GET   /dags/{dag_id}/tasks   2 (latest run with task runs, its task runs)
//	GET   /dags/{dag_id}/tasks/{task_id}   2 (the same, one task picked)
//
// Listing order. Airflow orders by dag_id, and a dag_id is an alias or "<flow>.<deployment>",
// an order Prefect cannot sort by (it sorts deployments by their own name) nor filter by
// (dag_id_pattern must match aliases too). So a listing reads every deployment that passes
// the filters Prefect can apply exactly (paused, tags), 200 per call, and sorts, filters
// and pages in the gateway. That buys an exact total_entries and a stable order, so a client
// paging by offset sees each DAG once, at the price of reading all matching deployments for
// every page: one call up to 199 deployments, one more per 199 beyond (pages overlap by a
// row, see prefect.Client.FilterAllDeployments).

// registerDAGRoutes wires /dags.
func (s *Server) registerDAGRoutes(g *echo.Group) {
	d := newDAGAPI(s)
	s.route(g, http.MethodGet, "/dags", d.list, RoleViewer)
	s.route(g, http.MethodPatch, "/dags", d.patchMany, RoleUser)
	s.route(g, http.MethodGet, "/dags/:dag_id", d.get, RoleViewer)
	s.route(g, http.MethodPatch, "/dags/:dag_id", d.patch, RoleUser)
	s.route(g, http.MethodGet, "/dags/:dag_id/details", d.details, RoleViewer)
	s.route(g, http.MethodGet, "/dags/:dag_id/tasks", d.tasks, RoleViewer)
	s.route(g, http.MethodGet, "/dags/:dag_id/tasks/:task_id", d.task, RoleViewer)
}

// dagAPI holds the DAG handlers and what they share.
type dagAPI struct {
	s   *Server
	now func() time.Time
	// zones caches time.LoadLocation by name (it reads the zone database from disk).
	zones sync.Map
}

func newDAGAPI(s *Server) *dagAPI { return &dagAPI{s: s, now: time.Now} }

// bulkPauseConcurrency bounds the pause/resume calls of one PATCH /dags in flight.
const bulkPauseConcurrency = 8

// maxTaskRunPages bounds the task runs read for /tasks (200 each): a run with more than
// 2000 task runs is a huge fan-out whose distinct tasks show up well before that.
const maxTaskRunPages = 10

type dagCollection struct {
	DAGs         []any `json:"dags"`
	TotalEntries int   `json:"total_entries"`
}

type taskCollection struct {
	Tasks        []translate.Task `json:"tasks"`
	TotalEntries int              `json:"total_entries"`
}

// --- handlers ---

func (d *dagAPI) list(c echo.Context) error {
	q, err := translate.ParseDAGListQuery(c.QueryParams(), d.s.opts.MaxPageLimit)
	if err != nil {
		return dagQueryProblem(err, "DAGCollectionSchema init error")
	}
	ctx := c.Request().Context()
	all, err := d.matching(ctx, principalOf(c), q.DAGFilter, q.OrderBy.Desc)
	if err != nil {
		return err
	}
	lo, hi := translate.PageBounds(len(all), q.Page)
	out := dagCollection{DAGs: make([]any, 0, hi-lo), TotalEntries: len(all)}
	env := d.env()
	for _, res := range all[lo:hi] {
		v, err := translate.SelectFields(translate.ToDAG(d.source(res), env), q.Fields)
		if err != nil {
			return err
		}
		out.DAGs = append(out.DAGs, v)
	}
	return c.JSON(http.StatusOK, out)
}

func (d *dagAPI) get(c echo.Context) error {
	fields, err := translate.ParseFields(c.QueryParams()["fields"], translate.DAGFields)
	if err != nil {
		return dagQueryProblem(err, "DAGSchema init error")
	}
	res, err := d.readFresh(c.Request().Context(), principalOf(c), decodedPathParam(c, "dag_id"))
	if err != nil {
		return err
	}
	v, err := translate.SelectFields(translate.ToDAG(d.source(res), d.env()), fields)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (d *dagAPI) details(c echo.Context) error {
	fields, err := translate.ParseFields(c.QueryParams()["fields"], translate.DAGDetailFields)
	if err != nil {
		return dagQueryProblem(err, "DAGDetailSchema init error")
	}
	res, err := d.readFresh(c.Request().Context(), principalOf(c), decodedPathParam(c, "dag_id"))
	if err != nil {
		return err
	}
	v, err := translate.SelectFields(translate.ToDAGDetail(d.source(res), d.env()), fields)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (d *dagAPI) patch(c echo.Context) error {
	dagID := decodedPathParam(c, "dag_id")
	paused, err := d.patchBody(c, translate.ParseUpdateMask(c.QueryParams()["update_mask"]))
	if err != nil {
		return err
	}
	res, err := d.setDAGPaused(c.Request().Context(), principalOf(c), dagID, paused)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, translate.ToDAG(d.source(res), d.env()))
}

// setDAGPaused pauses or resumes one DAG and returns it as it now is (both generations).
func (d *dagAPI) setDAGPaused(ctx context.Context, p *Principal, dagID string, paused bool) (prefect.ResolvedDAG, error) {
	if !p.CanAccessDAG(dagID) {
		return prefect.ResolvedDAG{}, dagNotFoundProblem(dagID)
	}
	res, wasCached, err := d.lookup(ctx, dagID)
	if err != nil {
		return res, err
	}
	dep, err := d.setPausedAndRead(ctx, res.Deployment.ID, paused, wasCached)
	if prefect.IsNotFound(err) && wasCached {
		// The cached deployment is gone or was replaced: resolve the id afresh, once.
		d.s.dags.Invalidate(ctx, dagID)
		if res, err = d.resolve(ctx, dagID); err != nil {
			return res, err
		}
		dep, err = d.setPausedAndRead(ctx, res.Deployment.ID, paused, false)
	}
	if prefect.IsNotFound(err) {
		d.s.dags.Invalidate(ctx, dagID)
		return res, dagNotFoundProblem(dagID)
	}
	if err != nil {
		return res, FromUpstream(fmt.Errorf("set paused=%v on DAG %q: %w", paused, dagID, err))
	}
	if dep != nil {
		res.Deployment = *dep
	}
	res.Deployment.Paused = paused
	d.s.dags.Remember(ctx, res)
	return res, nil
}

func (d *dagAPI) patchMany(c echo.Context) error {
	q, err := translate.ParseDAGBulkQuery(c.QueryParams(), d.s.opts.MaxPageLimit)
	if err != nil {
		return BadRequest("%s", err)
	}
	paused, err := d.patchBody(c, q.UpdateMask)
	if err != nil {
		return err
	}
	changed, total, err := d.pauseMatching(c.Request().Context(), principalOf(c), q.DAGFilter, q.Page, paused)
	if err != nil {
		return err
	}
	out := dagCollection{DAGs: make([]any, 0, len(changed)), TotalEntries: total}
	env := d.env()
	for _, res := range changed {
		out.DAGs = append(out.DAGs, translate.ToDAG(d.source(res), env))
	}
	return c.JSON(http.StatusOK, out)
}

// pauseMatching pauses or resumes one page of the DAGs that pass f (both generations) and
// returns those it changed and how many DAGs match in all.
func (d *dagAPI) pauseMatching(ctx context.Context, p *Principal, f translate.DAGFilter, pg translate.Page, paused bool) ([]prefect.ResolvedDAG, int, error) {
	all, err := d.matching(ctx, p, f, false)
	if err != nil {
		return nil, 0, err
	}
	lo, hi := translate.PageBounds(len(all), pg)
	page := all[lo:hi]

	// Every pause runs to its end even when another fails, so that the answer can say
	// exactly which DAGs changed.
	errs := make([]error, len(page))
	var g errgroup.Group
	g.SetLimit(bulkPauseConcurrency)
	for i, res := range page {
		g.Go(func() error {
			errs[i] = d.setPaused(ctx, res.Deployment.ID, paused)
			return nil
		})
	}
	_ = g.Wait()

	total := len(all)
	var out []prefect.ResolvedDAG
	var changed, failed []string
	var firstErr error
	for i, res := range page {
		switch err := errs[i]; {
		case prefect.IsNotFound(err):
			// Deleted since it was listed: it no longer matches anything.
			d.s.dags.Invalidate(ctx, res.DAGID)
			total--
		case err != nil:
			failed = append(failed, fmt.Sprintf("%s (%v)", res.DAGID, err))
			if firstErr == nil {
				firstErr = fmt.Errorf("set paused=%v on DAG %q: %w", paused, res.DAGID, err)
			}
		default:
			res.Deployment.Paused = paused
			d.s.dags.Remember(ctx, res)
			changed = append(changed, res.DAGID)
			out = append(out, res)
		}
	}
	if firstErr != nil {
		p := FromUpstream(firstErr)
		p.Detail = fmt.Sprintf("%s Changed: %s. Not changed: %s.", p.Detail, listOrNone(changed), strings.Join(failed, "; "))
		return nil, 0, p.ForV2(p.Detail)
	}
	return out, total, nil
}

func (d *dagAPI) tasks(c echo.Context) error {
	order, err := translate.ParseTaskOrderBy(c.QueryParam("order_by"))
	if err != nil {
		return BadRequest("%s", err)
	}
	tasks, err := d.dagTasks(c, decodedPathParam(c, "dag_id"))
	if err != nil {
		return err
	}
	translate.SortTasks(tasks, order)
	return c.JSON(http.StatusOK, taskCollection{Tasks: tasks, TotalEntries: len(tasks)})
}

// task is GET /dags/{dag_id}/tasks/{task_id}: one of the tasks /tasks lists.
func (d *dagAPI) task(c echo.Context) error {
	dagID := decodedPathParam(c, "dag_id")
	taskID := decodedPathParam(c, "task_id")
	tasks, err := d.dagTasks(c, dagID)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.TaskID == taskID {
			return c.JSON(http.StatusOK, t)
		}
	}
	return NotFound("Task not found", "The task with task_id: %s was not found in the DAG with dag_id: %s", taskID, dagID)
}

// dagTasks are the tasks of a DAG as far as Prefect knows them: those of its latest run that
// recorded task runs. A DAG that exists but has no such run has none.
func (d *dagAPI) dagTasks(c echo.Context, dagID string) ([]translate.Task, error) {
	ctx := c.Request().Context()
	if !principalOf(c).CanAccessDAG(dagID) {
		return nil, dagNotFoundProblem(dagID)
	}
	res, err := d.resolve(ctx, dagID)
	if err != nil {
		return nil, err
	}
	return d.tasksOf(ctx, res)
}

// tasksOf are the tasks of a resolved DAG: those of its latest run that recorded task runs.
func (d *dagAPI) tasksOf(ctx context.Context, res prefect.ResolvedDAG) ([]translate.Task, error) {
	dagID := res.DAGID
	// The latest run that recorded task runs: a run that has just been triggered has none
	// yet and would hide the DAG's tasks. "Latest" is by start time (the expected start
	// until it starts): flow runs made through create_flow_run get random (v4) ids, so
	// ID_DESC is no order of creation.
	one := 1
	runs, err := d.s.prefect.FilterFlowRuns(ctx, wire.Query{
		FlowRuns: &wire.FlowRunFilter{DeploymentID: &wire.NullableAnyOf{Any: []string{res.Deployment.ID}}},
		TaskRuns: &wire.TaskRunFilter{},
		Sort:     "START_TIME_DESC",
		Limit:    &one,
	})
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("latest run of DAG %q: %w", dagID, err))
	}
	if len(runs) == 0 {
		return []translate.Task{}, nil
	}
	run := runs[0]
	taskRuns, err := d.taskRunsOf(ctx, run.ID)
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("task runs of run %s of DAG %q: %w", run.ID, dagID, err))
	}
	owners := translate.Owners(d.s.opts.DAGOwners[dagID], res.Deployment.Tags)
	return translate.TasksFromTaskRuns(taskRuns, translate.DefaultTaskDefaults(owners, run.WorkPoolName, run.WorkQueueName)), nil
}

// --- Prefect side ---

// matching lists the DAGs the principal may see that pass f, sorted by dag_id.
func (d *dagAPI) matching(ctx context.Context, p *Principal, f translate.DAGFilter, desc bool) ([]prefect.ResolvedDAG, error) {
	filter, none := f.PrefectDeploymentFilter()
	if none {
		return nil, nil
	}
	deps, err := d.s.prefect.FilterAllDeployments(ctx, filter)
	if err != nil {
		return nil, FromUpstream(err)
	}
	flowIDs := make([]string, 0, len(deps))
	for _, dep := range deps {
		flowIDs = append(flowIDs, dep.FlowID)
	}
	names, err := d.s.dags.FlowNames(ctx, flowIDs)
	if err != nil {
		return nil, FromUpstream(err)
	}
	all := make([]prefect.ResolvedDAG, 0, len(deps))
	claims := map[string]int{}
	for _, dep := range deps {
		flow, ok := names[dep.FlowID]
		if !ok {
			continue // its flow is being deleted, and the deployment with it
		}
		res := prefect.ResolvedDAG{DAGID: d.s.dags.DAGID(dep, flow), FlowName: flow, Deployment: dep}
		claims[res.DAGID]++
		if !p.CanAccessDAG(res.DAGID) || !f.Matches(res.DAGID, dep.Paused, dep.Tags) {
			continue
		}
		all = append(all, res)
	}
	// Warm the resolver, so that the next request for one of these DAGs resolves for free.
	// Only from an unfiltered read: a dag_id two deployments claim must stay ambiguous, and
	// a filtered read may not show both.
	if filter == nil {
		for _, res := range all {
			if claims[res.DAGID] == 1 {
				d.s.dags.Remember(ctx, res)
			}
		}
	}
	translate.SortDAGOrder(all, func(r prefect.ResolvedDAG) translate.DAGOrder {
		return translate.DAGOrder{DAGID: r.DAGID, TieID: r.Deployment.ID}
	}, desc)
	return all, nil
}

// lookup finds dagID, from the cache when it can; wasCached tells which.
func (d *dagAPI) lookup(ctx context.Context, dagID string) (res prefect.ResolvedDAG, wasCached bool, err error) {
	if res, ok := d.s.dags.Cached(ctx, dagID); ok {
		return res, true, nil
	}
	res, err = d.resolve(ctx, dagID)
	return res, false, err
}

// readFresh returns dagID with its deployment as Prefect has it now: a cached resolution is
// re-read by id (one call), a cold one is read by the resolution itself.
func (d *dagAPI) readFresh(ctx context.Context, p *Principal, dagID string) (prefect.ResolvedDAG, error) {
	if !p.CanAccessDAG(dagID) {
		return prefect.ResolvedDAG{}, dagNotFoundProblem(dagID)
	}
	if res, ok := d.s.dags.Cached(ctx, dagID); ok {
		dep, err := d.s.prefect.ReadDeployment(ctx, res.Deployment.ID)
		switch {
		case err == nil && d.s.dags.DAGID(dep, res.FlowName) == dagID:
			res.Deployment = dep
			d.s.dags.Remember(ctx, res)
			return res, nil
		case err == nil || prefect.IsNotFound(err):
			// Deleted, or now declares another dag_id: the cached answer is stale.
			d.s.dags.Invalidate(ctx, dagID)
		default:
			return prefect.ResolvedDAG{}, FromUpstream(fmt.Errorf("read deployment of DAG %q: %w", dagID, err))
		}
	}
	return d.resolve(ctx, dagID)
}

// resolve maps dagID to its deployment, with the resolver's errors as problems.
func (d *dagAPI) resolve(ctx context.Context, dagID string) (prefect.ResolvedDAG, error) {
	res, err := d.s.dags.Resolve(ctx, dagID)
	var ambiguous *prefect.AmbiguousDAGError
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, prefect.ErrDAGNotFound):
		return res, dagNotFoundProblem(dagID)
	case errors.As(err, &ambiguous):
		return res, BadRequest("%s", ambiguous.Error())
	}
	return res, FromUpstream(fmt.Errorf("resolve DAG %q: %w", dagID, err))
}

func (d *dagAPI) setPaused(ctx context.Context, deploymentID string, paused bool) error {
	if paused {
		return d.s.prefect.PauseDeployment(ctx, deploymentID)
	}
	return d.s.prefect.ResumeDeployment(ctx, deploymentID)
}

// setPausedAndRead pauses or resumes a deployment and, when read is set, reads it afresh
// at the same time (its paused flag is then overwritten with the value just set). The read
// never cancels the write; a read that fails after the write succeeded leaves dep nil, and
// the caller answers from what it had.
func (d *dagAPI) setPausedAndRead(ctx context.Context, deploymentID string, paused, read bool) (*wire.Deployment, error) {
	if !read {
		return nil, d.setPaused(ctx, deploymentID, paused)
	}
	var (
		dep     wire.Deployment
		readErr error
		g       errgroup.Group
	)
	g.Go(func() error {
		dep, readErr = d.s.prefect.ReadDeployment(ctx, deploymentID)
		return nil
	})
	writeErr := d.setPaused(ctx, deploymentID, paused)
	_ = g.Wait()
	if writeErr != nil || readErr != nil {
		return nil, writeErr
	}
	return &dep, nil
}

// taskRunsOf reads the task runs of one flow run, up to maxTaskRunPages pages.
func (d *dagAPI) taskRunsOf(ctx context.Context, flowRunID string) ([]wire.TaskRun, error) {
	var all []wire.TaskRun
	for page := 0; page < maxTaskRunPages; page++ {
		limit := prefect.MaxLimit
		runs, err := d.s.prefect.FilterTaskRuns(ctx, wire.Query{
			TaskRuns: &wire.TaskRunFilter{FlowRunID: &wire.NullableAnyOf{Any: []string{flowRunID}}},
			Sort:     "EXPECTED_START_TIME_ASC",
			Limit:    &limit,
			Offset:   page * prefect.MaxLimit,
		})
		if err != nil {
			return nil, err
		}
		all = append(all, runs...)
		if len(runs) < prefect.MaxLimit {
			break
		}
	}
	return all, nil
}

// --- helpers ---

// patchBody reads a PATCH body against its update mask.
func (d *dagAPI) patchBody(c echo.Context, mask []string) (bool, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return false, BadRequest("The request body could not be read: %v", err)
	}
	paused, err := translate.ParseDAGPatch(body, mask)
	if err != nil {
		return false, BadRequest("%s", err)
	}
	return paused, nil
}

func (d *dagAPI) source(res prefect.ResolvedDAG) translate.DAGSource {
	return translate.DAGSource{DAGID: res.DAGID, FlowName: res.FlowName, Deployment: res.Deployment, Owners: d.s.opts.DAGOwners[res.DAGID]}
}

func (d *dagAPI) env() translate.DAGEnv {
	return translate.DAGEnv{Now: d.now(), Zones: d.zone}
}

type zoneResult struct {
	loc *time.Location
	err error
}

func (d *dagAPI) zone(name string) (*time.Location, error) {
	if v, ok := d.zones.Load(name); ok {
		z := v.(zoneResult)
		return z.loc, z.err
	}
	loc, err := time.LoadLocation(name)
	d.zones.Store(name, zoneResult{loc, err})
	return loc, err
}

// dagNotFoundProblem is Airflow's 404 for a DAG, also the answer for a DAG the caller may
// not see, so that its existence does not leak.
func dagNotFoundProblem(dagID string) *Problem {
	return NotFound("DAG not found", "The DAG with dag_id: %s was not found", dagID).
		ForV2(fmt.Sprintf("The Dag with ID: `%s` was not found", dagID))
}

// dagQueryProblem answers a bad query; unknown `fields` get Airflow's schema title.
func dagQueryProblem(err error, fieldsTitle string) *Problem {
	var fe *translate.InvalidFieldsError
	if errors.As(err, &fe) {
		return NewProblem(http.StatusBadRequest, fieldsTitle, err.Error())
	}
	return BadRequest("%s", err)
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	sorted := append([]string{}, ids...)
	sort.Strings(sorted)
	return strings.Join(sorted, ", ")
}
