package prefect

import (
	"context"
	"net/http"

	"airflow-prefect-gateway/prefect/wire"
)

// --- variables (Airflow variables) ---

// ReadVariable reads a variable by name (404 "Variable not found.").
func (c *Client) ReadVariable(ctx context.Context, name string) (wire.Variable, error) {
	var v wire.Variable
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/variables/name/" + esc(name), out: &v, endpoint: "variables/name/{name}", retry: true})
	return v, err
}

// FilterAllVariables reads every variable, newest first.
func (c *Client) FilterAllVariables(ctx context.Context) ([]wire.Variable, error) {
	return readAll(ctx, "variables", func(ctx context.Context, offset, limit int) ([]wire.Variable, error) {
		var out []wire.Variable
		q := wire.VariableQuery{Sort: "CREATED_DESC", Limit: &limit, Offset: offset}
		_, err := c.do(ctx, call{method: http.MethodPost, path: "/variables/filter", body: q, out: &out, endpoint: "variables/filter", retry: true})
		return out, err
	}, func(v wire.Variable) string { return v.ID })
}

// CreateVariable creates a variable; a variable of that name already there is a 409
// ("A variable with the name 'x' already exists."). Not repeated after an answer was lost:
// the repeat would meet the first attempt's variable and report a conflict that is not one.
func (c *Client) CreateVariable(ctx context.Context, body wire.VariableCreate) (wire.Variable, error) {
	var v wire.Variable
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/variables/", body: body, out: &v, endpoint: "variables"})
	return v, err
}

// UpdateVariable sets the given fields of a variable by name (Prefect answers 204).
func (c *Client) UpdateVariable(ctx context.Context, name string, body wire.VariableUpdate) error {
	_, err := c.do(ctx, call{method: http.MethodPatch, path: "/variables/name/" + esc(name), body: body, endpoint: "variables/name/{name}", retry: true})
	return err
}

// DeleteVariable deletes a variable by name.
func (c *Client) DeleteVariable(ctx context.Context, name string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/variables/name/" + esc(name), endpoint: "variables/name/{name}",
		retry: true, goneMeansDone: true})
	return err
}
