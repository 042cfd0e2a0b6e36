package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// DAG runs are Prefect flow runs of the DAG's deployment (DESIGN §3–§5). Every route costs
// the fewest Prefect calls on a warm DAG cache: trigger 1, read 1, list 1 or 2 (page and
// count), patch, delete, clear and setNote 2 (the run, then the write).

// registerDAGRunRoutes wires /dags/{dag_id}/dagRuns.
func (s *Server) registerDAGRunRoutes(g *echo.Group) {
	// A static route: Echo matches it before the /dags/:dag_id/dagRuns/:dag_run_id
	// parameters, so "list" is never taken for a run id of DAG "~".
	s.route(g, http.MethodPost, "/dags/~/dagRuns/list", s.listDAGRunsBatch, RoleViewer)
	s.route(g, http.MethodGet, "/dags/:dag_id/dagRuns", s.listDAGRuns, RoleViewer)
	s.route(g, http.MethodPost, "/dags/:dag_id/dagRuns", s.triggerDAGRun, RoleUser)
	s.route(g, http.MethodGet, "/dags/:dag_id/dagRuns/:dag_run_id", s.getDAGRun, RoleViewer)
	s.route(g, http.MethodPatch, "/dags/:dag_id/dagRuns/:dag_run_id", s.patchDAGRun, RoleUser)
	s.route(g, http.MethodDelete, "/dags/:dag_id/dagRuns/:dag_run_id", s.deleteDAGRun, RoleUser)
	s.route(g, http.MethodPost, "/dags/:dag_id/dagRuns/:dag_run_id/clear", s.clearDAGRun, RoleUser)
	s.route(g, http.MethodPatch, "/dags/:dag_id/dagRuns/:dag_run_id/setNote", s.setDAGRunNote, RoleUser)
}

// allDAGs is the dag_id Airflow uses for "every DAG".
const allDAGs = "~"

// --- trigger ---

// triggerDAGRun is POST /dags/{dag_id}/dagRuns: one create_flow_run carrying an idempotency
// key, so that a retry (the client's or the gateway's own) never makes a second run.
func (s *Server) triggerDAGRun(c echo.Context) error {
	ctx := c.Request().Context()
	dagID := decodedPathParam(c, "dag_id")
	// Airflow looks the DAG up before it reads the body.
	dag, err := s.resolveRunDAG(c, dagID)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return BadRequest("The request body could not be read: %v", err)
	}
	req, err := translate.ParseTrigger(body, time.Now())
	if err != nil {
		return badInputProblem(err)
	}
	run, err := s.createRun(ctx, c, dag, req)
	if err != nil {
		return err
	}
	return writeDAGRun(c, translate.FromPrefectFlowRun(run, dagID), 0)
}

// createRun triggers req on dag (both generations): a conflict read when the logical date is
// pinned, then one keyed create_flow_run. A duplicate is Airflow's 409 (with Airflow 3's
// object detail for /api/v2); the gateway's own retry finds its run and answers it.
func (s *Server) createRun(ctx context.Context, c echo.Context, dag prefect.ResolvedDAG, req translate.TriggerRequest) (wire.FlowRun, error) {
	dagID := dag.DAGID
	if req.LogicalDateGiven {
		// Airflow refuses a second run for one logical date. Only a pinned date can clash
		// (a default "now" is new by construction), so only then is this read paid for.
		existing, err := s.triggerConflict(ctx, dag, req)
		if err != nil {
			var p *Problem
			if errors.As(err, &p) && p.Status == http.StatusConflict {
				return wire.FlowRun{}, duplicateRunV2(p)
			}
			return wire.FlowRun{}, err
		}
		if existing != nil {
			return *existing, nil
		}
	}
	run, created, err := s.prefect.CreateFlowRun(ctx, dag.Deployment.ID, req.ToFlowRunCreate(dag.Deployment.ID))
	if prefect.IsNotFound(err) {
		// The cached deployment is gone (deleted, or recreated under a new id): resolve
		// once more and try again with what Prefect has now.
		s.dags.Invalidate(ctx, dagID)
		if dag, err = s.resolveRunDAG(c, dagID); err != nil {
			return wire.FlowRun{}, err
		}
		run, created, err = s.prefect.CreateFlowRun(ctx, dag.Deployment.ID, req.ToFlowRunCreate(dag.Deployment.ID))
	}
	if err != nil {
		return wire.FlowRun{}, triggerProblem(err, dagID)
	}
	// Prefect hands back the existing run for a known key. It is this request's own run
	// when an earlier attempt made it (same content); anything else is a duplicate id.
	if !created && !req.CreatedBy(run) {
		return wire.FlowRun{}, duplicateRunV2(Problemf(http.StatusConflict, "", "DAGRun with DAG ID: '%s' and DAGRun ID: '%s' already exists", dagID, req.DAGRunID))
	}
	return run, nil
}

