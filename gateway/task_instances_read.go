package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// Reading task instances from Prefect, for any API generation: the functions here return
// translate values and a *Problem, and never write an answer.
//
// A task instance is built from every task run of its flow run (its map index is its place
// among its siblings), so the gateway always reads a run's task runs whole: at most
// maxRunTaskRuns of them for one run, and at most maxScanTaskRuns across the runs a listing
// covers. The run and its task runs are read concurrently.

const (
	// maxRunTaskRuns bounds the task runs read for one DAG run (25 pages of 200).
	maxRunTaskRuns = 25 * prefect.MaxLimit
	// maxScanRuns and maxScanTaskRuns bound a listing across runs.
	maxScanRuns     = 5 * prefect.MaxLimit
	maxScanTaskRuns = 25 * prefect.MaxLimit
)

// runTIs is one DAG run's task instances as Prefect holds them.
type runTIs struct {
	Run     wire.FlowRunDetail
	Ctx     translate.RunContext
	Entries []translate.TIEntry
	// FromDAG is true when the run has no task run yet and Entries are the DAG's tasks.
	FromDAG bool
}

// find returns the entry of task taskID at mapIndex, if the run has it.
func (r runTIs) find(taskID string, mapIndex int) (translate.TIEntry, bool) {
	for _, e := range r.Entries {
		if e.TaskID == taskID && e.MapIndex == mapIndex {
			return e, true
		}
	}
	return translate.TIEntry{}, false
}

// hasTask reports whether the run has any instance of taskID, and whether it is mapped.
func (r runTIs) hasTask(taskID string) (found, mapped bool) {
	for _, e := range r.Entries {
		if e.TaskID == taskID {
			found = true
			mapped = mapped || e.MapIndex >= 0
		}
	}
	return found, mapped
}

// readRunTIs reads the task instances of run runID of dag: the flow run and all its task
// runs, two calls made at once (more for a run with over 200 task runs). A run without any
// task run gets the DAG's tasks, without a state, when fromDAG is set (two calls more).
// A missing run is dagRunNotFound.
func (s *Server) readRunTIs(ctx context.Context, dag prefect.ResolvedDAG, runID string, fromDAG bool) (runTIs, error) {
	var out runTIs
	var runs []wire.FlowRunDetail
	var taskRuns []wire.TaskRun
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		runs, err = s.prefect.FilterFlowRunDetails(gctx, runLookupQuery(dag, runID))
		if err != nil {
			return FromUpstream(fmt.Errorf("find run %q of DAG %q: %w", runID, dag.DAGID, err))
		}
		return nil
	})
	g.Go(func() error {
		var err error
		taskRuns, err = s.readTaskRuns(gctx, wire.Query{
			FlowRuns:    runLookupFilter(runID),
			Deployments: &wire.DeploymentFilter{ID: &wire.AnyOf{Any: []string{dag.Deployment.ID}}},
		}, maxRunTaskRuns)
		return err
	})
	if err := g.Wait(); err != nil {
		return out, err
	}
	i := pickRun(runs, runID, func(r wire.FlowRunDetail) wire.FlowRun { return r.FlowRun })
	if i < 0 {
		return out, dagRunNotFound(dag.DAGID, runID)
	}
	out.Run = runs[i]
	// Two runs of the DAG may answer to runID (Prefect does not keep names unique): keep the
	// task runs of the one picked, and read them again by its id if others crowded them out.
	mine := taskRuns[:0:0]
	for _, tr := range taskRuns {
		if tr.FlowRunID != nil && *tr.FlowRunID == out.Run.ID {
			mine = append(mine, tr)
		}
	}
	if len(mine) < len(taskRuns) && len(taskRuns) >= prefect.MaxLimit {
		var err error
		if mine, err = s.readTaskRuns(ctx, wire.Query{TaskRuns: &wire.TaskRunFilter{
			FlowRunID: &wire.NullableAnyOf{Any: []string{out.Run.ID}}}}, maxRunTaskRuns); err != nil {
			return out, err
		}
	}
	out.Ctx = translate.RunContextOf(out.Run, dag.DAGID)
	out.Entries = translate.GroupTaskRuns(mine)
	if len(out.Entries) == 0 && fromDAG {
		tasks, err := newDAGAPI(s).tasksOf(ctx, dag)
		if err != nil {
			return out, err
		}
		out.Entries, out.FromDAG = translate.EntriesFromTasks(tasks), true
	}
	return out, nil
}

