package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// DAG runs under /api/v2: flow runs of the DAG's deployment, with the same Prefect calls as
// /api/v1's dag_runs.go (trigger 1 on a warm cache, read 1, patch and delete 2) and Airflow
// 3's bodies: a nullable logical_date and run_after on trigger, PATCH with state and/or note,
// clear with dry_run true by default, the 409 object detail of a duplicate run id.

func (s *Server) registerV2DAGRunRoutes(g *echo.Group) {
	s.routeV2(g, http.MethodPost, "/dags/:dag_id/dagRuns/list", s.listDAGRunsBatchV2, RoleViewer)
	s.routeV2(g, http.MethodGet, "/dags/:dag_id/dagRuns", s.listDAGRunsV2, RoleViewer)
	s.routeV2(g, http.MethodPost, "/dags/:dag_id/dagRuns", s.triggerDAGRunV2, RoleUser)
	s.routeV2(g, http.MethodGet, "/dags/:dag_id/dagRuns/:dag_run_id", s.getDAGRunV2, RoleViewer)
	s.routeV2(g, http.MethodPatch, "/dags/:dag_id/dagRuns/:dag_run_id", s.patchDAGRunV2, RoleUser)
	s.routeV2(g, http.MethodDelete, "/dags/:dag_id/dagRuns/:dag_run_id", s.deleteDAGRunV2, RoleUser)
	s.routeV2(g, http.MethodPost, "/dags/:dag_id/dagRuns/:dag_run_id/clear", s.clearDAGRunV2, RoleUser)
	s.routeV2(g, http.MethodGet, "/dags/:dag_id/dagRuns/:dag_run_id/wait", s.waitDAGRunV2, RoleViewer)
}

// v2 wordings of the run routes.
func v2RunNotFound(dagID, runID string) *Problem {
	return dagRunNotFound(dagID, runID)
}

// dagRunOfV2 is dagRunOf with Airflow 3's not-found wordings.
func (s *Server) dagRunOfV2(c echo.Context) (prefect.ResolvedDAG, wire.FlowRun, error) {
	_, dag, run, err := s.dagRunOf(c)
	return dag, run, err
}

func (s *Server) getDAGRunV2(c echo.Context) error {
	dag, run, err := s.dagRunOfV2(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toV2DAGRun(run, dag))
}

func (s *Server) deleteDAGRunV2(c echo.Context) error {
	dag, run, err := s.dagRunOfV2(c)
	if err != nil {
		return err
	}
	if err := s.prefect.DeleteFlowRun(c.Request().Context(), run.ID); err != nil {
		if prefect.IsNotFound(err) {
			return dagRunNotFound(dag.DAGID, run.Name)
		}
		return FromUpstream(fmt.Errorf("delete flow run %s: %w", run.ID, err))
	}
	return c.NoContent(http.StatusNoContent)
}

// triggerDAGRunV2 is POST /api/v2/dags/{dag_id}/dagRuns: the v1 trigger's one keyed
// create_flow_run, from Airflow 3's body; 200 with the run, as Airflow 3 answers.
func (s *Server) triggerDAGRunV2(c echo.Context) error {
	dagID := decodedPathParam(c, "dag_id")
	dag, err := s.resolveRunDAG(c, dagID)
	if err != nil {
		var p *Problem
		if errors.As(err, &p) && p.Status == http.StatusNotFound {
			return v2NotFound(fmt.Sprintf("Dag with dag_id: '%s' not found", dagID))
		}
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return v2BadRequest("The request body could not be read.")
	}
	user := ""
	if p := principalOf(c); p != nil {
		user = p.User
	}
	req, err := translate.ParseTriggerV2(body, user, time.Now())
	if err != nil {
		return v2Input(err)
	}
	run, err := s.createRun(c.Request().Context(), c, dag, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toV2DAGRun(run, dag))
}

// v2Input is Airflow 3's 400 for a request translate refused (its ValueError answers).
func v2Input(err error) *Problem {
	p := badInputProblem(err)
	return p.ForV2(orDefault(p.Detail, p.Title))
}