// triggerConflict looks, in one read, for a run of the DAG with the request's dag_run_id or
// logical date. It returns the run when it is this request's own (made by an earlier
// attempt: answer it again), a 409 when another run holds the id or the date, else nothing.
// The id check also catches runs Prefect made under that name, which carry no key.
func (s *Server) triggerConflict(ctx context.Context, dag prefect.ResolvedDAG, req translate.TriggerRequest) (*wire.FlowRun, error) {
	at := req.LogicalDate
	// Room for a few runs at that date (Prefect may have made some) beside the one named
	// dag_run_id, which must be seen whatever the order.
	limit := 10
	runs, err := s.prefect.FilterFlowRuns(ctx, wire.Query{
		FlowRuns: &wire.FlowRunFilter{
			Operator:          "or_",
			Name:              &wire.NameMatch{Any: []string{req.DAGRunID}},
			ExpectedStartTime: &wire.TimeRange{After: &at, Before: &at},
		},
		Deployments: &wire.DeploymentFilter{ID: &wire.AnyOf{Any: []string{dag.Deployment.ID}}},
		Sort:        "ID_DESC",
		Limit:       &limit,
	})
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("look for runs of %s named %q or at %s: %w", dag.DAGID, req.DAGRunID, translate.FormatTime(at), err))
	}
	for _, run := range runs {
		if run.Name == req.DAGRunID {
			if req.CreatedBy(run) {
				return &run, nil
			}
			return nil, Problemf(http.StatusConflict, "", "DAGRun with DAG ID: '%s' and DAGRun ID: '%s' already exists", dag.DAGID, req.DAGRunID)
		}
	}
	if len(runs) > 0 {
		return nil, Problemf(http.StatusConflict, "", "DAGRun with DAG ID: '%s' and DAGRun logical date: '%s' already exists",
			dag.DAGID, strings.Replace(translate.PythonISOFormat(at), "T", " ", 1))
	}
	return nil, nil
}

// triggerProblem maps a failed create_flow_run. Prefect answers a conf that fails the
// deployment's parameter schema with a 409 ("Error creating flow run: ..."); for Airflow
// that is an invalid conf, a 400 with Prefect's own explanation.
func triggerProblem(err error, dagID string) *Problem {
	if pe, ok := prefect.AsError(err); ok && pe.Kind == prefect.KindConflict && isParameterRefusal(pe.Message) {
		return NewProblem(http.StatusBadRequest, "", pe.Message).WithCause(err)
	}
	return FromUpstream(fmt.Errorf("trigger a run of DAG %q: %w", dagID, err))
}

// isParameterRefusal tells Prefect's parameter-schema 409s from its other conflicts
// (prefect/server/api/deployments.py: create_flow_run_from_deployment).
func isParameterRefusal(msg string) bool {
	return strings.HasPrefix(msg, "Error creating flow run") ||
		strings.Contains(msg, "Cannot update parameters") ||
		strings.Contains(msg, "parameter schema")
}

// --- read, delete ---

