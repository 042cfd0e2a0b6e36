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
// A cache hit costs no Prefect call.
func (r *Resolver) Resolve(ctx context.Context, dagID string) (ResolvedDAG, error) {
	key := r.key(ctx, dagID)
	if v, ok := r.byDAG.Get(key); ok {
		r.stats.CacheHit("dag")
		return v.(ResolvedDAG), nil
	}
	r.stats.CacheMiss("dag")
	v, err, _ := r.group.Do(key, func() (any, error) {
		res, err := r.resolve(ctx, dagID)
		if err != nil {
			return nil, err
		}
		r.byDAG.SetDefault(key, res)
		r.flows.Store(r.key(ctx, res.Deployment.FlowID), res.FlowName)
		return res, nil
	})
	if err != nil {
		return ResolvedDAG{}, err
	}
	return v.(ResolvedDAG), nil
}

// Invalidate drops dagID from the cache, e.g. after Prefect answered 404 for its deployment
// or after a write that changed it.
func (r *Resolver) Invalidate(ctx context.Context, dagID string) {
	r.byDAG.Delete(r.key(ctx, dagID))
}

// Remember caches a deployment read elsewhere (a listing), so that the next request for it
// costs nothing.
func (r *Resolver) Remember(ctx context.Context, res ResolvedDAG) {
	r.byDAG.SetDefault(r.key(ctx, res.DAGID), res)
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

	// A deployment that declares this id by tag.
	limit := 2
	tagged, err := r.client.FilterDeployments(ctx, wire.Query{
		Deployments: &wire.DeploymentFilter{Tags: &wire.TagMatch{All: []string{DAGTagPrefix + dagID}}},
		Limit:       &limit,
	})
	if err != nil {
		return ResolvedDAG{}, fmt.Errorf("look up deployments tagged %s%s: %w", DAGTagPrefix, dagID, err)
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

	// Canonical "<flow>.<deployment>": try every split point; more than one hit is ambiguous.
	var found []ResolvedDAG
	for i := len(dagID) - 1; i > 0; i-- {
		if dagID[i] != '.' || i == len(dagID)-1 {
			continue
		}
		flow, dep := dagID[:i], dagID[i+1:]
		if strings.Contains(flow, "/") || strings.Contains(dep, "/") {
			continue
		}
		d, err := r.client.ReadDeploymentByName(ctx, flow, dep)
		if err != nil {
			if IsNotFound(err) {
				continue
			}
			return ResolvedDAG{}, fmt.Errorf("read deployment %s/%s: %w", flow, dep, err)
		}
		// A deployment reached by its canonical name but known under an alias answers to
		// the alias only, so that one DAG never shows up under two ids.
		if alias := r.aliasOf(d, flow); alias != dagID {
			continue
		}
		found = append(found, ResolvedDAG{DAGID: dagID, FlowName: flow, Deployment: d})
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

// Aliases returns the configured dag_id → flow/deployment map.
func (r *Resolver) Aliases() map[string]FlowDeployment { return r.aliases }

// FlowName returns a flow's name, cached forever (flow names never change in Prefect).
func (r *Resolver) FlowName(ctx context.Context, flowID string) (string, error) {
	names, err := r.FlowNames(ctx, []string{flowID})
	if err != nil {
		return "", err
	}
	name, ok := names[flowID]
	if !ok {
		return "", &Error{Kind: KindNotFound, Op: "flow " + flowID, Message: "Flow not found"}
	}
	return name, nil
}

// FlowNames returns the names of the given flows, reading the uncached ones in one call.
func (r *Resolver) FlowNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if v, ok := r.flows.Load(r.key(ctx, id)); ok {
			r.stats.CacheHit("flow")
			out[id] = v.(string)
			continue
		}
		r.stats.CacheMiss("flow")
		missing = append(missing, id)
	}
	for start := 0; start < len(missing); start += MaxLimit {
		end := min(start+MaxLimit, len(missing))
		batch := missing[start:end]
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

func flowIDs(ds []wire.Deployment) []string {
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.FlowID)
	}
	return ids
}
