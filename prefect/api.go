package prefect

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"airflow-prefect-gateway/prefect/wire"
)

// MaxLimit is the most rows one Prefect filter call returns (PREFECT_SERVER_API_DEFAULT_LIMIT).
const MaxLimit = 200

func esc(s string) string { return url.PathEscape(s) }

// Ready is nil when Prefect's database answers (GET /ready).
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/ready", endpoint: "ready"})
	return err
}

// ServerVersion is the Prefect package version (GET /admin/version).
func (c *Client) ServerVersion(ctx context.Context) (string, error) {
	var v string
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/admin/version", out: &v, endpoint: "admin/version", retry: true})
	return v, err
}

// --- flows ---

// ReadFlow reads a flow by id.
func (c *Client) ReadFlow(ctx context.Context, id string) (wire.Flow, error) {
	var f wire.Flow
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/flows/" + esc(id), out: &f, endpoint: "flows/{id}", retry: true})
	return f, err
}

// FilterFlows lists flows.
func (c *Client) FilterFlows(ctx context.Context, q wire.Query) ([]wire.Flow, error) {
	var out []wire.Flow
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flows/filter", body: q, out: &out, endpoint: "flows/filter", retry: true})
	return out, err
}

// CreateFlow creates a flow, or returns the existing one of that name.
func (c *Client) CreateFlow(ctx context.Context, name string, tags []string) (wire.Flow, error) {
	var f wire.Flow
	body := map[string]any{"name": name}
	if len(tags) > 0 {
		body["tags"] = tags
	}
	// Prefect inserts-or-ignores on the name, so a repeat is harmless.
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flows/", body: body, out: &f, endpoint: "flows", retry: true})
	return f, err
}

// --- deployments ---

// ReadDeployment reads a deployment by id.
func (c *Client) ReadDeployment(ctx context.Context, id string) (wire.Deployment, error) {
	var d wire.Deployment
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/deployments/" + esc(id), out: &d, endpoint: "deployments/{id}", retry: true})
	return d, err
}

// ReadDeploymentByName reads a deployment by flow and deployment name.
func (c *Client) ReadDeploymentByName(ctx context.Context, flow, deployment string) (wire.Deployment, error) {
	var d wire.Deployment
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/deployments/name/" + esc(flow) + "/" + esc(deployment),
		out: &d, endpoint: "deployments/name/{flow}/{deployment}", retry: true})
	return d, err
}

// FilterDeployments lists deployments.
func (c *Client) FilterDeployments(ctx context.Context, q wire.Query) ([]wire.Deployment, error) {
	var out []wire.Deployment
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/deployments/filter", body: q, out: &out, endpoint: "deployments/filter", retry: true})
	return out, err
}

// CountDeployments counts deployments matching q (paging keys are dropped).
func (c *Client) CountDeployments(ctx context.Context, q wire.Query) (int, error) {
	var n int
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/deployments/count", body: q.CountBody(), out: &n, endpoint: "deployments/count", retry: true})
	return n, err
}

// CreateDeployment upserts a deployment from a DeploymentCreate body.
func (c *Client) CreateDeployment(ctx context.Context, body any) (wire.Deployment, error) {
	var d wire.Deployment
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/deployments/", body: body, out: &d, endpoint: "deployments", retry: true})
	return d, err
}

// PauseDeployment sets paused=true.
func (c *Client) PauseDeployment(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/deployments/" + esc(id) + "/pause_deployment", endpoint: "deployments/{id}/pause_deployment", retry: true})
	return err
}

// ResumeDeployment sets paused=false.
func (c *Client) ResumeDeployment(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/deployments/" + esc(id) + "/resume_deployment", endpoint: "deployments/{id}/resume_deployment", retry: true})
	return err
}

// --- flow runs ---

// TriggerLabel is the flow-run label a keyed CreateFlowRun stamps with a value unique to that
// call, so that the run tells which call created it (see CreateFlowRun).
const TriggerLabel = "airflow-prefect-gateway.trigger"

// CreateFlowRun creates a run of a deployment. created is false when Prefect returned an
// existing run for the body's idempotency key. Only keyed creates are retried.
//
// For a keyed create, created is decided by a label holding a value unique to this call
// (TriggerLabel), not by Prefect's 201-vs-200: after a lost answer the retry meets the run the
// first attempt made and gets a 200, and two concurrent creates with one key can both get a
// 201 (Prefect compares the row's creation time with its own clock). The label says exactly
// which call's insert won. Without the label in the answer (an older server), 201 decides.
func (c *Client) CreateFlowRun(ctx context.Context, deploymentID string, body wire.FlowRunCreate) (run wire.FlowRun, created bool, err error) {
	var stamp string
	if body.IdempotencyKey != "" {
		stamp = newTriggerStamp()
		labels := make(map[string]any, len(body.Labels)+1)
		for k, v := range body.Labels {
			labels[k] = v
		}
		labels[TriggerLabel] = stamp
		body.Labels = labels
	}
	resp, err := c.do(ctx, call{method: http.MethodPost, path: "/deployments/" + esc(deploymentID) + "/create_flow_run",
		body: body, out: &run, endpoint: "deployments/{id}/create_flow_run", retry: body.IdempotencyKey != ""})
	created = resp.status == http.StatusCreated
	if got := run.Labels.TriggerStamp; got != "" && stamp != "" && err == nil {
		created = string(got) == stamp
	}
	return run, created, err
}

// ReadFlowRun reads a flow run by id.
func (c *Client) ReadFlowRun(ctx context.Context, id string) (wire.FlowRun, error) {
	var r wire.FlowRun
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/flow_runs/" + esc(id), out: &r, endpoint: "flow_runs/{id}", retry: true})
	return r, err
}