// getDAGRun is GET /dags/{dag_id}/dagRuns/{dag_run_id}: one flow-run read.
func (s *Server) getDAGRun(c echo.Context) error {
	fields, err := translate.ParseDAGRunFields(c.QueryParams()["fields"])
	if err != nil {
		return badInputProblem(err)
	}
	dagID, _, run, err := s.dagRunOf(c)
	if err != nil {
		return err
	}
	return writeDAGRun(c, translate.FromPrefectFlowRun(run, dagID), translate.DAGRunFieldsOf(fields))
}

// dagRunJSONSize is about what one DAG run takes in Airflow's JSON (a small conf included),
// to size answer buffers once.
const dagRunJSONSize = 768

// writeDAGRun answers one DAG run, projected to the fields in set.
func writeDAGRun(c echo.Context, run translate.DAGRun, set translate.DAGRunFieldSet) error {
	return writeJSONBytes(c, http.StatusOK, run.AppendJSON(make([]byte, 0, dagRunJSONSize), set))
}

// deleteDAGRun is DELETE /dags/{dag_id}/dagRuns/{dag_run_id}: the run, then its deletion.
func (s *Server) deleteDAGRun(c echo.Context) error {
	dagID, _, run, err := s.dagRunOf(c)
	if err != nil {
		return err
	}
	if err := s.prefect.DeleteFlowRun(c.Request().Context(), run.ID); err != nil {
		if prefect.IsNotFound(err) {
			return dagRunNotFound(dagID, run.Name)
		}
		return FromUpstream(fmt.Errorf("delete flow run %s: %w", run.ID, err))
	}
	return c.NoContent(http.StatusNoContent)
}

// --- state changes ---

// patchDAGRun is PATCH /dags/{dag_id}/dagRuns/{dag_run_id} {"state": ...}: the run, then one
// set_state (DESIGN §4). The answer is built from the state Prefect wrote, not re-read.
func (s *Server) patchDAGRun(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return BadRequest("The request body could not be read: %v", err)
	}
	target, err := translate.ParseStatePatch(body)
	if err != nil {
		return badInputProblem(err)
	}
	dagID, _, run, err := s.dagRunOf(c)
	if err != nil {
		return err
	}
	proposed, err := translate.DAGRunStateChange(target, currentStateType(run))
	if err != nil {
		return BadRequest("%v", err)
	}
	updated, err := s.setRunState(c.Request().Context(), dagID, run, proposed)
	if err != nil {
		return err
	}
	return writeDAGRun(c, translate.FromPrefectFlowRun(updated, dagID), 0)
}

// clearDAGRun is POST .../clear. A dry run lists the task instances clearing would touch
// (the run's task runs); a real one re-queues the run (SCHEDULED, which Prefect allows for
// runs of a deployment) and answers the run.
func (s *Server) clearDAGRun(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return BadRequest("The request body could not be read: %v", err)
	}
	dryRun, err := translate.ParseClear(body)
	if err != nil {
		return badInputProblem(err)
	}
	dagID, _, run, err := s.dagRunOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if !dryRun {
		proposed, _ := translate.DAGRunStateChange(translate.DAGRunQueued, currentStateType(run))
		proposed.Message = "Cleared through the Airflow API"
		updated, err := s.setRunState(ctx, dagID, run, proposed)
		if err != nil {
			return err
		}
		return writeDAGRun(c, translate.FromPrefectFlowRun(updated, dagID), 0)
	}
	var taskRuns []wire.TaskRun
	for offset := 0; ; offset += prefect.MaxLimit {
		limit := prefect.MaxLimit
		page, err := s.prefect.FilterTaskRuns(ctx, wire.Query{
			TaskRuns: &wire.TaskRunFilter{FlowRunID: &wire.NullableAnyOf{Any: []string{run.ID}}},
			Sort:     "ID_DESC", Limit: &limit, Offset: offset,
		})
		if err != nil {
			return FromUpstream(fmt.Errorf("list task runs of flow run %s: %w", run.ID, err))
		}
		taskRuns = append(taskRuns, page...)
		if len(page) < limit {
			break
		}
	}
	refs := translate.TaskInstanceReferences(taskRuns, translate.FromPrefectFlowRun(run, dagID))
	return c.JSON(http.StatusOK, map[string]any{"task_instances": refs})
}

