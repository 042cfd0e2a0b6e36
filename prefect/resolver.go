package prefect

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"airflow-prefect-gateway/prefect/wire"
)

// DAGTagPrefix is the deployment tag that declares a deployment's Airflow dag_id from the
// Prefect side: "airflow-dag-id:legacy_etl".
const DAGTagPrefix = "airflow-dag-id:"

// ErrDAGNotFound is returned by Resolve when no deployment answers to a dag_id.
var ErrDAGNotFound = errors.New("DAG not found")

// AmbiguousDAGError is returned when a dag_id names more than one deployment.
type AmbiguousDAGError struct {
	DAGID      string
	Candidates []string // "flow/deployment"
}

func (e *AmbiguousDAGError) Error() string {
	return fmt.Sprintf("dag_id %q matches more than one deployment: %s", e.DAGID, strings.Join(e.Candidates, ", "))
}

// ResolvedDAG is a deployment together with the names that make its dag_id.
type ResolvedDAG struct {
	DAGID      string
	FlowName   string
	Deployment wire.Deployment
}

// FlowDeployment names a deployment by its flow's and its own name.
type FlowDeployment struct{ Flow, Deployment string }

func (fd FlowDeployment) String() string { return fd.Flow + "/" + fd.Deployment }

// ParseFlowDeployment reads "flow/deployment".
func ParseFlowDeployment(s string) (FlowDeployment, error) {
	flow, dep, ok := strings.Cut(s, "/")
	if !ok || flow == "" || dep == "" || strings.Contains(dep, "/") {
		return FlowDeployment{}, fmt.Errorf("%q is not of the form flow/deployment", s)
	}
	return FlowDeployment{Flow: flow, Deployment: dep}, nil
}

// Resolver maps Airflow dag_ids to Prefect deployments and back (DESIGN §3). Resolved ids
// are cached per upstream credential for a TTL; flow names, which Prefect never changes,
// are cached without expiry. Concurrent misses for the same key collapse into one call.
type Resolver struct {
	client  *Client
	byDAG   *gocache.Cache // credential|dag_id → ResolvedDAG
	byDep   *gocache.Cache // credential|deployment id → ResolvedDAG, for listings across DAGs
	flows   sync.Map       // credential|flow id → name
	group   singleflight.Group
	aliases map[string]FlowDeployment // dag_id → flow/deployment (config)
	reverse map[FlowDeployment]string // flow/deployment → dag_id (config)
	// Hits and Misses count cache lookups, for metrics and tests.
	stats CacheStats
}

// CacheStats are read by /metrics.
type CacheStats interface {
	CacheHit(cache string)
	CacheMiss(cache string)
}

type nopStats struct{}

func (nopStats) CacheHit(string)  {}
func (nopStats) CacheMiss(string) {}

// NewResolver builds a resolver. aliases maps dag_id → "flow/deployment".
func NewResolver(c *Client, ttl time.Duration, aliases map[string]string) (*Resolver, error) {
	r := &Resolver{
		client:  c,
		byDAG:   gocache.New(ttl, 2*ttl),
		byDep:   gocache.New(ttl, 2*ttl),
		aliases: map[string]FlowDeployment{},
		reverse: map[FlowDeployment]string{},
		stats:   nopStats{},
	}
	for dagID, target := range aliases {
		fd, err := ParseFlowDeployment(target)
		if err != nil {
			return nil, fmt.Errorf("dag alias %q: %w", dagID, err)
		}
		if prev, dup := r.reverse[fd]; dup {
			return nil, fmt.Errorf("dag aliases %q and %q both name %s", prev, dagID, fd)
		}
		r.aliases[dagID] = fd
		r.reverse[fd] = dagID
	}
	return r, nil
}

// SetStats wires cache hit/miss counting.
func (r *Resolver) SetStats(s CacheStats) {
	if s != nil {
		r.stats = s
	}
}

func (r *Resolver) key(ctx context.Context, id string) string {
	return r.client.CredentialFor(ctx).Fingerprint() + "|" + id
}

// Resolve finds the deployment behind dagID: a configured alias, then a deployment tagged
// airflow-dag-id:<dagID>, then the canonical "<flow>.<deployment>" at each '.' split point.
// A cache hit costs no Prefect call. Concurrent misses for one id share one resolution,
// which runs to its end even when the request that started it gives up, so that the others
// (and the cache) still get its answer; each caller waits no longer than its own context.
func (r *Resolver) Resolve(ctx context.Context, dagID string) (ResolvedDAG, error) {
	key := r.key(ctx, dagID)
	if v, ok := r.byDAG.Get(key); ok {
		r.stats.CacheHit("dag")
		return v.(ResolvedDAG), nil
	}
	r.stats.CacheMiss("dag")
	// The lookup is shared by every concurrent caller, so it outlives the one that started
	// it; it is still bounded, so a hung Prefect cannot keep it running in the background.
	ch := r.group.DoChan(key, func() (any, error) {
		shared, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.client.timeout)
		defer cancel()
		res, err := r.resolve(shared, dagID)
		if err != nil {
			return nil, err
		}
		r.Remember(shared, res)
		return res, nil
	})
	select {
	case <-ctx.Done():
		return ResolvedDAG{}, &Error{Kind: KindTimeout, Op: "resolve dag_id " + dagID, Message: "gave up waiting for Prefect", Err: ctx.Err()}
	case out := <-ch:
		if out.Err != nil {
			return ResolvedDAG{}, out.Err
		}
		return out.Val.(ResolvedDAG), nil
	}
}