// readRunEntries reads the task instances of run runID of dag from its task runs alone (one
// call), for the routes that need nothing of the run itself (logs). An empty answer is a run
// without task runs or no run at all. Task runs of two runs that answer to runID (Prefect
// does not keep names unique) send it the long way, through the run.
func (s *Server) readRunEntries(ctx context.Context, dag prefect.ResolvedDAG, runID string) ([]translate.TIEntry, error) {
	trs, err := s.readTaskRuns(ctx, wire.Query{
		FlowRuns:    runLookupFilter(runID),
		Deployments: &wire.DeploymentFilter{ID: &wire.AnyOf{Any: []string{dag.Deployment.ID}}},
	}, maxRunTaskRuns)
	if err != nil {
		return nil, err
	}
	for _, tr := range trs {
		if strOf(tr.FlowRunID) != strOf(trs[0].FlowRunID) {
			r, err := s.readRunTIs(ctx, dag, runID, false)
			return r.Entries, err
		}
	}
	return translate.GroupTaskRuns(trs), nil
}

// readTaskRuns reads every task run q matches, 200 at a time in id order (unique, so pages
// neither skip nor repeat), failing with a 400 past limit.
func (s *Server) readTaskRuns(ctx context.Context, q wire.Query, limit int) ([]wire.TaskRun, error) {
	var all []wire.TaskRun
	q.Sort = "ID_DESC"
	for offset := 0; ; offset += prefect.MaxLimit {
		n := prefect.MaxLimit
		q.Limit, q.Offset = &n, offset
		page, err := s.prefect.FilterTaskRuns(ctx, q)
		if err != nil {
			return nil, FromUpstream(fmt.Errorf("list task runs: %w", err))
		}
		all = append(all, page...)
		if len(page) < n {
			return all, nil
		}
		if len(all) >= limit {
			return nil, BadRequest("This request covers more than %d task runs, more than the gateway reads for one answer: "+
				"narrow it (dag_ids, dag_run_ids, an execution_date range)", limit)
		}
	}
}

// tiScan is a listing across DAG runs: the runs of the deployments in scope (nil: every
// deployment) that pass q's run-level filters.
type tiScan struct {
	deploymentIDs []string
	dags          map[string]string // deployment id → dag_id
}