// setDAGRunNote is PATCH .../setNote: the run, then a label patch (the note lives in the
// airflow.note label).
func (s *Server) setDAGRunNote(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return BadRequest("The request body could not be read: %v", err)
	}
	note, err := translate.ParseNote(body)
	if err != nil {
		return badInputProblem(err)
	}
	dagID, _, run, err := s.dagRunOf(c)
	if err != nil {
		return err
	}
	labels := translate.NoteLabels(note)
	if err := s.prefect.UpdateFlowRunLabels(c.Request().Context(), run.ID, labels); err != nil {
		if prefect.IsNotFound(err) {
			return dagRunNotFound(dagID, run.Name)
		}
		return FromUpstream(fmt.Errorf("set the note of flow run %s: %w", run.ID, err))
	}
	run.Labels.Note = ""
	if note != nil {
		run.Labels.Note = wire.LabelValue(*note)
	}
	return writeDAGRun(c, translate.FromPrefectFlowRun(run, dagID), 0)
}

// setRunState proposes a state and returns the run as Prefect left it. Orchestration
// refusals arrive in a successful answer: an ABORT, a WAIT, or a REJECT that wrote nothing
// is a 400 with Prefect's reason; a REJECT that wrote a substitute state (a run that never
// started goes straight to CANCELLED) is a success.
func (s *Server) setRunState(ctx context.Context, dagID string, run wire.FlowRun, proposed wire.StateCreate) (wire.FlowRun, error) {
	res, err := s.prefect.SetFlowRunState(ctx, run.ID, proposed, false)
	if err != nil {
		if prefect.IsNotFound(err) {
			return run, dagRunNotFound(dagID, run.Name)
		}
		return run, FromUpstream(fmt.Errorf("set flow run %s to %s: %w", run.ID, proposed.Type, err))
	}
	previousID := ""
	if run.State != nil {
		previousID = run.State.ID
	}
	wrote := res.State != nil && (res.Status == wire.Accept || (res.Status == wire.Reject && res.State.ID != previousID))
	if !wrote {
		reason := "no reason given"
		if res.Details.Reason != nil && *res.Details.Reason != "" {
			reason = *res.Details.Reason
		}
		return run, BadRequest("Prefect refused to move DAG run '%s' from %s to %s (%s): %s",
			run.Name, currentStateType(run), proposed.Type, res.Status, reason)
	}
	return translate.ApplyState(run, *res.State), nil
}

func currentStateType(run wire.FlowRun) wire.StateType {
	switch {
	case run.StateType != nil:
		return *run.StateType
	case run.State != nil:
		return run.State.Type
	}
	return ""
}

// --- listing ---

// runScope is the set of DAGs a listing covers.
type runScope struct {
	// deploymentIDs limits the runs to these deployments; nil means every deployment
	// (runs of deleted deployments belong to no DAG and are left out).
	deploymentIDs []string
	// dags names the DAG of each deployment known up front.
	dags map[string]string
}

func (sc runScope) single() bool { return len(sc.deploymentIDs) == 1 }

// dagOf names the DAG of a deployment known up front.
func (sc runScope) dagOf(deploymentID []byte) (string, bool) {
	dagID, ok := sc.dags[string(deploymentID)]
	return dagID, ok
}

func emptyRunCollection(c echo.Context) error {
	return writeJSONBytes(c, http.StatusOK, translate.AppendDAGRunCollection(nil, nil, 0, 0))
}