// Invalidate drops dagID from the cache, e.g. after Prefect answered 404 for its deployment
// or after a write that changed it.
func (r *Resolver) Invalidate(ctx context.Context, dagID string) {
	key := r.key(ctx, dagID)
	if v, ok := r.byDAG.Get(key); ok {
		r.byDep.Delete(r.key(ctx, v.(ResolvedDAG).Deployment.ID))
	}
	r.byDAG.Delete(key)
}

// Remember caches a deployment read elsewhere (a listing), so that the next request for it
// costs nothing.
func (r *Resolver) Remember(ctx context.Context, res ResolvedDAG) {
	r.byDAG.SetDefault(r.key(ctx, res.DAGID), res)
	r.byDep.SetDefault(r.key(ctx, res.Deployment.ID), res)
	r.flows.Store(r.key(ctx, res.Deployment.FlowID), res.FlowName)
}

func (r *Resolver) resolve(ctx context.Context, dagID string) (ResolvedDAG, error) {
	if dagID == "" {
		return ResolvedDAG{}, ErrDAGNotFound
	}
	if fd, ok := r.aliases[dagID]; ok {
		dep, err := r.client.ReadDeploymentByName(ctx, fd.Flow, fd.Deployment)
		if err != nil {
			if IsNotFound(err) {
				return ResolvedDAG{}, ErrDAGNotFound
			}
			return ResolvedDAG{}, fmt.Errorf("read aliased deployment %s: %w", fd, err)
		}
		return ResolvedDAG{DAGID: dagID, FlowName: fd.Flow, Deployment: dep}, nil
	}

	// The tag lookup and every canonical split point are independent reads: ask them all at
	// once, then apply the precedence (a tag wins over a canonical name).
	type candidate struct {
		flow, dep string
		found     *wire.Deployment
	}
	var cands []*candidate
	for i := len(dagID) - 1; i > 0; i-- {
		if dagID[i] != '.' || i == len(dagID)-1 {
			continue
		}
		flow, dep := dagID[:i], dagID[i+1:]
		if strings.Contains(flow, "/") || strings.Contains(dep, "/") {
			continue
		}
		cands = append(cands, &candidate{flow: flow, dep: dep})
	}
	var tagged []wire.Deployment
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		limit := 2
		var err error
		tagged, err = r.client.FilterDeployments(gctx, wire.Query{
			Deployments: &wire.DeploymentFilter{Tags: &wire.TagMatch{All: []string{DAGTagPrefix + dagID}}},
			Limit:       &limit,
		})
		if err != nil {
			return fmt.Errorf("look up deployments tagged %s%s: %w", DAGTagPrefix, dagID, err)
		}
		return nil
	})
	for _, c := range cands {
		g.Go(func() error {
			d, err := r.client.ReadDeploymentByName(gctx, c.flow, c.dep)
			switch {
			case err == nil:
				c.found = &d
			case !IsNotFound(err):
				return fmt.Errorf("read deployment %s/%s: %w", c.flow, c.dep, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return ResolvedDAG{}, err
	}

	if len(tagged) > 0 {
		names, err := r.FlowNames(ctx, flowIDs(tagged))
		if err != nil {
			return ResolvedDAG{}, err
		}
		if len(tagged) > 1 {
			cands := make([]string, 0, len(tagged))
			for _, d := range tagged {
				cands = append(cands, FlowDeployment{names[d.FlowID], d.Name}.String())
			}
			sort.Strings(cands)
			return ResolvedDAG{}, &AmbiguousDAGError{DAGID: dagID, Candidates: cands}
		}
		return ResolvedDAG{DAGID: dagID, FlowName: names[tagged[0].FlowID], Deployment: tagged[0]}, nil
	}

	// Canonical "<flow>.<deployment>": more than one split point that names a deployment
	// is ambiguous.
	var found []ResolvedDAG
	for _, c := range cands {
		if c.found == nil {
			continue
		}
		// A deployment reached by its canonical name but known under an alias answers to
		// the alias only, so that one DAG never shows up under two ids.
		if alias := r.aliasOf(*c.found, c.flow); alias != dagID {
			continue
		}
		found = append(found, ResolvedDAG{DAGID: dagID, FlowName: c.flow, Deployment: *c.found})
	}
	switch len(found) {
	case 0:
		return ResolvedDAG{}, ErrDAGNotFound
	case 1:
		return found[0], nil
	default:
		cands := make([]string, 0, len(found))
		for _, f := range found {
			cands = append(cands, FlowDeployment{f.FlowName, f.Deployment.Name}.String())
		}
		sort.Strings(cands)
		return ResolvedDAG{}, &AmbiguousDAGError{DAGID: dagID, Candidates: cands}
	}
}

// DAGID is the dag_id a deployment answers to: its configured alias, else the id its
// airflow-dag-id tag declares, else "<flow>.<deployment>".
func (r *Resolver) DAGID(d wire.Deployment, flowName string) string {
	return r.aliasOf(d, flowName)
}

func (r *Resolver) aliasOf(d wire.Deployment, flowName string) string {
	if alias, ok := r.reverse[FlowDeployment{flowName, d.Name}]; ok {
		return alias
	}
	for _, t := range d.Tags {
		if id, ok := strings.CutPrefix(t, DAGTagPrefix); ok && id != "" {
			return id
		}
	}
	return flowName + "." + d.Name
}

// FlowNames returns the names of the given flows, reading the uncached ones in one call
// per 200.
func (r *Resolver) FlowNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	missing := r.cachedOrMissing(ids, "flow", func(id string) bool {
		v, ok := r.flows.Load(r.key(ctx, id))
		if ok {
			out[id] = v.(string)
		}
		return ok
	})
	for _, batch := range batches(missing) {
		limit := len(batch)
		key := "flows|" + r.key(ctx, strings.Join(batch, ","))
		v, err, _ := r.group.Do(key, func() (any, error) {
			return r.client.FilterFlows(ctx, wire.Query{Flows: &wire.FlowFilter{ID: &wire.AnyOf{Any: batch}}, Limit: &limit})
		})
		if err != nil {
			return nil, fmt.Errorf("read flow names: %w", err)
		}
		for _, f := range v.([]wire.Flow) {
			r.flows.Store(r.key(ctx, f.ID), f.Name)
			out[f.ID] = f.Name
		}
	}
	return out, nil
}

// cachedOrMissing walks ids once each (empty ids skipped), counting a hit for every id cached
// answers (it fills the caller's result) and returning the others, which need Prefect.
func (r *Resolver) cachedOrMissing(ids []string, cache string, cached func(id string) bool) []string {
	var missing []string
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if cached(id) {
			r.stats.CacheHit(cache)
			continue
		}
		r.stats.CacheMiss(cache)
		missing = append(missing, id)
	}
	return missing
}

// batches cuts ids into runs of at most MaxLimit, one Prefect filter call each.
func batches(ids []string) [][]string {
	var out [][]string
	for start := 0; start < len(ids); start += MaxLimit {
		out = append(out, ids[start:min(start+MaxLimit, len(ids))])
	}
	return out
}

func flowIDs(ds []wire.Deployment) []string {
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.FlowID)
	}
	return ids
}

