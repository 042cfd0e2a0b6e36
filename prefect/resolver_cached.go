package prefect

import "context"

// Cached returns dagID's cached resolution without calling Prefect, so that a caller that
// must read the deployment fresh anyway (GET /dags/{dag_id}) reads it by id when it is
// cached and lets Resolve read it when it is not, never both.
func (r *Resolver) Cached(ctx context.Context, dagID string) (ResolvedDAG, bool) {
	v, ok := r.byDAG.Get(r.key(ctx, dagID))
	if !ok {
		return ResolvedDAG{}, false
	}
	return v.(ResolvedDAG), true
}