// listDAGRuns is GET /dags/{dag_id}/dagRuns, dag_id "~" meaning every DAG the caller may
// see. As in Airflow, an unknown DAG has no runs (200, empty) rather than a 404.
func (s *Server) listDAGRuns(c echo.Context) error {
	q, err := translate.ParseDAGRunListQuery(c.QueryParams(), s.opts.MaxPageLimit)
	if err != nil {
		return badInputProblem(err)
	}
	dagID := decodedPathParam(c, "dag_id")
	var scope runScope
	if dagID == allDAGs {
		if scope, err = s.visibleRunScope(c, nil); err != nil {
			return err
		}
	} else {
		dag, err := s.resolveRunDAG(c, dagID)
		if err != nil {
			var p *Problem
			if errors.As(err, &p) && p.Status == http.StatusNotFound {
				return emptyRunCollection(c)
			}
			return err
		}
		scope = runScope{deploymentIDs: []string{dag.Deployment.ID}, dags: map[string]string{dag.Deployment.ID: dag.DAGID}}
	}
	return s.writeRunPage(c, q, scope)
}

// listDAGRunsBatch is POST /dags/~/dagRuns/list with Airflow's ListDagRunsForm: dag_ids
// (intersected with the DAGs the caller may see; none means all of them), states, date
// ranges, order and page.
func (s *Server) listDAGRunsBatch(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return BadRequest("The request body could not be read: %v", err)
	}
	q, err := translate.ParseDAGRunListForm(body)
	if err != nil {
		return badInputProblem(err)
	}
	scope, err := s.visibleRunScope(c, q.DAGIDs)
	if err != nil {
		return err
	}
	return s.writeRunPage(c, q, scope)
}

// visibleRunScope is the scope of a listing across DAGs. Without dag_ids and without DAG
// limits on the caller it is every deployment (no call). A caller limited to some DAGs gets
// exactly those deployments in the filter, so that total_entries counts only runs it may
// see. Listed dag_ids are resolved in one batch (from the cache where they can be); unknown ones match nothing.
func (s *Server) visibleRunScope(c echo.Context, dagIDs []string) (runScope, error) {
	ctx := c.Request().Context()
	p := principalOf(c)
	scope := runScope{deploymentIDs: []string{}, dags: map[string]string{}}
	if len(dagIDs) == 0 {
		if p != nil && p.DAGPatterns == nil {
			return runScope{dags: map[string]string{}}, nil
		}
		all, err := s.dags.All(ctx)
		if err != nil {
			return scope, FromUpstream(err)
		}
		for _, d := range all {
			if p.CanAccessDAG(d.DAGID) {
				scope.add(d)
			}
		}
		return scope, nil
	}
	var ids []string
	seen := make(map[string]bool, len(dagIDs))
	for _, id := range dagIDs {
		if id != allDAGs && !seen[id] && p.CanAccessDAG(id) {
			ids = append(ids, id)
		}
		seen[id] = true
	}
	// One batch: its Prefect calls are shared between the ids and stop with the request.
	resolved, err := s.dags.ResolveMany(ctx, ids)
	if err != nil {
		var ambiguous *prefect.AmbiguousDAGError
		if errors.As(err, &ambiguous) {
			return scope, resolveProblem(err, ambiguous.DAGID)
		}
		return scope, FromUpstream(fmt.Errorf("resolve %d dag_ids: %w", len(ids), err))
	}
	for _, id := range ids {
		if d, ok := resolved[id]; ok {
			scope.add(d)
		}
	}
	return scope, nil
}

func (sc *runScope) add(d prefect.ResolvedDAG) {
	if _, dup := sc.dags[d.Deployment.ID]; dup {
		return
	}
	sc.deploymentIDs = append(sc.deploymentIDs, d.Deployment.ID)
	sc.dags[d.Deployment.ID] = d.DAGID
}

// pageBuffers hold the list pages written straight from Prefect's answer until they are
// sent: a page is tens of KB, and one allocated per list was most of what a list left to the
// garbage collector.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// releasePageBuffer returns a page buffer to the pool, unless an unusually large page grew it.
func releasePageBuffer(buf *[]byte) {
	if cap(*buf) <= 256<<10 {
		pageBuffers.Put(buf)
	}
}

