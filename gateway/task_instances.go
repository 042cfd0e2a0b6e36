package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/translate"
)

// Task instances are Prefect task runs (DESIGN §3–§4). Prefect calls on a warm DAG cache:
//
//	GET  .../taskInstances (one run)            2, at once (the run, its task runs); +2 for a run with no task run yet (the DAG's tasks)
//	GET  .../taskInstances/{task_id}[/{i}]      2, at once
//	GET  .../{task_id}/listMapped               2, at once
//	GET  .../{task_id}[/{i}]/tries[/{n}]        2, +1 per task run of it that ran more than once (its state history)
//	GET  /dags/{dag_id}/dagRuns/~/taskInstances, /dags/~/..., POST .../taskInstances/list
//	                                            1 per 200 runs in scope, then 1 per 200 of their task runs

// registerTaskInstanceRoutes wires the task-instance routes, their logs and XComs.
func (s *Server) registerTaskInstanceRoutes(g *echo.Group) {
	const ti = "/dags/:dag_id/dagRuns/:dag_run_id/taskInstances"
	// Static segments win over parameters in Echo's router, so "list", "listMapped",
	// "tries", ... are never taken for a task id or a map index.
	s.route(g, http.MethodPost, "/dags/~/dagRuns/~/taskInstances/list", s.listTaskInstancesBatch, RoleViewer)
	s.route(g, http.MethodGet, ti, s.listTaskInstances, RoleViewer)
	s.route(g, http.MethodGet, ti+"/:task_id", s.getTaskInstance, RoleViewer)
	s.route(g, http.MethodGet, ti+"/:task_id/:map_index", s.getMappedTaskInstance, RoleViewer)
	s.route(g, http.MethodGet, ti+"/:task_id/listMapped", s.listMappedTaskInstances, RoleViewer)
	s.route(g, http.MethodGet, ti+"/:task_id/tries", s.listTaskInstanceTries, RoleViewer)
	s.route(g, http.MethodGet, ti+"/:task_id/:map_index/tries", s.listTaskInstanceTries, RoleViewer)
	s.route(g, http.MethodGet, ti+"/:task_id/tries/:task_try_number", s.getTaskInstanceTry, RoleViewer)
	s.route(g, http.MethodGet, ti+"/:task_id/:map_index/tries/:task_try_number", s.getTaskInstanceTry, RoleViewer)
	s.registerLogRoutes(g)
}

// tiPath is a task-instance route's path: DAG, run, task and map index (-1 when the route
// names none).
type tiPath struct {
	DAGID, RunID, TaskID string
	MapIndex             int
	Mapped               bool // the route names a map index
}

func tiPathOf(c echo.Context) (tiPath, error) {
	p := tiPath{DAGID: decodedPathParam(c, "dag_id"), RunID: decodedPathParam(c, "dag_run_id"),
		TaskID: decodedPathParam(c, "task_id"), MapIndex: -1}
	if raw := c.Param("map_index"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return p, BadRequest("Wrong type, expected 'integer' for path parameter 'map_index'")
		}
		p.MapIndex, p.Mapped = n, true
	}
	return p, nil
}

// taskInstanceNotFound is get_task_instance's 404: the same whatever is missing.
func taskInstanceNotFound() *Problem { return NotFound("Task instance not found", "") }

// readTI finds one task instance, with Airflow's get_task_instance rules: an unmapped route
// on a mapped task is a 404 that asks for the map index. notFound is the route's own 404.
func (s *Server) readTI(ctx context.Context, p *Principal, path tiPath, notFound func() *Problem) (runTIs, translate.TIEntry, error) {
	dag, err := s.resolveTIDAG(ctx, p, path.DAGID, notFound)
	if err != nil {
		return runTIs{}, translate.TIEntry{}, err
	}
	r, err := s.readRunTIs(ctx, dag, path.RunID, true)
	if err != nil {
		return r, translate.TIEntry{}, asNotFound(err, notFound)
	}
	if e, ok := r.find(path.TaskID, path.MapIndex); ok {
		return r, e, nil
	}
	if _, mapped := r.hasTask(path.TaskID); mapped && !path.Mapped {
		return r, translate.TIEntry{}, NotFound("Task instance not found", "Task instance is mapped, add the map_index value to the URL")
	}
	return r, translate.TIEntry{}, notFound()
}

// asNotFound replaces a 404 (of a DAG, a run) by the route's own.
func asNotFound(err error, notFound func() *Problem) error {
	var p *Problem
	if errors.As(err, &p) && p.Status == http.StatusNotFound {
		return notFound()
	}
	return err
}

