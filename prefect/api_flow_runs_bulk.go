package prefect

import (
	"context"
	"net/http"

	"airflow-prefect-gateway/prefect/wire"
)

// BulkDeleteLimit is the most flow runs one POST /flow_runs/bulk_delete removes
// (BULK_OPERATION_LIMIT in prefect/server/api/flow_runs.py, Prefect 3.6.16 and later).
const BulkDeleteLimit = 50

// BulkDeleteFlowRuns deletes up to limit flow runs matching filter and returns the ids it
// deleted. Repeatable: a repeat deletes what is left of the same filter.
func (c *Client) BulkDeleteFlowRuns(ctx context.Context, filter wire.FlowRunFilter, limit int) ([]string, error) {
	var out struct {
		Deleted []string `json:"deleted"`
	}
	body := map[string]any{"flow_runs": filter, "limit": limit}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flow_runs/bulk_delete", body: body, out: &out,
		endpoint: "flow_runs/bulk_delete", retry: true})
	return out.Deleted, err
}
