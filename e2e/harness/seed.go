package harness

import (
	"context"
	"fmt"
	"time"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
)

// Seeder makes test data in Prefect over its HTTP API, through the project's own client:
// flows, deployments, flow runs, task runs, and state changes. No worker is involved: runs
// move only when a test moves them.
type Seeder struct {
	C *prefect.Client
}

// NewSeeder returns a seeder talking to the Prefect API at url, with no credential.
func NewSeeder(url string, cred prefect.Credential) (*Seeder, error) {
	c, err := prefect.New(prefect.Options{BaseURL: url, Credential: cred, Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	return &Seeder{C: c}, nil
}

// Deployment creates flow `flow` (if needed) and upserts deployment `name` on it. extra holds
// further DeploymentCreate fields: tags, schedules, parameters, parameter_openapi_schema,
// description, entrypoint, concurrency_limit, paused...
func (s *Seeder) Deployment(ctx context.Context, flow, name string, extra map[string]any) (wire.Deployment, error) {
	f, err := s.C.CreateFlow(ctx, flow, nil)
	if err != nil {
		return wire.Deployment{}, fmt.Errorf("seed flow %q: %w", flow, err)
	}
	body := map[string]any{"name": name, "flow_id": f.ID}
	for k, v := range extra {
		body[k] = v
	}
	d, err := s.C.CreateDeployment(ctx, body)
	if err != nil {
		return wire.Deployment{}, fmt.Errorf("seed deployment %s/%s: %w", flow, name, err)
	}
	return d, nil
}

// FlowRun creates a run of the deployment directly in Prefect (as Prefect's UI or scheduler
// would), scheduled at `at` (now when zero). It carries an idempotency key so that the client
// may send it again while a busy SQLite answers 503.
func (s *Seeder) FlowRun(ctx context.Context, deploymentID, name string, at time.Time, params map[string]any) (wire.FlowRun, error) {
	body := wire.FlowRunCreate{Name: name, Parameters: params, IdempotencyKey: "seed:" + deploymentID + ":" + name}
	if !at.IsZero() {
		at = at.UTC()
		body.State = &wire.StateCreate{Type: wire.Scheduled, StateDetails: &wire.StateDetails{ScheduledTime: &at}}
	}
	run, _, err := s.C.CreateFlowRun(ctx, deploymentID, body)
	if err != nil {
		return wire.FlowRun{}, fmt.Errorf("seed flow run %q: %w", name, err)
	}
	return run, nil
}

// SetState moves a flow run to a state type, without force, and fails unless Prefect
// accepted it (a REJECT that wrote a substitute state is returned as such, no error).
func (s *Seeder) SetState(ctx context.Context, runID string, t wire.StateType) (wire.OrchestrationResult, error) {
	var res wire.OrchestrationResult
	var err error
	// A 503 from Prefect on SQLite means the database was busy and the transaction was
	// rolled back: nothing was written, so sending it again is safe.
	for attempt := 1; ; attempt++ {
		res, err = s.C.SetFlowRunState(ctx, runID, wire.StateCreate{Type: t}, false)
		if prefect.KindOf(err) != prefect.KindUnavailable || attempt == 6 {
			break
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
	if err != nil {
		return res, fmt.Errorf("set state %s on %s: %w", t, runID, err)
	}
	if res.Status == wire.Abort || res.Status == wire.Wait {
		reason := ""
		if res.Details.Reason != nil {
			reason = *res.Details.Reason
		}
		return res, fmt.Errorf("set state %s on %s: %s %s", t, runID, res.Status, reason)
	}
	return res, nil
}

// TaskRun creates a task run in a flow run, in the given state.
func (s *Seeder) TaskRun(ctx context.Context, flowRunID, taskKey, dynamicKey string, state wire.StateType) (wire.TaskRun, error) {
	body := map[string]any{
		"name":        taskKey + "-" + dynamicKey,
		"flow_run_id": flowRunID,
		"task_key":    taskKey,
		"dynamic_key": dynamicKey,
		"state":       wire.StateCreate{Type: state},
	}
	tr, err := s.C.CreateTaskRun(ctx, body)
	if err != nil {
		return wire.TaskRun{}, fmt.Errorf("seed task run %s: %w", taskKey, err)
	}
	return tr, nil
}