// getTaskInstance is GET .../taskInstances/{task_id}.
func (s *Server) getTaskInstance(c echo.Context) error {
	path, err := tiPathOf(c)
	if err != nil {
		return err
	}
	r, e, err := s.readTI(c.Request().Context(), principalOf(c), path, taskInstanceNotFound)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r.tiOf(e))
}

// getMappedTaskInstance is GET .../taskInstances/{task_id}/{map_index}.
func (s *Server) getMappedTaskInstance(c echo.Context) error { return s.getTaskInstance(c) }

// listTaskInstances is GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances; either id may
// be "~". As in Airflow, an unknown DAG or run lists nothing (200).
func (s *Server) listTaskInstances(c echo.Context) error {
	q, err := translate.ParseTIListQuery(c.QueryParams(), s.opts.MaxPageLimit, false)
	if err != nil {
		return badInputProblem(err)
	}
	ctx := c.Request().Context()
	dagID, runID := decodedPathParam(c, "dag_id"), decodedPathParam(c, "dag_run_id")
	var runs []runTIs
	switch {
	case dagID != allDAGs && runID != allDAGs:
		dag, err := s.resolveRunDAG(c, dagID)
		if isNotFound(err) {
			return writeTIPage(c, nil, q.Page)
		} else if err != nil {
			return err
		}
		r, err := s.readRunTIs(ctx, dag, runID, true)
		if isNotFound(err) {
			return writeTIPage(c, nil, q.Page)
		} else if err != nil {
			return err
		}
		runs = []runTIs{r}
	default:
		sc, err := s.tiScanOf(c, dagID, nil)
		if err != nil {
			return err
		}
		if runID != allDAGs {
			q.DAGRunIDs = []string{runID}
		}
		if runs, err = s.scanTIs(ctx, sc, q); err != nil {
			return err
		}
	}
	return writeTIPage(c, listedTIs(runs, q), q.Page)
}

// listTaskInstancesBatch is POST /dags/~/dagRuns/~/taskInstances/list (ListTaskInstanceForm):
// dag_ids are intersected with the DAGs the caller may see (none: all of them).
func (s *Server) listTaskInstancesBatch(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return BadRequest("The request body could not be read: %v", err)
	}
	q, err := translate.ParseTIListForm(body)
	if err != nil {
		return badInputProblem(err)
	}
	sc, err := s.tiScanOf(c, allDAGs, q.DAGIDs)
	if err != nil {
		return err
	}
	runs, err := s.scanTIs(c.Request().Context(), sc, q)
	if err != nil {
		return err
	}
	return writeTIPage(c, listedTIs(runs, q), q.Page)
}

// tiScanOf is the scope of a listing across runs: one DAG, or every DAG the caller may see
// (of dagIDs, when given). An unknown or hidden DAG has no runs.
func (s *Server) tiScanOf(c echo.Context, dagID string, dagIDs []string) (tiScan, error) {
	if dagID != allDAGs {
		dag, err := s.resolveRunDAG(c, dagID)
		if isNotFound(err) {
			return tiScan{deploymentIDs: []string{}}, nil
		} else if err != nil {
			return tiScan{}, err
		}
		return tiScan{deploymentIDs: []string{dag.Deployment.ID}, dags: map[string]string{dag.Deployment.ID: dag.DAGID}}, nil
	}
	sc, err := s.visibleRunScope(c, dagIDs)
	if err != nil {
		return tiScan{}, err
	}
	return tiScan{deploymentIDs: sc.deploymentIDs, dags: sc.dags}, nil
}

func isNotFound(err error) bool {
	var p *Problem
	return errors.As(err, &p) && p.Status == http.StatusNotFound
}

func writeTIPage(c echo.Context, items []translate.ListedTI, page translate.Page) error {
	out := translate.TaskInstanceCollection{TaskInstances: []translate.TaskInstance{}, TotalEntries: len(items)}
	for _, it := range translate.PageItems(items, page) {
		out.TaskInstances = append(out.TaskInstances, it.TI)
	}
	return c.JSON(http.StatusOK, out)
}

