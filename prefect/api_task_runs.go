package prefect

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"airflow-prefect-gateway/prefect/wire"
)

// Task runs, their states, logs and artifacts: what Airflow's task instances, logs and
// XComs are read from.

func checkLimit(op string, limit *int) error {
	if limit != nil && (*limit < 0 || *limit > MaxLimit) {
		return &Error{Kind: KindInvalid, Op: op, Message: fmt.Sprintf("limit %d is outside Prefect's 0..%d", *limit, MaxLimit)}
	}
	return nil
}

// FilterFlowRunDetails is FilterFlowRuns with every label and the infrastructure id kept.
func (c *Client) FilterFlowRunDetails(ctx context.Context, q wire.Query) ([]wire.FlowRunDetail, error) {
	if err := checkLimit("POST /flow_runs/filter", q.Limit); err != nil {
		return nil, err
	}
	var out []wire.FlowRunDetail
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flow_runs/filter", body: q, out: &out, endpoint: "flow_runs/filter", retry: true})
	for i := range out {
		out[i] = out[i].WithLabels()
	}
	return out, err
}

// PaginateTaskRuns reads one page of task runs and the count of every match in one call
// (POST /task_runs/paginate). page is 1-based in units of q.Limit; q.Offset must be 0.
func (c *Client) PaginateTaskRuns(ctx context.Context, q wire.Query, page int) ([]wire.TaskRun, int, error) {
	if q.Limit == nil || *q.Limit < 1 || *q.Limit > MaxLimit || q.Offset != 0 || page < 1 {
		return nil, 0, &Error{Kind: KindInvalid, Op: "POST /task_runs/paginate", Message: "paginate needs 1 <= limit <= 200, page >= 1 and no offset"}
	}
	body := struct {
		wire.Query
		Page int `json:"page"`
	}{q, page}
	var out struct {
		Results []wire.TaskRun `json:"results"`
		Count   int            `json:"count"`
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/task_runs/paginate", body: body, out: &out, endpoint: "task_runs/paginate", retry: true})
	return out.Results, out.Count, err
}

// ReadTaskRunStates is a task run's state history, oldest first (GET /task_run_states/).
func (c *Client) ReadTaskRunStates(ctx context.Context, taskRunID string) ([]wire.State, error) {
	var out []wire.State
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/task_run_states/", query: url.Values{"task_run_id": {taskRunID}},
		out: &out, endpoint: "task_run_states", retry: true})
	return out, err
}

// SetTaskRunState proposes a state for a task run. Orchestration refusals are not errors
// here: read result.Status.
func (c *Client) SetTaskRunState(ctx context.Context, id string, state wire.StateCreate, force bool) (wire.OrchestrationResult, error) {
	var res wire.OrchestrationResult
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/task_runs/" + esc(id) + "/set_state",
		body: map[string]any{"state": state, "force": force}, out: &res, endpoint: "task_runs/{id}/set_state"})
	return res, err
}

// FilterLogs reads log lines (POST /logs/filter).
func (c *Client) FilterLogs(ctx context.Context, q wire.LogQuery) ([]wire.Log, error) {
	if err := checkLimit("POST /logs/filter", q.Limit); err != nil {
		return nil, err
	}
	var out []wire.Log
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/logs/filter", body: q, out: &out, endpoint: "logs/filter", retry: true})
	return out, err
}

// CreateLogs writes log lines (POST /logs/; used to seed tests and benchmarks).
func (c *Client) CreateLogs(ctx context.Context, logs []map[string]any) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/logs/", body: logs, endpoint: "logs"})
	return err
}

// FilterArtifacts reads artifacts (POST /artifacts/filter).
func (c *Client) FilterArtifacts(ctx context.Context, q wire.ArtifactQuery) ([]wire.Artifact, error) {
	if err := checkLimit("POST /artifacts/filter", q.Limit); err != nil {
		return nil, err
	}
	var out []wire.Artifact
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/artifacts/filter", body: q, out: &out, endpoint: "artifacts/filter", retry: true})
	return out, err
}

// ReadSettings reads the server's settings (GET /admin/settings): whether its scheduler
// service is on, its UI's URL. Prefect Cloud does not serve this route (404).
func (c *Client) ReadSettings(ctx context.Context) (wire.ServerSettings, error) {
	var s wire.ServerSettings
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/admin/settings", out: &s, endpoint: "admin/settings", retry: true})
	return s, err
}
