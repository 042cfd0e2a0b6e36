package prefect

import (
	"context"
	"net/http"

	"airflow-prefect-gateway/prefect/wire"
)

// --- global concurrency limits (Airflow pools) ---

// ReadConcurrencyLimit reads a global concurrency limit by id or name (404 "Concurrency Limit
// not found"). Prefect reads a UUID-shaped value as an id.
func (c *Client) ReadConcurrencyLimit(ctx context.Context, idOrName string) (wire.GlobalConcurrencyLimit, error) {
	var l wire.GlobalConcurrencyLimit
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v2/concurrency_limits/" + esc(idOrName), out: &l,
		endpoint: "v2/concurrency_limits/{id_or_name}", retry: true})
	return l, err
}

// FilterAllConcurrencyLimits reads every global concurrency limit, by name.
func (c *Client) FilterAllConcurrencyLimits(ctx context.Context) ([]wire.GlobalConcurrencyLimit, error) {
	return readAll(ctx, "concurrency limits", func(ctx context.Context, offset, limit int) ([]wire.GlobalConcurrencyLimit, error) {
		var out []wire.GlobalConcurrencyLimit
		_, err := c.do(ctx, call{method: http.MethodPost, path: "/v2/concurrency_limits/filter", body: wire.PageQuery{Limit: &limit, Offset: offset},
			out: &out, endpoint: "v2/concurrency_limits/filter", retry: true})
		return out, err
	}, func(l wire.GlobalConcurrencyLimit) string { return l.ID })
}

// CreateConcurrencyLimit creates a limit (409 when the name is taken). Not repeated after
// a lost answer, which would turn into a false conflict.
func (c *Client) CreateConcurrencyLimit(ctx context.Context, body wire.ConcurrencyLimitCreate) (wire.GlobalConcurrencyLimit, error) {
	var l wire.GlobalConcurrencyLimit
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v2/concurrency_limits/", body: body, out: &l, endpoint: "v2/concurrency_limits"})
	return l, err
}

// UpdateConcurrencyLimit sets the given fields of the limit id (204).
func (c *Client) UpdateConcurrencyLimit(ctx context.Context, id string, body wire.ConcurrencyLimitUpdate) error {
	_, err := c.do(ctx, call{method: http.MethodPatch, path: "/v2/concurrency_limits/" + esc(id), body: body,
		endpoint: "v2/concurrency_limits/{id_or_name}", retry: true})
	return err
}

// DeleteConcurrencyLimit deletes the limit id.
func (c *Client) DeleteConcurrencyLimit(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/v2/concurrency_limits/" + esc(id),
		endpoint: "v2/concurrency_limits/{id_or_name}", retry: true, goneMeansDone: true})
	return err
}
