package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// Event logs (issue 15) ↔ Prefect's flow-run, task-run and deployment events (the mapping is
// in translate/event_logs.go). Filters go to Prefect's event filter: dag_id as the
// deployment (primary or related resource), run_id as the flow run's name, task_id (with
// run_id) as the run's task runs of that key, try_number as the task run's run count, event
// names exactly; order is Prefect's (by time, which is event_log_id's order).
//
// Prefect calls, on a warm cache:
//
//	GET /eventLogs           1 when offset+limit ≤ 50, else 2 (the first page gives the
//	                         total and a page token, which is rewritten to the page asked
//	                         for: see prefect.EventWindow); +1 for the DAGs of deployments
//	                         not cached yet; +1 (every deployment) for a caller limited to
//	                         some DAGs; +2 for task_id (the run, its task runs)
//	GET /eventLogs/{id}      1 (the events of the id's millisecond), +1 as above
//
// Only a caller limited to some DAGs is limited to events of those DAGs' deployments; events
// of runs without a deployment belong to no DAG and are shown to unrestricted callers only.

func (s *Server) registerEventLogRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/eventLogs", s.listEventLogs, RoleViewer)
	s.route(g, http.MethodGet, "/eventLogs/:event_log_id", s.getEventLog, RoleViewer)
}

// maxTaskRunsForTaskID bounds the task runs read to find those of one task key in a run.
const maxTaskRunsForTaskID = 1000

func (s *Server) listEventLogs(c echo.Context) error {
	q, err := translate.ParseEventLogQuery(c.QueryParams(), s.opts.MaxPageLimit, time.Now())
	if err != nil {
		return badInputProblem(err)
	}
	out, err := s.eventLogPage(c.Request().Context(), principalOf(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getEventLog(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("event_log_id"), 10, 64)
	if err != nil {
		return BadRequest("event_log_id %q is not an integer", c.Param("event_log_id"))
	}
	entry, err := s.eventLog(c.Request().Context(), principalOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, entry)
}

// eventLogPage reads one page of event-log entries.
func (s *Server) eventLogPage(ctx context.Context, p *Principal, q translate.EventLogQuery) (translate.EventLogCollection, error) {
	empty := translate.EventLogCollection{EventLogs: []translate.EventLog{}}
	if q.Nothing {
		return empty, nil
	}
	sc, err := s.scopeOf(ctx, p, q.DAGID)
	if err != nil || sc.none() {
		return empty, err
	}
	scope := translate.EventLogScope{DeploymentIDs: sc.ids}
	if q.TaskID != "" {
		if scope.TaskRunIDs, err = s.taskRunIDsOf(ctx, sc.ids, q.RunID, q.TaskID); err != nil || len(scope.TaskRunIDs) == 0 {
			return empty, err
		}
	}
	events, total, err := s.prefect.EventWindow(ctx, q.PrefectFilter(scope), q.Page.Offset, q.Page.Limit)
	if errors.Is(err, prefect.ErrEventWindowTooDeep) {
		return empty, BadRequest("offset %d is deeper than this Prefect server's event pages can be read in one request", q.Page.Offset)
	}
	if err != nil {
		return empty, FromUpstream(fmt.Errorf("read events: %w", err))
	}
	entries, err := s.toEventLogs(ctx, sc, events)
	if err != nil {
		return empty, err
	}
	return translate.EventLogCollection{EventLogs: entries, TotalEntries: total}, nil
}

// eventLog reads the entry of one event_log_id: the events of its millisecond, one of which
// carries the id's low bits.
func (s *Server) eventLog(ctx context.Context, p *Principal, id int64) (translate.EventLog, error) {
	notFound := NewProblem(http.StatusNotFound, "Event Log not found", "")
	at, _, ok := translate.DecodeEventLogID(id)
	if !ok {
		return translate.EventLog{}, notFound
	}
	sc, err := s.scopeOf(ctx, p, "")
	if err != nil || sc.none() {
		return translate.EventLog{}, orProblem(err, notFound)
	}
	q := translate.EventLogQuery{Since: at, Until: at.Add(time.Millisecond - time.Microsecond)}
	events, _, err := s.prefect.EventWindow(ctx, q.PrefectFilter(translate.EventLogScope{DeploymentIDs: sc.ids}), 0, prefect.MaxEventPageSize)
	if err != nil {
		return translate.EventLog{}, FromUpstream(fmt.Errorf("read events at %s: %w", at, err))
	}
	for _, ev := range events {
		if translate.MatchesEventLogID(ev, id) {
			entries, err := s.toEventLogs(ctx, sc, []wire.Event{ev})
			if err != nil {
				return translate.EventLog{}, err
			}
			return entries[0], nil
		}
	}
	return translate.EventLog{}, notFound
}

func orProblem(err error, p *Problem) error {
	if err != nil {
		return err
	}
	return p
}

// toEventLogs turns events into entries, naming their DAGs.
func (s *Server) toEventLogs(ctx context.Context, sc deploymentScope, events []wire.Event) ([]translate.EventLog, error) {
	depIDs := make([]string, 0, len(events))
	for _, ev := range events {
		depIDs = append(depIDs, translate.EventDeploymentID(ev))
	}
	dags, err := s.dagIDsOf(ctx, sc, depIDs)
	if err != nil {
		return nil, err
	}
	out := make([]translate.EventLog, 0, len(events))
	for i, ev := range events {
		dag, ok := dags[depIDs[i]]
		if !ok && depIDs[i] != "" {
			dag = translate.EventCanonicalDAGID(ev) // the deployment is gone
		}
		out = append(out, translate.ToEventLog(ev, dag))
	}
	return out, nil
}

// taskRunIDsOf finds the task runs of task key taskID in the flow runs named runID (of the
// scope's deployments).
func (s *Server) taskRunIDsOf(ctx context.Context, deploymentIDs []string, runID, taskID string) ([]string, error) {
	filter := &wire.FlowRunFilter{Name: &wire.NameMatch{Any: []string{runID}}}
	if deploymentIDs != nil {
		filter.DeploymentID = &wire.NullableAnyOf{Any: deploymentIDs}
	}
	limit := prefect.MaxLimit
	runs, err := s.prefect.FilterFlowRuns(ctx, wire.Query{FlowRuns: filter, Limit: &limit})
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("flow runs named %q: %w", runID, err))
	}
	if len(runs) == 0 {
		return nil, nil
	}
	runIDs := make([]string, len(runs))
	for i, r := range runs {
		runIDs[i] = r.ID
	}
	var ids []string
	for offset := 0; offset < maxTaskRunsForTaskID; offset += prefect.MaxLimit {
		page, err := s.prefect.FilterTaskRuns(ctx, wire.Query{
			TaskRuns: &wire.TaskRunFilter{FlowRunID: &wire.NullableAnyOf{Any: runIDs}},
			Sort:     "EXPECTED_START_TIME_ASC", Limit: &limit, Offset: offset,
		})
		if err != nil {
			return nil, FromUpstream(fmt.Errorf("task runs of %q: %w", runID, err))
		}
		for _, tr := range page {
			if tr.TaskKey == taskID {
				ids = append(ids, tr.ID)
			}
		}
		if len(page) < limit {
			break
		}
	}
	return ids, nil
}