// writeFastRunPage makes a Prefect read (call) whose answer write turns straight into
// Airflow's JSON, in a pooled buffer, and sends that (done). Where write gives up, decode
// reads the answer the ordinary way and nothing is sent: the caller goes on with what decode
// kept.
func writeFastRunPage(c echo.Context, call func(read func(answer []byte) error) error,
	write func(dst, answer []byte) ([]byte, bool), decode func(answer []byte) error) (done bool, err error) {
	buf := pageBuffers.Get().(*[]byte)
	defer releasePageBuffer(buf) // once the page is sent
	var page []byte
	err = call(func(answer []byte) error {
		var ok bool
		page, ok = write((*buf)[:0], answer)
		*buf = page[:0] // keeps what it grew to
		if ok {
			return nil
		}
		page = nil
		return decode(answer)
	})
	if err != nil {
		return false, FromUpstream(fmt.Errorf("list flow runs: %w", err))
	}
	if page == nil {
		return false, nil
	}
	return true, writeJSONBytes(c, http.StatusOK, page)
}

// writeRunPage answers one page of runs and the exact count of all matches. A forward read
// whose offset falls on a page boundary is one call (Prefect's /paginate counts alongside);
// another forward read is two concurrent calls, page and count. Airflow's default order
// (ascending id) is Prefect's ID_DESC read from the other end, which needs the count first:
// two calls, one after the other.
func (s *Server) writeRunPage(c echo.Context, q translate.DAGRunQuery, scope runScope) error {
	ctx := c.Request().Context()
	order, err := translate.DAGRunOrder(q.OrderBy, scope.single())
	if err != nil {
		return badInputProblem(err)
	}
	query, nothing := q.PrefectQuery(scope.deploymentIDs)
	if nothing {
		return emptyRunCollection(c)
	}
	query.Sort = order.Sort
	fields := translate.DAGRunFieldsOf(q.Fields)

	var total int
	var runs []wire.FlowRun
	switch {
	case order.Reverse:
		if total, err = s.prefect.CountFlowRuns(ctx, query); err != nil {
			return FromUpstream(fmt.Errorf("count flow runs: %w", err))
		}
		windows := translate.PrefectWindows(q.Page, order, total, prefect.MaxLimit)
		if len(windows) == 1 { // nearly always: one read, written backwards from Prefect's bytes
			query.Offset = windows[0].Offset
			query.Limit = &windows[0].Limit
			done, err := writeFastRunPage(c, func(read func([]byte) error) error { return s.prefect.FilterFlowRunsAnswer(ctx, query, read) },
				func(dst, answer []byte) ([]byte, bool) {
					return translate.AppendDAGRunArrayAnswer(dst, answer, scope.dagOf, fields, total, true)
				},
				func(answer []byte) error { runs = nil; return prefect.Decode(answer, &runs) })
			if done || err != nil {
				return err
			}
		} else if runs, err = s.readRunWindows(ctx, query, windows); err != nil {
			return err
		}
		slices.Reverse(runs)
	case q.Page.Limit <= prefect.MaxLimit && q.Page.Offset%q.Page.Limit == 0:
		limit := q.Page.Limit
		query.Limit = &limit
		// Most pages are written straight from Prefect's bytes; a page with a run of a
		// deployment not known up front (or of an unexpected shape) goes the ordinary way.
		done, err := writeFastRunPage(c, func(read func([]byte) error) error {
			return s.prefect.PaginateFlowRuns(ctx, query, q.Page.Offset/limit+1, read)
		}, func(dst, answer []byte) ([]byte, bool) {
			return translate.AppendDAGRunPageAnswer(dst, answer, scope.dagOf, fields)
		}, func(answer []byte) error {
			var err error
			runs, total, err = prefect.DecodeFlowRunPage(answer)
			return err
		})
		if done || err != nil {
			return err
		}
	default:
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			var err error
			if total, err = s.prefect.CountFlowRuns(gctx, query); err != nil {
				return FromUpstream(fmt.Errorf("count flow runs: %w", err))
			}
			return nil
		})
		g.Go(func() error {
			var err error
			runs, err = s.readRunWindows(gctx, query, translate.PrefectWindows(q.Page, order, -1, prefect.MaxLimit))
			return err
		})
		if err := g.Wait(); err != nil {
			return err
		}
	}

	names, err := s.dagIDsOfRuns(ctx, runs, scope)
	if err != nil {
		return err
	}
	out := make([]translate.DAGRun, 0, len(runs))
	for _, run := range runs {
		if run.DeploymentID == nil {
			continue
		}
		dagID, ok := names[*run.DeploymentID]
		if !ok {
			continue // its deployment was deleted between the filter and now
		}
		out = append(out, translate.FromPrefectFlowRun(run, dagID))
	}
	return writeJSONBytes(c, http.StatusOK, translate.AppendDAGRunCollection(make([]byte, 0, 64+dagRunJSONSize*len(out)), out, fields, total))
}

