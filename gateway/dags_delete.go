package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
)

// DELETE /dags/{dag_id} (issue 15). Airflow deletes what its database holds of the DAG
// (runs, task instances, XComs, ...; its audit log stays) and the DAG comes back, with
// nothing but its definition, the next time its file is parsed. In Prefect the definition is
// the deployment, and nothing parses it again: deleting the deployment would lose its
// schedule, parameters and infrastructure for good, which Airflow never loses. So the gateway
// deletes what Airflow deletes, the DAG's flow runs (Prefect drops their task runs, states,
// logs and artifacts with them), keeps the deployment, and leaves Prefect's events (the
// audit log) alone. Admin only.
//
// As Airflow refuses while task instances run (409), so does the gateway while a flow run of
// the deployment is RUNNING or CANCELLING.
//
// Prefect calls: 1 count (running runs), then one bulk delete per 50 runs, up to
// maxDAGDeleteBatches; a DAG with more runs than that gets a 409 that says how many were
// deleted, and the same request deletes the rest.

// maxDAGDeleteBatches bounds the bulk deletes of one request (20,000 runs).
const maxDAGDeleteBatches = 400

func (s *Server) registerDAGDeleteRoutes(g *echo.Group) {
	s.route(g, http.MethodDelete, "/dags/:dag_id", s.deleteDAG, RoleAdmin)
}

func (s *Server) deleteDAG(c echo.Context) error {
	dagID := decodedPathParam(c, "dag_id")
	notFound := NewProblem(http.StatusNotFound, fmt.Sprintf("Dag with id: '%s' not found", dagID), "")
	if !principalOf(c).CanAccessDAG(dagID) {
		return notFound
	}
	ctx := c.Request().Context()
	dag, err := s.dags.Resolve(ctx, dagID)
	if errors.Is(err, prefect.ErrDAGNotFound) {
		return notFound
	}
	if err != nil {
		return resolveProblem(err, dagID)
	}
	if err := s.deleteDAGRuns(ctx, dag); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// deleteDAGRuns deletes every flow run of the DAG's deployment unless one is running.
func (s *Server) deleteDAGRuns(ctx context.Context, dag prefect.ResolvedDAG) error {
	ofDeployment := &wire.NullableAnyOf{Any: []string{dag.Deployment.ID}}
	running, err := s.prefect.CountFlowRuns(ctx, wire.Query{FlowRuns: &wire.FlowRunFilter{
		DeploymentID: ofDeployment,
		State:        &wire.StateFilter{Type: &wire.AnyOf{Any: []string{string(wire.Running), string(wire.Cancelling)}}},
	}})
	if err != nil {
		return FromUpstream(fmt.Errorf("count running runs of DAG %q: %w", dag.DAGID, err))
	}
	if running > 0 {
		return NewProblem(http.StatusConflict, "", fmt.Sprintf("Task instances of dag with id: '%s' are still running", dag.DAGID))
	}
	deleted := 0
	for range maxDAGDeleteBatches {
		ids, err := s.prefect.BulkDeleteFlowRuns(ctx, wire.FlowRunFilter{DeploymentID: ofDeployment}, prefect.BulkDeleteLimit)
		deleted += len(ids)
		if err != nil {
			p := FromUpstream(fmt.Errorf("delete runs of DAG %q: %w", dag.DAGID, err))
			p.Detail = fmt.Sprintf("%s %d runs of DAG %s were deleted before the failure; the same request deletes the rest.", p.Detail, deleted, dag.DAGID)
			return p
		}
		if len(ids) < prefect.BulkDeleteLimit {
			return nil
		}
	}
	return NewProblem(http.StatusConflict, "", fmt.Sprintf(
		"DAG %s has more runs than one request deletes: %d were deleted; send the request again to delete the rest.", dag.DAGID, deleted))
}
