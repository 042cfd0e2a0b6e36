package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// GET /dagStats (issue 15): run counts per Airflow DAG-run state for each DAG asked for.
//
// Prefect calls: on a warm resolver cache, one flow-run count per (DAG, state): 4 per DAG
// that exists and the caller may see, dagStatsConcurrency at a time; at most
// translate.MaxDAGStatsIDs DAGs per request. DAGs that do not exist, or that the caller may
// not see, are left out of the answer as Airflow leaves them out (it intersects dag_ids with
// the DAGs the user may read), and cost nothing when hidden.

// dagStatsConcurrency bounds the counts of one dagStats request in flight.
const dagStatsConcurrency = 8

func (s *Server) registerDAGStatsRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/dagStats", s.getDAGStats, RoleViewer)
}

func (s *Server) getDAGStats(c echo.Context) error {
	ids, err := translate.ParseDAGStatsIDs(c.QueryParam("dag_ids"))
	if err != nil {
		return BadRequest("%s", err)
	}
	out, err := s.dagStats(c.Request().Context(), principalOf(c), ids)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// dagStats counts the runs of each visible, existing DAG of ids in each Airflow state.
func (s *Server) dagStats(ctx context.Context, p *Principal, ids []string) (translate.DAGStatsCollection, error) {
	var dags []prefect.ResolvedDAG
	for _, id := range ids {
		if !p.CanAccessDAG(id) {
			continue
		}
		res, err := s.dags.Resolve(ctx, id)
		if errors.Is(err, prefect.ErrDAGNotFound) {
			continue
		}
		if err != nil {
			return translate.DAGStatsCollection{}, resolveProblem(err, id)
		}
		dags = append(dags, res)
	}
	counts := make([]map[string]int, len(dags))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(dagStatsConcurrency)
	for i, dag := range dags {
		counts[i] = map[string]int{}
		for _, state := range translate.DAGRunStates {
			types, _ := translate.PrefectStateTypes(state)
			g.Go(func() error {
				n, err := s.prefect.CountFlowRuns(gctx, wire.Query{FlowRuns: &wire.FlowRunFilter{
					DeploymentID: &wire.NullableAnyOf{Any: []string{dag.Deployment.ID}},
					State:        &wire.StateFilter{Type: &wire.AnyOf{Any: stateTypeStrings(types)}},
				}})
				if err != nil {
					return fmt.Errorf("count %s runs of DAG %q: %w", state, dag.DAGID, err)
				}
				mu.Lock()
				counts[i][state] = n
				mu.Unlock()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return translate.DAGStatsCollection{}, FromUpstream(err)
	}
	out := translate.DAGStatsCollection{DAGs: make([]translate.DAGStats, 0, len(dags)), TotalEntries: len(dags)}
	for i, dag := range dags {
		out.DAGs = append(out.DAGs, translate.NewDAGStats(dag.DAGID, counts[i]))
	}
	return out, nil
}

func stateTypeStrings(types []wire.StateType) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}