// scanTIs reads the task instances of every run in scope that can hold a match of q: the
// runs first (at most maxScanRuns), then all their task runs (at most maxScanTaskRuns).
// It answers the runs' task instances in run order (logical date, then run id), each run's
// in task order; q's filters are not applied yet.
func (s *Server) scanTIs(ctx context.Context, sc tiScan, q translate.TIQuery) ([]runTIs, error) {
	if sc.deploymentIDs != nil && len(sc.deploymentIDs) == 0 || q.MatchesNothing() {
		return nil, nil
	}
	runFilter, taskFilter := q.RunFilter()
	query := wire.Query{FlowRuns: runFilter, TaskRuns: taskFilter}
	if sc.deploymentIDs != nil {
		runFilter.DeploymentID = &wire.NullableAnyOf{Any: sc.deploymentIDs}
	} else {
		query.Deployments = &wire.DeploymentFilter{Operator: "and_"} // runs of existing deployments
	}
	var runs []wire.FlowRunDetail
	for offset := 0; ; offset += prefect.MaxLimit {
		n := prefect.MaxLimit
		query.Sort, query.Limit, query.Offset = "EXPECTED_START_TIME_ASC", &n, offset
		page, err := s.prefect.FilterFlowRunDetails(ctx, query)
		if err != nil {
			return nil, FromUpstream(fmt.Errorf("list flow runs: %w", err))
		}
		runs = append(runs, page...)
		if len(page) < n {
			break
		}
		if len(runs) >= maxScanRuns {
			return nil, BadRequest("This request covers more than %d DAG runs, more than the gateway reads for one answer: "+
				"narrow it (dag_ids, dag_run_ids, an execution_date range)", maxScanRuns)
		}
	}
	names, err := s.dagIDsOfDetails(ctx, runs, sc)
	if err != nil {
		return nil, err
	}
	byRun := map[string][]wire.TaskRun{}
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	total := 0
	for chunk := range slices.Chunk(ids, 100) {
		trs, err := s.readTaskRuns(ctx, wire.Query{TaskRuns: &wire.TaskRunFilter{
			FlowRunID: &wire.NullableAnyOf{Any: chunk}}}, maxScanTaskRuns-total)
		if err != nil {
			return nil, err
		}
		total += len(trs)
		for _, tr := range trs {
			if tr.FlowRunID != nil {
				byRun[*tr.FlowRunID] = append(byRun[*tr.FlowRunID], tr)
			}
		}
	}
	out := make([]runTIs, 0, len(runs))
	for _, r := range runs {
		dagID, ok := names[strOf(r.DeploymentID)]
		if !ok {
			continue // its deployment is gone: the run belongs to no DAG
		}
		rc := translate.RunContextOf(r, dagID)
		out = append(out, runTIs{Run: r, Ctx: rc, Entries: translate.GroupTaskRuns(byRun[r.ID])})
	}
	return out, nil
}

// dagIDsOfDetails names the DAG of each run's deployment, as dagIDsOfRuns does for lists.
func (s *Server) dagIDsOfDetails(ctx context.Context, runs []wire.FlowRunDetail, sc tiScan) (map[string]string, error) {
	plain := make([]wire.FlowRun, len(runs))
	for i, r := range runs {
		plain[i] = r.FlowRun
	}
	return s.dagIDsOfRuns(ctx, plain, runScope{deploymentIDs: sc.deploymentIDs, dags: sc.dags})
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// tiOf builds the task instance of an entry of r.
func (r runTIs) tiOf(e translate.TIEntry) translate.TaskInstance {
	return translate.TaskInstanceOf(e, r.Ctx)
}

// listedTIs turns runs into task instances that pass q, with what paging needs kept.
func listedTIs(runs []runTIs, q translate.TIQuery) []translate.ListedTI {
	var out []translate.ListedTI
	for _, r := range runs {
		for _, e := range r.Entries {
			ti := r.tiOf(e)
			if !q.Match(ti, r.Ctx.LogicalDate, updatedOf(e.Run)) {
				continue
			}
			out = append(out, translate.ListedTI{TI: ti, Entry: e})
		}
	}
	return out
}

func updatedOf(r *wire.TaskRun) *time.Time {
	if r == nil {
		return nil
	}
	return r.Updated
}

// resolveTIDAG resolves the DAG of a task-instance route; a DAG the caller may not see is a
// 404 exactly like a missing one, with the 404 the route uses (notFound).
func (s *Server) resolveTIDAG(ctx context.Context, p *Principal, dagID string, notFound func() *Problem) (prefect.ResolvedDAG, error) {
	if dagID == allDAGs || !p.CanAccessDAG(dagID) {
		return prefect.ResolvedDAG{}, notFound()
	}
	dag, err := s.dags.Resolve(ctx, dagID)
	if err != nil {
		if pr := resolveProblem(err, dagID); pr.Status == http.StatusNotFound {
			return dag, notFound()
		} else {
			return dag, pr
		}
	}
	return dag, nil
}