// duplicateRunV2 is Airflow 3's 409 for a run id or logical date already taken: the unique
// constraint's object detail, with what Airflow hides hidden.
func duplicateRunV2(p *Problem) *Problem {
	return p.ForV2(map[string]any{
		"reason":     "Unique constraint violation",
		"statement":  "hidden",
		"orig_error": "hidden",
		"message":    "Serious error when handling your request. Check logs for more details - " + p.Detail,
	})
}

// patchDAGRunV2 is PATCH /api/v2/.../dagRuns/{id} with DAGRunPatchBody {state?, note?}
// (update_mask limits which are applied): the note first, then the state, as Airflow does.
func (s *Server) patchDAGRunV2(c echo.Context) error {
	var body struct {
		State *string `json:"state"`
		Note  *string `json:"note"`
	}
	var present map[string]any
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return v2BadRequest("The request body could not be read.")
	}
	if err := jsonUnmarshalBoth(raw, &body, &present); err != nil {
		return v2BadRequest("The request body is not a JSON object.")
	}
	mask := translate.ParseUpdateMask(c.QueryParams()["update_mask"])
	wants := func(field string) bool {
		_, sent := present[field]
		return sent && (len(mask) == 0 || contains(mask, field))
	}
	dag, run, err := s.dagRunOfV2(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if wants("note") {
		if err := s.prefect.UpdateFlowRunLabels(ctx, run.ID, translate.NoteLabels(body.Note)); err != nil {
			if prefect.IsNotFound(err) {
				return dagRunNotFound(dag.DAGID, run.Name)
			}
			return FromUpstream(fmt.Errorf("set the note of flow run %s: %w", run.ID, err))
		}
		run.Labels.Note = ""
		if body.Note != nil {
			run.Labels.Note = wire.LabelValue(*body.Note)
		}
	}
	if wants("state") && body.State != nil {
		proposed, err := translate.DAGRunStateChange(*body.State, currentStateType(run))
		if err != nil {
			return v2BadRequest(err.Error())
		}
		if run, err = s.setRunState(ctx, dag.DAGID, run, proposed); err != nil {
			var p *Problem
			if errors.As(err, &p) {
				p.ForV2(p.Detail)
			}
			return err
		}
	}
	return c.JSON(http.StatusOK, toV2DAGRun(run, dag))
}

// clearDAGRunV2 is POST .../clear with DAGRunClearBody: dry_run (default true) lists the task
// instances clearing would touch; otherwise the run is re-queued, as in v1, and answered.
// only_failed clears only a failed run's tasks: a run that did not fail has none to clear.
func (s *Server) clearDAGRunV2(c echo.Context) error {
	var body struct {
		DryRun     *bool   `json:"dry_run"`
		OnlyFailed bool    `json:"only_failed"`
		Note       *string `json:"note"`
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return v2BadRequest("The request body could not be read.")
	}
	if len(raw) > 0 {
		if err := jsonUnmarshalBoth(raw, &body, nil); err != nil {
			return v2BadRequest("The request body is not a JSON object.")
		}
	}
	dag, run, err := s.dagRunOfV2(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if body.DryRun == nil || *body.DryRun {
		tis, err := s.runTaskInstancesV2(ctx, dag, run)
		if err != nil {
			return err
		}
		if body.OnlyFailed {
			kept := tis[:0]
			for _, ti := range tis {
				if ti.State != nil && (*ti.State == "failed" || *ti.State == "upstream_failed") {
					kept = append(kept, ti)
				}
			}
			tis = kept
		}
		return c.JSON(http.StatusOK, v2TICollection{TaskInstances: tis, TotalEntries: len(tis)})
	}
	if body.Note != nil {
		if err := s.prefect.UpdateFlowRunLabels(ctx, run.ID, translate.NoteLabels(body.Note)); err != nil {
			return FromUpstream(fmt.Errorf("set the note of flow run %s: %w", run.ID, err))
		}
		run.Labels.Note = wire.LabelValue(*body.Note)
	}
	proposed, _ := translate.DAGRunStateChange(translate.DAGRunQueued, currentStateType(run))
	proposed.Message = "Cleared through the Airflow API"
	updated, err := s.setRunState(ctx, dag.DAGID, run, proposed)
	if err != nil {
		var p *Problem
		if errors.As(err, &p) {
			p.ForV2(p.Detail)
		}
		return err
	}
	return c.JSON(http.StatusOK, toV2DAGRun(updated, dag))
}
