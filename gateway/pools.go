package gateway

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// Pools (issue 15), /api/v1: Airflow's pool endpoints on Prefect global concurrency limits
// (translate/pools.go says why limits and not work pools; pools_store.go does the calls).
// Viewers read pools, as Airflow's Viewer role does; Op and Admin write them.
//
// Prefect calls:
//
//	GET    /pools          2, at once (the limits and the pool blocks; 1 more each per 200)
//	POST   /pools          1, or 2 with a description or include_deferred (+3 once per process)
//	GET    /pools/{name}   2 (the limit, then its block)
//	PATCH  /pools/{name}   2 reads, then a write of the limit and/or one of the block
//	DELETE /pools/{name}   2 reads, then the limit's delete (and the block's)

func (s *Server) registerPoolRoutes(g *echo.Group) {
	a := &poolAPI{s: s, store: poolStore{pc: s.prefect, types: s.blockTypes}}
	s.route(g, http.MethodGet, "/pools", a.list, RoleViewer)
	s.route(g, http.MethodPost, "/pools", a.post, RoleOp)
	s.route(g, http.MethodGet, "/pools/:pool_name", a.get, RoleViewer)
	s.route(g, http.MethodPatch, "/pools/:pool_name", a.patch, RoleOp)
	s.route(g, http.MethodDelete, "/pools/:pool_name", a.delete, RoleOp)
}

type poolAPI struct {
	s     *Server
	store poolStore
}

// v1Pool is Airflow's Pool object.
type v1Pool struct {
	Name            string  `json:"name"`
	Slots           int     `json:"slots"`
	OccupiedSlots   int     `json:"occupied_slots"`
	RunningSlots    int     `json:"running_slots"`
	QueuedSlots     int     `json:"queued_slots"`
	ScheduledSlots  int     `json:"scheduled_slots"`
	OpenSlots       int     `json:"open_slots"`
	DeferredSlots   int     `json:"deferred_slots"`
	Description     *string `json:"description"`
	IncludeDeferred bool    `json:"include_deferred"`
}

type v1PoolCollection struct {
	Pools        []v1Pool `json:"pools"`
	TotalEntries int      `json:"total_entries"`
}

func toV1Pool(p translate.Pool) v1Pool {
	return v1Pool{Name: p.Name, Slots: p.Slots, OccupiedSlots: p.Occupied, RunningSlots: p.Running,
		QueuedSlots: p.Queued, ScheduledSlots: p.Scheduled, OpenSlots: p.Open, DeferredSlots: p.Deferred,
		Description: p.Description, IncludeDeferred: p.IncludeDeferred}
}

func (a *poolAPI) list(c echo.Context) error {
	q := c.QueryParams()
	lq, err := translate.ParseListQuery(q.Get("limit"), q.Get("offset"), q.Get("order_by"), "id",
		translate.PoolOrderFields, a.s.opts.MaxPageLimit)
	if err != nil {
		return BadRequest("%s", err)
	}
	pools, created, err := a.store.list(c.Request().Context())
	if err != nil {
		return err
	}
	translate.SortPools(pools, created, lq.OrderBy)
	lo, hi := translate.PageBounds(len(pools), lq.Page)
	out := v1PoolCollection{Pools: make([]v1Pool, 0, hi-lo), TotalEntries: len(pools)}
	for _, p := range pools[lo:hi] {
		out.Pools = append(out.Pools, toV1Pool(p))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *poolAPI) get(c echo.Context) error {
	name := decodedPathParam(c, "pool_name")
	cur, err := a.store.get(c.Request().Context(), name)
	if err != nil {
		return poolProblem(err, name)
	}
	return c.JSON(http.StatusOK, toV1Pool(cur.Pool))
}

func (a *poolAPI) post(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	w, err := translate.ParsePoolBody(body, true)
	if err != nil {
		return badInputProblem(err)
	}
	p, err := a.store.create(c.Request().Context(), w)
	if err != nil {
		return poolProblem(err, w.Name)
	}
	return c.JSON(http.StatusOK, toV1Pool(p))
}

func (a *poolAPI) patch(c echo.Context) error {
	name := decodedPathParam(c, "pool_name")
	body, err := readBody(c)
	if err != nil {
		return err
	}
	w, err := translate.ParsePoolBody(body, false)
	if err != nil {
		return badInputProblem(err)
	}
	mask := translate.ParseUpdateMask(c.QueryParams()["update_mask"])
	if name == translate.DefaultPool {
		if _, err := translate.PoolPatch(name, body, w, mask); err != nil { // before the read, as Airflow
			return badInputProblem(err)
		}
	}
	ctx := c.Request().Context()
	cur, err := a.store.get(ctx, name)
	if err != nil {
		return poolProblem(err, name)
	}
	if w, err = translate.PoolPatch(name, body, w, mask); err != nil {
		return badInputProblem(err)
	}
	p, err := a.store.update(ctx, cur, w)
	if err != nil {
		return poolProblem(err, w.Name)
	}
	return c.JSON(http.StatusOK, toV1Pool(p))
}

func (a *poolAPI) delete(c echo.Context) error {
	name := decodedPathParam(c, "pool_name")
	if name == translate.DefaultPool {
		return BadRequest("Default Pool can't be deleted")
	}
	if err := a.store.delete(c.Request().Context(), name); err != nil {
		return poolProblem(err, name)
	}
	return c.NoContent(http.StatusNoContent)
}

// poolProblem words a pool failure as Airflow does.
func poolProblem(err error, name string) error {
	var ie *translate.InputError
	switch {
	case errors.Is(err, errPoolNotFound):
		return NotFound("", "Pool with name:'%s' not found", name)
	case errors.Is(err, errPoolExists):
		return Problemf(http.StatusConflict, "", "Pool: %s already exists", name)
	case errors.As(err, &ie):
		return badInputProblem(err)
	}
	return err
}
