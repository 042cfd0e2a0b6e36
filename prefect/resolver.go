package prefect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
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
// are cached per upstream credential for a TTL, unknown ones for a shorter one; flow names,
// which Prefect never changes, are cached without expiry. Concurrent misses for the same key
// collapse into one resolution, which stops when no caller waits for it any longer.
type Resolver struct {
	client  *Client
	byDAG   *gocache.Cache // credential|dag_id → ResolvedDAG
	byDep   *gocache.Cache // credential|deployment id → ResolvedDAG, for listings across DAGs
	misses  *gocache.Cache // credential|dag_id → struct{}: no deployment answered to it
	flows   sync.Map       // credential|flow id → name
	group   singleflight.Group
	flight  flightGroup
	aliases map[string]FlowDeployment // dag_id → flow/deployment (config)
	reverse map[FlowDeployment]string // flow/deployment → dag_id (config)
	maxLen  int
	// Hits and Misses count cache lookups, for metrics and tests.
	stats CacheStats
}

// DefaultMaxDAGIDLength is Airflow's own bound on a dag_id (ID_LEN): a longer one names no
// DAG in Airflow, and here it is answered as unknown without asking Prefect.
const DefaultMaxDAGIDLength = 250

// DefaultMissTTL is how long an unknown dag_id is remembered as unknown.
const DefaultMissTTL = 5 * time.Second

// ResolverOption adjusts a Resolver.
type ResolverOption func(*Resolver)

// WithMissTTL sets how long an unknown dag_id is remembered as unknown (negative caching).
func WithMissTTL(d time.Duration) ResolverOption {
	return func(r *Resolver) {
		if d > 0 {
			r.misses = gocache.New(d, 2*d)
		}
	}
}

// WithMaxDAGIDLength sets the longest dag_id that is looked up in Prefect (aliases aside).
func WithMaxDAGIDLength(n int) ResolverOption {
	return func(r *Resolver) {
		if n > 0 {
			r.maxLen = n
		}
	}
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
func NewResolver(c *Client, ttl time.Duration, aliases map[string]string, opts ...ResolverOption) (*Resolver, error) {
	r := &Resolver{
		client:  c,
		byDAG:   gocache.New(ttl, 2*ttl),
		byDep:   gocache.New(ttl, 2*ttl),
		misses:  gocache.New(DefaultMissTTL, 2*DefaultMissTTL),
		aliases: map[string]FlowDeployment{},
		reverse: map[FlowDeployment]string{},
		maxLen:  DefaultMaxDAGIDLength,
		stats:   nopStats{},
	}
	for _, o := range opts {
		o(r)
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

// fromCache answers dagID without Prefect when it can: a cached DAG, a remembered miss, or
// an id no DAG can have (empty, or longer than the bound and not an alias).
func (r *Resolver) fromCache(key, dagID string) (resolution, bool) {
	if _, alias := r.aliases[dagID]; !alias && (dagID == "" || len(dagID) > r.maxLen) {
		return resolution{err: ErrDAGNotFound}, true
	}
	if v, ok := r.byDAG.Get(key); ok {
		r.stats.CacheHit("dag")
		return resolution{res: v.(ResolvedDAG)}, true
	}
	if _, ok := r.misses.Get(key); ok {
		r.stats.CacheHit("dag")
		return resolution{err: ErrDAGNotFound}, true
	}
	r.stats.CacheMiss("dag")
	return resolution{}, false
}

// Resolve finds the deployment behind dagID: a configured alias, then a deployment tagged
// airflow-dag-id:<dagID>, then the canonical "<flow>.<deployment>" at each '.' split point
// (resolver_batch.go says what that costs). A cache hit costs no Prefect call. Concurrent
// misses for one id share one resolution, which goes on while any of its callers waits and
// stops when the last one gives up; each caller waits no longer than its own context.
func (r *Resolver) Resolve(ctx context.Context, dagID string) (ResolvedDAG, error) {
	key := r.key(ctx, dagID)
	if o, ok := r.fromCache(key, dagID); ok {
		return o.res, o.err
	}
	v, err := r.flight.Do(ctx, key, r.client.timeout, func(fctx context.Context) (any, error) {
		out, err := r.resolveUncached(fctx, []string{dagID})
		if err != nil {
			return nil, err
		}
		return out[dagID], nil
	})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return ResolvedDAG{}, &Error{Kind: KindTimeout, Op: "resolve dag_id " + dagID, Message: "gave up waiting for Prefect", Err: err}
		}
		return ResolvedDAG{}, err
	}
	out := v.(resolution)
	return out.res, out.err
}

// ResolveMany resolves several dag_ids at once, sharing Prefect calls between them (one tag
// lookup per 100 ids, one flow lookup per 200 candidate names): what one batch costs grows
// with its distinct ids, never with their length, and stops when ctx ends. Unknown ids are
// absent from the map; an ambiguous id is an *AmbiguousDAGError.
func (r *Resolver) ResolveMany(ctx context.Context, dagIDs []string) (map[string]ResolvedDAG, error) {
	found := make(map[string]ResolvedDAG, len(dagIDs))
	var todo []string
	seen := make(map[string]bool, len(dagIDs))
	for _, id := range dagIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		o, ok := r.fromCache(r.key(ctx, id), id)
		switch {
		case !ok:
			todo = append(todo, id)
		case o.err == nil:
			found[id] = o.res
		case !errors.Is(o.err, ErrDAGNotFound):
			return nil, o.err
		}
	}
	if len(todo) == 0 {
		return found, nil
	}
	out, err := r.resolveUncached(ctx, todo)
	if err != nil {
		return nil, err
	}
	for _, id := range todo {
		switch o := out[id]; {
		case o.err == nil:
			found[id] = o.res
		case !errors.Is(o.err, ErrDAGNotFound):
			return nil, o.err
		}
	}
	return found, nil
}