// listMappedTaskInstances is GET .../taskInstances/{task_id}/listMapped: the mapped
// instances of one task of one run, with Airflow's 404s when there are none ("DAG x not
// found", "Task id t not found", "Task id t is not mapped").
func (s *Server) listMappedTaskInstances(c echo.Context) error {
	q, err := translate.ParseTIListQuery(c.QueryParams(), s.opts.MaxPageLimit, true)
	if err != nil {
		return badInputProblem(err)
	}
	path, _ := tiPathOf(c)
	ctx := c.Request().Context()
	dagMissing := func() *Problem { return NotFound(fmt.Sprintf("DAG %s not found", path.DAGID), "") }
	dag, err := s.resolveTIDAG(ctx, principalOf(c), path.DAGID, dagMissing)
	if err != nil {
		return err
	}
	r, err := s.readRunTIs(ctx, dag, path.RunID, false)
	if err != nil && !isNotFound(err) {
		return err
	}
	var items []translate.ListedTI
	for _, it := range listedTIs([]runTIs{r}, q) {
		if it.TI.TaskID == path.TaskID && it.TI.MapIndex >= 0 {
			items = append(items, it)
		}
	}
	if _, mapped := r.hasTask(path.TaskID); !mapped {
		// Nothing mapped in this run: Airflow asks the DAG whether the task exists and is mapped.
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
			return NotFound(fmt.Sprintf("Task id %s not found", path.TaskID), "")
		case !mapped:
			return NotFound(fmt.Sprintf("Task id %s is not mapped", path.TaskID), "")
		}
	}
	translate.SortMapped(items, q.OrderBy)
	return writeTIPage(c, items, q.Page)
}

// --- tries ---

// tryInstances are the task instance's tries, oldest first: one call for the run and its task
// runs, and one state history per task run of it that ran more than once.
func (s *Server) tryInstances(ctx context.Context, r runTIs, e translate.TIEntry) ([]translate.TaskInstance, error) {
	tries := e.Tries()
	windows := make([][]translate.TryWindow, len(tries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, t := range tries {
		if t.Run.RunCount < 2 {
			windows[i] = []translate.TryWindow{{Start: t.Run.StartTime, End: t.Run.EndTime}}
			continue
		}
		g.Go(func() error {
			history, err := s.prefect.ReadTaskRunStates(gctx, t.Run.ID)
			if err != nil {
				return FromUpstream(fmt.Errorf("state history of task run %s: %w", t.Run.ID, err))
			}
			windows[i] = translate.TryWindows(history, t.Run.RunCount)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []translate.TaskInstance
	for i, t := range tries {
		for k := 0; k < t.Run.RunCount; k++ {
			out = append(out, translate.TryInstance(e, r.Ctx, t.Run, t.First, t.First+k, windows[i][k]))
		}
	}
	return out, nil
}

// listTaskInstanceTries is GET .../taskInstances/{task_id}[/{map_index}]/tries. As in
// Airflow, an unknown instance has no tries (200, empty), and order_by, limit and offset
// are not applied.
func (s *Server) listTaskInstanceTries(c echo.Context) error {
	path, err := tiPathOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	empty := translate.TaskInstanceCollection{TaskInstances: []translate.TaskInstance{}}
	r, e, err := s.readTI(ctx, principalOf(c), tiPath{DAGID: path.DAGID, RunID: path.RunID, TaskID: path.TaskID,
		MapIndex: path.MapIndex, Mapped: true}, taskInstanceNotFound)
	if isNotFound(err) {
		return c.JSON(http.StatusOK, empty)
	} else if err != nil {
		return err
	}
	tis, err := s.tryInstances(ctx, r, e)
	if err != nil {
		return err
	}
	if tis == nil {
		tis = []translate.TaskInstance{}
	}
	return c.JSON(http.StatusOK, translate.TaskInstanceCollection{TaskInstances: tis, TotalEntries: len(tis)})
}

// getTaskInstanceTry is GET .../taskInstances/{task_id}[/{map_index}]/tries/{task_try_number}.
func (s *Server) getTaskInstanceTry(c echo.Context) error {
	path, err := tiPathOf(c)
	if err != nil {
		return err
	}
	try, err := strconv.Atoi(c.Param("task_try_number"))
	if err != nil {
		return BadRequest("Wrong type, expected 'integer' for path parameter 'task_try_number'")
	}
	notFound := func() *Problem {
		return NotFound("Task instance not found",
			"Task Instance not found for dag_id=%s, run_id=%s, task_id=%s, map_index=%d, try_number=%d.",
			path.DAGID, path.RunID, path.TaskID, path.MapIndex, try)
	}
	ctx := c.Request().Context()
	path.Mapped = true // this route finds the instance at the map index given (-1 without one)
	r, e, err := s.readTI(ctx, principalOf(c), path, notFound)
	if err != nil {
		return err
	}
	if _, _, ok := translate.TryOf(e, try); !ok {
		return notFound()
	}
	tis, err := s.tryInstances(ctx, r, e)
	if err != nil {
		return err
	}
	for _, ti := range tis {
		if ti.TryNumber == try {
			return c.JSON(http.StatusOK, ti)
		}
	}
	return notFound()
}