// readRunWindows reads the windows in order and stops at the first short one (the end).
func (s *Server) readRunWindows(ctx context.Context, query wire.Query, windows []translate.Window) ([]wire.FlowRun, error) {
	var runs []wire.FlowRun
	for _, w := range windows {
		query.Offset = w.Offset
		limit := w.Limit
		query.Limit = &limit
		page, err := s.prefect.FilterFlowRuns(ctx, query)
		if err != nil {
			return nil, FromUpstream(fmt.Errorf("list flow runs: %w", err))
		}
		runs = append(runs, page...)
		if len(page) < w.Limit {
			break
		}
	}
	return runs, nil
}

// dagIDsOfRuns names the DAG of every run's deployment: from the scope, else from the
// resolver's deployment cache, reading the unknown ones in one call.
func (s *Server) dagIDsOfRuns(ctx context.Context, runs []wire.FlowRun, scope runScope) (map[string]string, error) {
	names := make(map[string]string, len(scope.dags))
	for id, dagID := range scope.dags {
		names[id] = dagID
	}
	var unknown []string
	for _, run := range runs {
		if run.DeploymentID == nil {
			continue
		}
		if _, ok := names[*run.DeploymentID]; !ok && !slices.Contains(unknown, *run.DeploymentID) {
			unknown = append(unknown, *run.DeploymentID)
		}
	}
	if len(unknown) == 0 {
		return names, nil
	}
	found, err := s.dags.ByDeploymentIDs(ctx, unknown)
	if err != nil {
		return nil, FromUpstream(err)
	}
	for id, d := range found {
		names[id] = d.DAGID
	}
	return names, nil
}

// --- lookups ---

// dagRunOf resolves the route's DAG and finds its run dag_run_id: one flow-run read on a
// warm DAG cache.
func (s *Server) dagRunOf(c echo.Context) (string, prefect.ResolvedDAG, wire.FlowRun, error) {
	dagID := decodedPathParam(c, "dag_id")
	runID := decodedPathParam(c, "dag_run_id")
	dag, err := s.resolveRunDAG(c, dagID)
	if err != nil {
		return dagID, dag, wire.FlowRun{}, err
	}
	run, err := s.findDAGRun(c.Request().Context(), dag, runID)
	return dagID, dag, run, err
}

// uuidPattern is a flow-run id as Prefect writes it (any case accepted).
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// findDAGRun finds the run of dag named runID, or whose flow-run id is runID (so that runs
// Prefect made, with Prefect's names, are reachable too). A name wins over an id; of two
// runs with one name (Prefect does not keep names unique) the one with the latest logical
// date wins.
func (s *Server) findDAGRun(ctx context.Context, dag prefect.ResolvedDAG, runID string) (wire.FlowRun, error) {
	runs, err := s.prefect.FilterFlowRuns(ctx, runLookupQuery(dag, runID))
	if err != nil {
		return wire.FlowRun{}, FromUpstream(fmt.Errorf("find run %q of DAG %q: %w", runID, dag.DAGID, err))
	}
	if i := pickRun(runs, runID, func(r wire.FlowRun) wire.FlowRun { return r }); i >= 0 {
		return runs[i], nil
	}
	return wire.FlowRun{}, dagRunNotFound(dag.DAGID, runID)
}

