package gateway

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// poolStore is what every API generation does with Airflow pools on Prefect: global
// concurrency limits, with a pool's description and include_deferred in a block document of
// the gateway's "airflow-pool" type named after the limit's id (translate/pools.go).
//
// Prefect calls: list 2 (the limits and the pool blocks, at once; 1 more each per 200);
// get 2 (the limit, then its block); create 1, or 2 with a description or include_deferred
// (+3 once per process to register the block type); update 2 reads and up to 2 writes;
// delete 2 reads and up to 2 deletes.
type poolStore struct {
	pc    *prefect.Client
	types *prefect.BlockTypes
}

var (
	errPoolNotFound = errors.New("pool not found")
	errPoolExists   = errors.New("pool already exists")
)

var poolBlockType = prefect.BlockTypeSpec{
	Name: "Airflow Pool Details", Slug: translate.PoolBlockSlug,
	Description: "The description and include_deferred of an Apache Airflow pool whose slots are a Prefect global concurrency limit (kept by airflow-prefect-gateway).",
	Fields:      translate.PoolBlockFields(),
}

// storedPool is a pool and the Prefect objects behind it; limit is nil for the virtual
// default_pool, details nil when the pool has no block.
type storedPool struct {
	translate.Pool
	limit   *wire.GlobalConcurrencyLimit
	details *wire.BlockDocument
}

var uuidShaped = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