// FilterFlowRuns lists flow runs.
func (c *Client) FilterFlowRuns(ctx context.Context, q wire.Query) ([]wire.FlowRun, error) {
	if q.Limit != nil && *q.Limit > MaxLimit {
		return nil, &Error{Kind: KindInvalid, Op: "POST /flow_runs/filter", Message: fmt.Sprintf("limit %d exceeds Prefect's %d", *q.Limit, MaxLimit)}
	}
	var out []wire.FlowRun
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flow_runs/filter", body: q, out: &out, endpoint: "flow_runs/filter", retry: true})
	return out, err
}

// FilterFlowRunsAnswer is FilterFlowRuns whose answer (a JSON array of runs) goes to read as
// it came, as with PaginateFlowRuns; Decode reads it the ordinary way.
func (c *Client) FilterFlowRunsAnswer(ctx context.Context, q wire.Query, read func(answer []byte) error) error {
	if q.Limit == nil || *q.Limit < 1 || *q.Limit > MaxLimit {
		return &Error{Kind: KindInvalid, Op: "POST /flow_runs/filter", Message: fmt.Sprintf("the answer of a filter is read whole: it needs 1 <= limit <= %d", MaxLimit)}
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flow_runs/filter", body: q, out: answerReader(read), endpoint: "flow_runs/filter", retry: true})
	return err
}

// PaginateFlowRuns reads one page of flow runs and the count of every match in a single
// call (POST /flow_runs/paginate; Prefect runs both queries together). page is 1-based in
// units of q.Limit; q.Offset must be 0. read gets Prefect's answer as it came (a JSON object:
// "results", "count", ...), so that a caller can write its own answer straight from those
// bytes (DecodeFlowRunPage reads them the ordinary way); they are only valid during the call.
// An error from read means the answer could not be read: the call fails as for any
// unreadable answer (KindBadGateway, tried again like any read).
func (c *Client) PaginateFlowRuns(ctx context.Context, q wire.Query, page int, read func(answer []byte) error) error {
	if q.Limit == nil || *q.Limit < 1 || *q.Limit > MaxLimit || q.Offset != 0 || page < 1 {
		return &Error{Kind: KindInvalid, Op: "POST /flow_runs/paginate", Message: "paginate needs 1 <= limit <= 200, page >= 1 and no offset"}
	}
	body := struct {
		wire.Query
		Page int `json:"page"`
	}{q, page}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flow_runs/paginate", body: body, out: answerReader(read),
		endpoint: "flow_runs/paginate", retry: true})
	return err
}

// DecodeFlowRunPage decodes an answer of /flow_runs/paginate: the runs and the count of all
// matches.
func DecodeFlowRunPage(answer []byte) (runs []wire.FlowRun, count int, err error) {
	var page struct {
		Results []wire.FlowRun `json:"results"`
		Count   int            `json:"count"`
	}
	err = Decode(answer, &page)
	return page.Results, page.Count, err
}

// CountFlowRuns counts flow runs matching q (paging keys are dropped).
func (c *Client) CountFlowRuns(ctx context.Context, q wire.Query) (int, error) {
	var n int
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flow_runs/count", body: q.CountBody(), out: &n, endpoint: "flow_runs/count", retry: true})
	return n, err
}

// SetFlowRunState proposes a state. Orchestration refusals are not errors here: read
// result.Status.
func (c *Client) SetFlowRunState(ctx context.Context, id string, state wire.StateCreate, force bool) (wire.OrchestrationResult, error) {
	var res wire.OrchestrationResult
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/flow_runs/" + esc(id) + "/set_state",
		body: map[string]any{"state": state, "force": force}, out: &res, endpoint: "flow_runs/{id}/set_state"})
	return res, err
}

// UpdateFlowRunLabels merges labels into a flow run's labels.
func (c *Client) UpdateFlowRunLabels(ctx context.Context, id string, labels map[string]any) error {
	_, err := c.do(ctx, call{method: http.MethodPatch, path: "/flow_runs/" + esc(id) + "/labels", body: labels, endpoint: "flow_runs/{id}/labels", retry: true})
	return err
}

// DeleteFlowRun deletes a flow run.
func (c *Client) DeleteFlowRun(ctx context.Context, id string) error {
	// Repeatable: a SQLite Prefect refuses writes with 503 "database is locked" now and then.
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/flow_runs/" + esc(id), endpoint: "flow_runs/{id}",
		retry: true, goneMeansDone: true})
	return err
}

// --- task runs and logs ---

// FilterTaskRuns lists task runs.
func (c *Client) FilterTaskRuns(ctx context.Context, q wire.Query) ([]wire.TaskRun, error) {
	var out []wire.TaskRun
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/task_runs/filter", body: q, out: &out, endpoint: "task_runs/filter", retry: true})
	return out, err
}

// CreateTaskRun creates a task run from a TaskRunCreate body (used to seed tests).
func (c *Client) CreateTaskRun(ctx context.Context, body any) (wire.TaskRun, error) {
	var tr wire.TaskRun
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/task_runs/", body: body, out: &tr, endpoint: "task_runs", retry: true})
	return tr, err
}

// FilterAllDeployments reads every deployment matching filter (nil: all), newest first
// (CREATED_DESC): creation times are unique in practice, unlike names, which many flows share
// ("prod"), so the order is stable across pages (see readAll).
func (c *Client) FilterAllDeployments(ctx context.Context, filter *wire.DeploymentFilter) ([]wire.Deployment, error) {
	return readAll(ctx, "deployments", func(ctx context.Context, offset, limit int) ([]wire.Deployment, error) {
		return c.FilterDeployments(ctx, wire.Query{Deployments: filter, Sort: "CREATED_DESC", Limit: &limit, Offset: offset})
	}, func(d wire.Deployment) string { return d.ID })
}