// runLookupFilter matches the runs that may answer to runID: by name, or by flow-run id
// when runID is a UUID.
func runLookupFilter(runID string) *wire.FlowRunFilter {
	f := &wire.FlowRunFilter{Name: &wire.NameMatch{Any: []string{runID}}}
	if uuidPattern.MatchString(runID) {
		f.Operator = "or_"
		f.ID = &wire.AnyOf{Any: []string{strings.ToLower(runID)}}
	}
	return f
}

// runLookupQuery reads the (at most two) runs of dag that may answer to runID, the latest
// logical date first.
func runLookupQuery(dag prefect.ResolvedDAG, runID string) wire.Query {
	limit := 2
	return wire.Query{
		FlowRuns:    runLookupFilter(runID),
		Deployments: &wire.DeploymentFilter{ID: &wire.AnyOf{Any: []string{dag.Deployment.ID}}},
		Sort:        "EXPECTED_START_TIME_DESC",
		Limit:       &limit,
	}
}

// pickRun is the index of the run of runs (read by runLookupQuery) that answers to runID: a
// name wins over an id. -1 when none does.
func pickRun[T any](runs []T, runID string, flowRun func(T) wire.FlowRun) int {
	for i, r := range runs {
		if flowRun(r).Name == runID {
			return i
		}
	}
	for i, r := range runs {
		if strings.EqualFold(flowRun(r).ID, runID) {
			return i
		}
	}
	return -1
}

// resolveRunDAG finds the deployment of a DAG the caller may see; otherwise a 404 that does
// not tell a hidden DAG from a missing one.
func (s *Server) resolveRunDAG(c echo.Context, dagID string) (prefect.ResolvedDAG, error) {
	if dagID == allDAGs || !principalOf(c).CanAccessDAG(dagID) {
		return prefect.ResolvedDAG{}, unknownDAG(dagID)
	}
	dag, err := s.dags.Resolve(c.Request().Context(), dagID)
	if err != nil {
		return dag, resolveProblem(err, dagID)
	}
	return dag, nil
}

func resolveProblem(err error, dagID string) *Problem {
	var ambiguous *prefect.AmbiguousDAGError
	switch {
	case errors.Is(err, prefect.ErrDAGNotFound):
		return unknownDAG(dagID)
	case errors.As(err, &ambiguous):
		return BadRequest("%v", ambiguous).WithCause(err)
	}
	return FromUpstream(fmt.Errorf("resolve dag_id %q: %w", dagID, err))
}

func unknownDAG(dagID string) *Problem {
	return NotFound("DAG not found", "DAG with dag_id: '%s' not found", dagID).
		ForV2(fmt.Sprintf("The Dag with ID: `%s` was not found", dagID))
}

func dagRunNotFound(dagID, runID string) *Problem {
	return NotFound("DAGRun not found", "DAGRun with DAG ID: '%s' and DagRun ID: '%s' not found", dagID, runID).
		ForV2(fmt.Sprintf("The DagRun with dag_id: `%s` and run_id: `%s` was not found", dagID, runID))
}

// badInputProblem is the 400 for a request translate refused.
func badInputProblem(err error) *Problem {
	var ie *translate.InputError
	if errors.As(err, &ie) {
		return NewProblem(http.StatusBadRequest, ie.Title, ie.Detail)
	}
	return BadRequest("%v", err)
}

// decodedPathParam is a path parameter exactly as the client meant it. Echo routes on the
// raw path when the URL holds escapes Go keeps (such as %2F), and then hands the segment
// out still escaped; otherwise it is already decoded and must not be decoded twice (a
// literal "%41" in an id arrives as "%2541").
func decodedPathParam(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v
	}
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}