// resolveUncached resolves distinct ids the caches could not answer, and caches the answers:
// DAGs for the TTL, unknown ids for the miss TTL.
func (r *Resolver) resolveUncached(ctx context.Context, ids []string) (map[string]resolution, error) {
	out := make(map[string]resolution, len(ids))
	var canonical []string
	for _, id := range ids {
		fd, ok := r.aliases[id]
		if !ok {
			canonical = append(canonical, id)
			continue
		}
		dep, err := r.client.ReadDeploymentByName(ctx, fd.Flow, fd.Deployment)
		switch {
		case err == nil:
			out[id] = resolution{res: ResolvedDAG{DAGID: id, FlowName: fd.Flow, Deployment: dep}}
		case IsNotFound(err):
			out[id] = resolution{err: ErrDAGNotFound}
		default:
			return nil, fmt.Errorf("read aliased deployment %s: %w", fd, err)
		}
	}
	if len(canonical) > 0 {
		batch, err := r.resolveBatch(ctx, canonical)
		if err != nil {
			return nil, err
		}
		for id, o := range batch {
			out[id] = o
		}
	}
	for id, o := range out {
		switch {
		case o.err == nil:
			r.Remember(ctx, o.res)
		case errors.Is(o.err, ErrDAGNotFound):
			r.misses.SetDefault(r.key(ctx, id), struct{}{})
		}
	}
	return out, nil
}

// Invalidate drops dagID from the cache, e.g. after Prefect answered 404 for its deployment
// or after a write that changed it.
func (r *Resolver) Invalidate(ctx context.Context, dagID string) {
	key := r.key(ctx, dagID)
	if v, ok := r.byDAG.Get(key); ok {
		r.byDep.Delete(r.key(ctx, v.(ResolvedDAG).Deployment.ID))
	}
	r.byDAG.Delete(key)
	r.misses.Delete(key)
}

// Remember caches a deployment read elsewhere (a listing), so that the next request for it
// costs nothing.
func (r *Resolver) Remember(ctx context.Context, res ResolvedDAG) {
	key := r.key(ctx, res.DAGID)
	r.byDAG.SetDefault(key, res)
	r.misses.Delete(key)
	r.byDep.SetDefault(r.key(ctx, res.Deployment.ID), res)
	r.flows.Store(r.key(ctx, res.Deployment.FlowID), res.FlowName)
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
func batches(ids []string) [][]string { return chunks(ids, MaxLimit) }

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