func (st poolStore) list(ctx context.Context) ([]translate.Pool, []int64, error) {
	var limits []wire.GlobalConcurrencyLimit
	var blocks []wire.BlockDocument
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { limits, err = st.pc.FilterAllConcurrencyLimits(gctx); return err })
	g.Go(func() (err error) {
		blocks, err = st.pc.FilterAllBlockDocuments(gctx, translate.PoolBlockSlug)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	details := map[string]translate.PoolDetails{}
	for _, b := range blocks {
		details[b.Name] = translate.PoolDetailsFromBlock(b)
	}
	pools, created := make([]translate.Pool, 0, len(limits)+1), make([]int64, 0, len(limits)+1)
	hasDefault := false
	for _, l := range limits {
		hasDefault = hasDefault || l.Name == translate.DefaultPool
		pools = append(pools, translate.PoolFromLimit(l, details[l.ID]))
		var c int64
		if l.Created != nil {
			c = l.Created.UnixNano()
		}
		created = append(created, c)
	}
	if !hasDefault {
		pools = append(pools, translate.VirtualDefaultPool())
		created = append(created, -1<<63) // Airflow's first pool
	}
	return pools, created, nil
}

// readLimit reads the limit named name. Prefect reads a UUID-shaped path value as an id, so
// such names are looked up in the listing instead.
func (st poolStore) readLimit(ctx context.Context, name string) (*wire.GlobalConcurrencyLimit, error) {
	if uuidShaped.MatchString(name) {
		all, err := st.pc.FilterAllConcurrencyLimits(ctx)
		if err != nil {
			return nil, err
		}
		for i := range all {
			if all[i].Name == name {
				return &all[i], nil
			}
		}
		return nil, nil
	}
	l, err := st.pc.ReadConcurrencyLimit(ctx, name)
	if prefect.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}

func (st poolStore) get(ctx context.Context, name string) (storedPool, error) {
	l, err := st.readLimit(ctx, name)
	if err != nil {
		return storedPool{}, fmt.Errorf("read pool %q: %w", name, err)
	}
	if l == nil {
		if name == translate.DefaultPool {
			return storedPool{Pool: translate.VirtualDefaultPool()}, nil
		}
		return storedPool{}, errPoolNotFound
	}
	out := storedPool{limit: l}
	b, err := st.pc.ReadBlockDocument(ctx, translate.PoolBlockSlug, l.ID)
	switch {
	case err == nil:
		out.details = &b
	case !prefect.IsNotFound(err):
		return storedPool{}, fmt.Errorf("read pool %q details: %w", name, err)
	}
	var d translate.PoolDetails
	if out.details != nil {
		d = translate.PoolDetailsFromBlock(*out.details)
	}
	out.Pool = translate.PoolFromLimit(*l, d)
	return out, nil
}

func (st poolStore) create(ctx context.Context, w translate.PoolWrite) (translate.Pool, error) {
	if w.Name == translate.DefaultPool {
		return translate.Pool{}, errPoolExists // always there, as in Airflow
	}
	return st.make(ctx, w.Name, w.Slots, translate.PoolDetails{Description: w.Description, IncludeDeferred: w.IncludeDeferred})
}

// make creates the limit of a pool and, when they are not the defaults, its details.
func (st poolStore) make(ctx context.Context, name string, slots int, d translate.PoolDetails) (translate.Pool, error) {
	if err := translate.ValidatePoolName(name); err != nil {
		return translate.Pool{}, err
	}
	limit, active, err := translate.LimitOf(slots)
	if err != nil {
		return translate.Pool{}, err
	}
	l, err := st.pc.CreateConcurrencyLimit(ctx, wire.ConcurrencyLimitCreate{Name: name, Limit: limit, Active: active})
	if prefect.IsConflict(err) {
		return translate.Pool{}, errPoolExists
	}
	if err != nil {
		return translate.Pool{}, fmt.Errorf("create pool %q: %w", name, err)
	}
	if d.Description != nil || d.IncludeDeferred {
		if err := st.writeDetails(ctx, l.ID, nil, d); err != nil {
			// Undo the limit, so that a refused create leaves nothing behind.
			if derr := st.pc.DeleteConcurrencyLimit(context.WithoutCancel(ctx), l.ID); derr != nil {
				err = errors.Join(err, fmt.Errorf("and removing the new limit failed: %w", derr))
			}
			return translate.Pool{}, err
		}
	}
	return translate.PoolFromLimit(l, d), nil
}

// writeDetails creates or updates the pool block of the limit id.
func (st poolStore) writeDetails(ctx context.Context, limitID string, cur *wire.BlockDocument, d translate.PoolDetails) error {
	data := map[string]any{"description": d.Description, "include_deferred": d.IncludeDeferred}
	if cur != nil {
		if err := st.pc.UpdateBlockDocument(ctx, cur.ID, wire.BlockDocumentUpdate{Data: data, MergeExistingData: true}); err != nil {
			return fmt.Errorf("write pool details: %w", err)
		}
		return nil
	}
	for attempt := 0; ; attempt++ {
		reg, err := st.types.Ensure(ctx, poolBlockType)
		if err != nil {
			return fmt.Errorf("register the %s block type: %w", translate.PoolBlockSlug, err)
		}
		_, err = st.pc.CreateBlockDocument(ctx, wire.BlockDocumentCreate{Name: limitID, Data: data, BlockSchemaID: reg.SchemaID, BlockTypeID: reg.TypeID})
		if prefect.IsConflict(err) && !prefect.IsBlockNameTaken(err) && attempt == 0 {
			st.types.Forget(translate.PoolBlockSlug)
			continue
		}
		if err != nil {
			return fmt.Errorf("write pool details: %w", err)
		}
		return nil
	}
}

// update writes w's fields over cur and returns the pool as it now is.
func (st poolStore) update(ctx context.Context, cur storedPool, w translate.PoolWrite) (translate.Pool, error) {
	set := func(f string) bool { return containsField(w.Set, f) }
	p := cur.Pool
	d := translate.PoolDetails{Description: p.Description, IncludeDeferred: p.IncludeDeferred}
	if set("description") {
		d.Description = w.Description
	}
	if set("include_deferred") {
		d.IncludeDeferred = w.IncludeDeferred
	}
	detailsChange := (set("description") || set("include_deferred")) &&
		(cur.details != nil || d.Description != nil || d.IncludeDeferred)
	if cur.limit == nil { // the virtual default_pool: writing it makes the limit
		slots := -1
		if set("slots") {
			slots = w.Slots
		}
		return st.make(ctx, translate.DefaultPool, slots, d)
	}
	var body wire.ConcurrencyLimitUpdate
	if set("name") && w.Name != cur.limit.Name {
		if err := translate.ValidatePoolName(w.Name); err != nil {
			return translate.Pool{}, err
		}
		body.Name = &w.Name
	}
	if set("slots") {
		limit, active, err := translate.LimitOf(w.Slots)
		if err != nil {
			return translate.Pool{}, err
		}
		if active {
			body.Limit = &limit
		}
		body.Active = &active
	}
	if detailsChange {
		if err := st.writeDetails(ctx, cur.limit.ID, cur.details, d); err != nil {
			return translate.Pool{}, err
		}
	}
	if body.Name != nil || body.Limit != nil || body.Active != nil {
		err := st.pc.UpdateConcurrencyLimit(ctx, cur.limit.ID, body)
		switch {
		case prefect.IsConflict(err):
			return translate.Pool{}, errPoolExists
		case prefect.IsNotFound(err):
			return translate.Pool{}, errPoolNotFound
		case err != nil:
			return translate.Pool{}, fmt.Errorf("update pool %q: %w", cur.Name, err)
		}
	}
	l := *cur.limit
	if body.Name != nil {
		l.Name = *body.Name
	}
	if body.Limit != nil {
		l.Limit = *body.Limit
	}
	if body.Active != nil {
		l.Active = *body.Active
	}
	return translate.PoolFromLimit(l, d), nil
}

func (st poolStore) delete(ctx context.Context, name string) error {
	cur, err := st.get(ctx, name)
	if err != nil {
		return err
	}
	if cur.limit == nil {
		return errPoolNotFound
	}
	err = st.pc.DeleteConcurrencyLimit(ctx, cur.limit.ID)
	if prefect.IsNotFound(err) {
		return errPoolNotFound
	}
	if err != nil {
		return fmt.Errorf("delete pool %q: %w", name, err)
	}
	if cur.details != nil {
		// The pool is gone with its limit; a block left by a failure here names a limit id
		// that no longer exists and is never read again.
		_ = st.pc.DeleteBlockDocument(ctx, cur.details.ID)
	}
	return nil
}

func containsField(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