// ByDeploymentIDs returns the DAG of each of the given deployments: cached ones for free,
// the others read in one call per 200 (plus their flow names, which are cached forever).
// Deployments Prefect no longer has are absent from the map.
func (r *Resolver) ByDeploymentIDs(ctx context.Context, ids []string) (map[string]ResolvedDAG, error) {
	out := make(map[string]ResolvedDAG, len(ids))
	missing := r.cachedOrMissing(ids, "deployment", func(id string) bool {
		v, ok := r.byDep.Get(r.key(ctx, id))
		if ok {
			out[id] = v.(ResolvedDAG)
		}
		return ok
	})
	for _, batch := range batches(missing) {
		limit := len(batch)
		deps, err := r.client.FilterDeployments(ctx, wire.Query{Deployments: &wire.DeploymentFilter{ID: &wire.AnyOf{Any: batch}}, Limit: &limit})
		if err != nil {
			return nil, fmt.Errorf("read deployments by id: %w", err)
		}
		resolved, err := r.resolveAll(ctx, deps)
		if err != nil {
			return nil, err
		}
		for _, res := range resolved {
			out[res.Deployment.ID] = res
		}
	}
	return out, nil
}

// All lists every deployment with its dag_id (FilterAllDeployments, plus the uncached flow
// names), for callers that must know every DAG, such as a user limited to some DAGs.
func (r *Resolver) All(ctx context.Context) ([]ResolvedDAG, error) {
	deps, err := r.client.FilterAllDeployments(ctx, nil)
	if err != nil {
		return nil, err
	}
	return r.resolveAll(ctx, deps)
}

// resolveAll names deployments read in a listing and remembers them.
func (r *Resolver) resolveAll(ctx context.Context, deps []wire.Deployment) ([]ResolvedDAG, error) {
	if len(deps) == 0 {
		return nil, nil
	}
	names, err := r.FlowNames(ctx, flowIDs(deps))
	if err != nil {
		return nil, err
	}
	out := make([]ResolvedDAG, 0, len(deps))
	for _, d := range deps {
		flow, ok := names[d.FlowID]
		if !ok {
			continue // its flow is gone: the deployment is being deleted with it
		}
		res := ResolvedDAG{DAGID: r.DAGID(d, flow), FlowName: flow, Deployment: d}
		r.Remember(ctx, res)
		out = append(out, res)
	}
	return out, nil
}
