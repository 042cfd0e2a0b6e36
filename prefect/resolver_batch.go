package prefect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect/wire"
)

// How a dag_id becomes Prefect calls, bounded whatever its length (DESIGN §10):
//
//   - a dag_id longer than the resolver's maximum (Airflow's ID_LEN, 250) names no DAG and
//     costs nothing; below it, a dag_id has at most 124 dots, so at most 124 split points;
//   - round one, concurrently: the tag lookup (one deployments/filter for up to 100 ids) and,
//     when there are at most two split points in all, the by-name read of each; with more,
//     one flows/filter by name for up to 200 candidate flow names, which tells which split
//     points name a real flow (flow names are unique, so the answer is exact in one call);
//   - round two, only with more than two split points: for each flow that exists, its
//     candidate deployment names (one by-name read when there is one, else one
//     deployments/filter per 200 names);
//   - the tagged deployments' flow names, from the cache or one flows/filter per 200.
//
// A single dag_id therefore costs 2 calls when it has one dot (its usual shape), and 3 plus
// one per further Prefect flow named like a prefix of it (none in practice) otherwise; a
// batch costs calls in proportion to its distinct ids, never to their length. At most
// resolveFanOut of a request's calls are in flight at once, and none starts after the
// request's context has ended.

// resolveFanOut bounds the concurrent Prefect calls of one resolution.
const resolveFanOut = 4

// tagChunk is how many dag_ids share one tag lookup: their tags, and up to two deployments
// per tag (enough to see an ambiguity), fit in one page of MaxLimit.
const tagChunk = MaxLimit / 2

// splitPoint is one way to read a dag_id as "<flow>.<deployment>".
type splitPoint struct{ flow, dep string }

// splitPoints lists dagID's canonical readings, most specific flow name first.
func splitPoints(dagID string) []splitPoint {
	var out []splitPoint
	for i := len(dagID) - 2; i > 0; i-- {
		if dagID[i] != '.' {
			continue
		}
		flow, dep := dagID[:i], dagID[i+1:]
		if strings.Contains(flow, "/") || strings.Contains(dep, "/") {
			continue // not reachable through deployments/name/{flow}/{deployment}
		}
		out = append(out, splitPoint{flow, dep})
	}
	return out
}

// resolution is the outcome for one dag_id of a batch: a DAG, ErrDAGNotFound or an
// *AmbiguousDAGError. Prefect failures fail the whole batch instead.
type resolution struct {
	res ResolvedDAG
	err error
}

