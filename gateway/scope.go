package gateway

import (
	"context"
	"errors"

	"airflow-prefect-gateway/prefect"
)

// deploymentScope is the deployments a cross-DAG read (event logs, datasets) may show: all
// (ids nil) for a caller who sees every DAG and named no DAG, else the listed ones (possibly
// none). dags maps each listed deployment id to its dag_id.
type deploymentScope struct {
	ids  []string
	dags map[string]string
}

func (sc deploymentScope) none() bool { return sc.ids != nil && len(sc.ids) == 0 }

// scopeOf works out the scope for principal p, narrowed to dagID when it is not "". It costs
// nothing for an unrestricted caller, one resolution (cached) for a DAG, and a listing of
// every deployment (prefect.Resolver.All) for a caller limited to some DAGs.
func (s *Server) scopeOf(ctx context.Context, p *Principal, dagID string) (deploymentScope, error) {
	sc := deploymentScope{ids: []string{}, dags: map[string]string{}}
	if dagID != "" {
		if !p.CanAccessDAG(dagID) {
			return sc, nil
		}
		d, err := s.dags.Resolve(ctx, dagID)
		if errors.Is(err, prefect.ErrDAGNotFound) {
			return sc, nil
		}
		if err != nil {
			return sc, resolveProblem(err, dagID)
		}
		sc.ids = append(sc.ids, d.Deployment.ID)
		sc.dags[d.Deployment.ID] = d.DAGID
		return sc, nil
	}
	if p != nil && p.DAGPatterns == nil {
		return deploymentScope{dags: map[string]string{}}, nil
	}
	all, err := s.dags.All(ctx)
	if err != nil {
		return sc, FromUpstream(err)
	}
	for _, d := range all {
		if p.CanAccessDAG(d.DAGID) {
			sc.ids = append(sc.ids, d.Deployment.ID)
			sc.dags[d.Deployment.ID] = d.DAGID
		}
	}
	return sc, nil
}

// dagIDsOf names the DAGs of deployment ids: from the scope when it knows them, else from
// the resolver (cached ones free, the others one call per 200). Deployments Prefect no longer
// has are absent.
func (s *Server) dagIDsOf(ctx context.Context, sc deploymentScope, ids []string) (map[string]string, error) {
	out := map[string]string{}
	var missing []string
	for _, id := range ids {
		if dag, ok := sc.dags[id]; ok {
			out[id] = dag
		} else if id != "" {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	found, err := s.dags.ByDeploymentIDs(ctx, missing)
	if err != nil {
		return nil, FromUpstream(err)
	}
	for id, d := range found {
		out[id] = d.DAGID
	}
	return out, nil
}