// resolveBatch resolves distinct, uncached dag_ids that are not aliases.
func (r *Resolver) resolveBatch(ctx context.Context, ids []string) (map[string]resolution, error) {
	var (
		mu         sync.Mutex
		tagged     = map[string][]wire.Deployment{}   // dag_id → deployments declaring it
		byPair     = map[splitPoint]wire.Deployment{} // split point → the deployment it names
		flowByName = map[string]string{}              // flow name → id, for flows that exist
	)
	pairs := map[string][]splitPoint{}
	total := 0
	for _, id := range ids {
		pairs[id] = splitPoints(id)
		total += len(pairs[id])
	}
	direct := total <= 2

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(resolveFanOut)
	goCall := func(f func(context.Context) error) {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err // the request ended, or another lookup failed: start nothing new
			}
			return f(gctx)
		})
	}
	for start := 0; start < len(ids); start += tagChunk {
		chunk := ids[start:min(start+tagChunk, len(ids))]
		goCall(func(ctx context.Context) error {
			found, err := r.taggedDeployments(ctx, chunk)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for id, deps := range found {
				tagged[id] = deps
			}
			return nil
		})
	}
	if direct {
		for _, id := range ids {
			for _, sp := range pairs[id] {
				goCall(func(ctx context.Context) error {
					d, err := r.client.ReadDeploymentByName(ctx, sp.flow, sp.dep)
					switch {
					case err == nil:
						mu.Lock()
						byPair[sp] = d
						mu.Unlock()
					case !IsNotFound(err):
						return fmt.Errorf("read deployment %s/%s: %w", sp.flow, sp.dep, err)
					}
					return nil
				})
			}
		}
	} else {
		for _, chunk := range chunks(distinctFlows(pairs), MaxLimit) {
			goCall(func(ctx context.Context) error {
				limit := len(chunk)
				flows, err := r.client.FilterFlows(ctx, wire.Query{Flows: &wire.FlowFilter{Name: &wire.NameMatch{Any: chunk}}, Limit: &limit})
				if err != nil {
					return fmt.Errorf("look up flows named like dag_id prefixes: %w", err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, f := range flows {
					flowByName[f.Name] = f.ID
					r.flows.Store(r.key(ctx, f.ID), f.Name)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	if !direct {
		// Round two: the candidate deployments of the flows that exist, for the ids no tag
		// claimed (a tag wins over a canonical name).
		byFlow := map[string][]string{}
		for _, id := range ids {
			if len(tagged[id]) > 0 {
				continue
			}
			for _, sp := range pairs[id] {
				if _, ok := flowByName[sp.flow]; ok && !contains(byFlow[sp.flow], sp.dep) {
					byFlow[sp.flow] = append(byFlow[sp.flow], sp.dep)
				}
			}
		}
		g, gctx = errgroup.WithContext(ctx)
		g.SetLimit(resolveFanOut)
		for flow, deps := range byFlow {
			for _, chunk := range chunks(deps, MaxLimit) {
				goCall(func(ctx context.Context) error {
					found, err := r.deploymentsOfFlow(ctx, flow, flowByName[flow], chunk)
					if err != nil {
						return err
					}
					mu.Lock()
					defer mu.Unlock()
					for _, d := range found {
						byPair[splitPoint{flow, d.Name}] = d
					}
					return nil
				})
			}
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}

	var taggedDeps []wire.Deployment
	for _, deps := range tagged {
		taggedDeps = append(taggedDeps, deps...)
	}
	names, err := r.FlowNames(ctx, flowIDs(taggedDeps))
	if err != nil {
		return nil, err
	}
	out := make(map[string]resolution, len(ids))
	for _, id := range ids {
		out[id] = r.decide(id, tagged[id], names, pairs[id], byPair)
	}
	return out, nil
}

// decide applies the precedence to what the lookups found for id: a tag, else exactly one
// canonical split point.
func (r *Resolver) decide(id string, tagged []wire.Deployment, names map[string]string, pairs []splitPoint, byPair map[splitPoint]wire.Deployment) resolution {
	if len(tagged) > 1 {
		cands := make([]string, 0, len(tagged))
		for _, d := range tagged {
			cands = append(cands, FlowDeployment{names[d.FlowID], d.Name}.String())
		}
		sort.Strings(cands)
		return resolution{err: &AmbiguousDAGError{DAGID: id, Candidates: cands}}
	}
	if len(tagged) == 1 {
		return resolution{res: ResolvedDAG{DAGID: id, FlowName: names[tagged[0].FlowID], Deployment: tagged[0]}}
	}
	var found []ResolvedDAG
	for _, sp := range pairs {
		d, ok := byPair[sp]
		// A deployment reached by its canonical name but known under an alias answers to
		// the alias only, so that one DAG never shows up under two ids.
		if !ok || r.aliasOf(d, sp.flow) != id {
			continue
		}
		found = append(found, ResolvedDAG{DAGID: id, FlowName: sp.flow, Deployment: d})
	}
	switch len(found) {
	case 0:
		return resolution{err: ErrDAGNotFound}
	case 1:
		return resolution{res: found[0]}
	}
	cands := make([]string, 0, len(found))
	for _, f := range found {
		cands = append(cands, FlowDeployment{f.FlowName, f.Deployment.Name}.String())
	}
	sort.Strings(cands)
	return resolution{err: &AmbiguousDAGError{DAGID: id, Candidates: cands}}
}

// taggedDeployments finds the deployments tagged airflow-dag-id:<id> for each id: one call
// (tags all_ for one id, any_ for several). A page that comes back full may have left some
// out, so then each id is asked on its own (a Prefect holding that many such tags is not a
// case worth a cleverer plan, and the calls stay bounded by the ids).
func (r *Resolver) taggedDeployments(ctx context.Context, ids []string) (map[string][]wire.Deployment, error) {
	out := map[string][]wire.Deployment{}
	if len(ids) == 1 {
		limit := 2
		deps, err := r.client.FilterDeployments(ctx, wire.Query{
			Deployments: &wire.DeploymentFilter{Tags: &wire.TagMatch{All: []string{DAGTagPrefix + ids[0]}}},
			Limit:       &limit,
		})
		if err != nil {
			return nil, fmt.Errorf("look up deployments tagged %s%s: %w", DAGTagPrefix, ids[0], err)
		}
		if len(deps) > 0 {
			out[ids[0]] = deps
		}
		return out, nil
	}
	tags := make([]string, len(ids))
	want := make(map[string]bool, len(ids))
	for i, id := range ids {
		tags[i] = DAGTagPrefix + id
		want[id] = true
	}
	limit := MaxLimit
	deps, err := r.client.FilterDeployments(ctx, wire.Query{
		Deployments: &wire.DeploymentFilter{Tags: &wire.TagMatch{Any: tags}},
		Sort:        "CREATED_DESC",
		Limit:       &limit,
	})
	if err != nil {
		return nil, fmt.Errorf("look up deployments tagged with %d dag_ids: %w", len(ids), err)
	}
	if len(deps) == MaxLimit {
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			one, err := r.taggedDeployments(ctx, []string{id})
			if err != nil {
				return nil, err
			}
			for k, v := range one {
				out[k] = v
			}
		}
		return out, nil
	}
	for _, d := range deps {
		for _, t := range d.Tags {
			if id, ok := strings.CutPrefix(t, DAGTagPrefix); ok && want[id] {
				out[id] = append(out[id], d)
			}
		}
	}
	return out, nil
}

// deploymentsOfFlow reads the deployments of one flow among names (at most MaxLimit, which
// are unique within a flow, so one page holds every match).
func (r *Resolver) deploymentsOfFlow(ctx context.Context, flow, flowID string, names []string) ([]wire.Deployment, error) {
	if len(names) == 1 {
		d, err := r.client.ReadDeploymentByName(ctx, flow, names[0])
		switch {
		case err == nil:
			return []wire.Deployment{d}, nil
		case IsNotFound(err):
			return nil, nil
		}
		return nil, fmt.Errorf("read deployment %s/%s: %w", flow, names[0], err)
	}
	limit := len(names)
	deps, err := r.client.FilterDeployments(ctx, wire.Query{
		Flows:       &wire.FlowFilter{ID: &wire.AnyOf{Any: []string{flowID}}},
		Deployments: &wire.DeploymentFilter{Name: &wire.NameMatch{Any: names}},
		Limit:       &limit,
	})
	if err != nil {
		return nil, fmt.Errorf("read %d deployments of flow %s: %w", len(names), flow, err)
	}
	return deps, nil
}

func distinctFlows(pairs map[string][]splitPoint) []string {
	seen := map[string]bool{}
	var out []string
	for _, ps := range pairs {
		for _, p := range ps {
			if !seen[p.flow] {
				seen[p.flow] = true
				out = append(out, p.flow)
			}
		}
	}
	sort.Strings(out) // a stable request body, whatever the map order
	return out
}

// chunks cuts s into runs of at most n.
func chunks(s []string, n int) [][]string {
	var out [][]string
	for start := 0; start < len(s); start += n {
		out = append(out, s[start:min(start+n, len(s))])
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
