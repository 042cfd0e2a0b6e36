// Package wire holds the JSON shapes of Prefect 3's REST API: objects it returns and bodies
// it accepts. It is pure data (stdlib only, no I/O), so that both the client in package
// prefect and the pure translation code in package translate can speak of the same objects
// without translate depending on anything that talks to the network.
//
// Response types ignore unknown fields (Prefect adds fields over time); request types use
// omitempty everywhere because Prefect rejects unknown keys and treats empty filters as
// real filters.
package wire

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// StateType is Prefect's state type enum.
type StateType string

const (
	Scheduled  StateType = "SCHEDULED"
	Pending    StateType = "PENDING"
	Running    StateType = "RUNNING"
	Completed  StateType = "COMPLETED"
	Failed     StateType = "FAILED"
	Cancelled  StateType = "CANCELLED"
	Crashed    StateType = "CRASHED"
	Paused     StateType = "PAUSED"
	Cancelling StateType = "CANCELLING"
)

// Terminal reports whether t is one of Prefect's final state types.
func (t StateType) Terminal() bool {
	switch t {
	case Completed, Failed, Cancelled, Crashed:
		return true
	}
	return false
}

// Flow is a Prefect flow.
type Flow struct {
	ID      string         `json:"id"`
	Created *time.Time     `json:"created"`
	Updated *time.Time     `json:"updated"`
	Name    string         `json:"name"`
	Tags    []string       `json:"tags"`
	Labels  map[string]any `json:"labels"`
}

// Schedule is one of Prefect's three schedule shapes, told apart by which key is set.
type Schedule struct {
	Cron       string     `json:"cron,omitempty"`
	DayOr      *bool      `json:"day_or,omitempty"`
	Interval   *float64   `json:"interval,omitempty"` // seconds
	AnchorDate *time.Time `json:"anchor_date,omitempty"`
	RRule      string     `json:"rrule,omitempty"`
	Timezone   *string    `json:"timezone,omitempty"`
}

// DeploymentSchedule is a schedule attached to a deployment.
type DeploymentSchedule struct {
	ID               string         `json:"id,omitempty"`
	Schedule         Schedule       `json:"schedule"`
	Active           *bool          `json:"active,omitempty"`
	MaxScheduledRuns *int           `json:"max_scheduled_runs,omitempty"`
	Parameters       map[string]any `json:"parameters,omitempty"`
	Slug             *string        `json:"slug,omitempty"`
}

// GlobalConcurrencyLimit is Prefect's GlobalConcurrencyLimitResponse (/v2/concurrency_limits):
// the limit object a deployment's concurrency_limit became, and what Airflow pools map to.
type GlobalConcurrencyLimit struct {
	ID                 string     `json:"id"`
	Created            *time.Time `json:"created"`
	Name               string     `json:"name"`
	Limit              int        `json:"limit"`
	Active             bool       `json:"active"`
	ActiveSlots        int        `json:"active_slots"`
	SlotDecayPerSecond float64    `json:"slot_decay_per_second"`
}

// Deployment is Prefect's DeploymentResponse.
type Deployment struct {
	ID                     string                  `json:"id"`
	Created                *time.Time              `json:"created"`
	Updated                *time.Time              `json:"updated"`
	Name                   string                  `json:"name"`
	Version                *string                 `json:"version"`
	Description            *string                 `json:"description"`
	FlowID                 string                  `json:"flow_id"`
	Paused                 bool                    `json:"paused"`
	Schedules              []DeploymentSchedule    `json:"schedules"`
	ConcurrencyLimit       *int                    `json:"concurrency_limit"`
	GlobalConcurrencyLimit *GlobalConcurrencyLimit `json:"global_concurrency_limit"`
	Parameters             map[string]any          `json:"parameters"`
	ParameterSchema        map[string]any          `json:"parameter_openapi_schema"`
	EnforceParameterSchema bool                    `json:"enforce_parameter_schema"`
	Tags                   []string                `json:"tags"`
	Labels                 map[string]any          `json:"labels"`
	WorkQueueName          *string                 `json:"work_queue_name"`
	WorkPoolName           *string                 `json:"work_pool_name"`
	Path                   *string                 `json:"path"`
	Entrypoint             *string                 `json:"entrypoint"`
	Status                 *string                 `json:"status"`
	LastPolled             *time.Time              `json:"last_polled"`
	// PullSteps are how a worker fetches the flow's code ([{"<step function>": {args}}]).
	PullSteps []map[string]any `json:"pull_steps"`
}

// StateDetails is the subset of a state's details the gateway reads or writes.
type StateDetails struct {
	FlowRunID     string     `json:"flow_run_id,omitempty"`
	TaskRunID     string     `json:"task_run_id,omitempty"`
	ScheduledTime *time.Time `json:"scheduled_time,omitempty"`
}

// State is a Prefect state as returned by the server.
type State struct {
	ID           string          `json:"id"`
	Type         StateType       `json:"type"`
	Name         string          `json:"name"`
	Timestamp    *time.Time      `json:"timestamp"`
	Message      *string         `json:"message"`
	StateDetails StateDetails    `json:"state_details"`
	Data         json.RawMessage `json:"data,omitempty"`
}

// StateCreate is the body Prefect accepts for a new state (no id, no timestamp: Prefect
// forbids extra keys).
type StateCreate struct {
	Type         StateType     `json:"type"`
	Name         string        `json:"name,omitempty"`
	Message      string        `json:"message,omitempty"`
	StateDetails *StateDetails `json:"state_details,omitempty"`
}

// FlowRun is the part of Prefect's FlowRunResponse the gateway reads. Fields nothing reads
// are left out (the decoder skips them, which costs far less than building them), and
// parameters stay raw JSON: they go back out verbatim as the DAG run's conf.
type FlowRun struct {
	ID                     string          `json:"id"`
	Created                *time.Time      `json:"created"`
	Name                   string          `json:"name"`
	FlowID                 string          `json:"flow_id"`
	DeploymentID           *string         `json:"deployment_id"`
	WorkQueueName          *string         `json:"work_queue_name"` // queue and pool: defaults of the DAG's tasks
	WorkPoolName           *string         `json:"work_pool_name"`
	Parameters             json.RawMessage `json:"parameters"`
	IdempotencyKey         *string         `json:"idempotency_key"`
	Tags                   []string        `json:"tags"`
	Labels                 FlowRunLabels   `json:"labels"`
	StateType              *StateType      `json:"state_type"`
	StateName              *string         `json:"state_name"`
	ExpectedStartTime      *time.Time      `json:"expected_start_time"`
	NextScheduledStartTime *time.Time      `json:"next_scheduled_start_time"`
	StartTime              *time.Time      `json:"start_time"`
	EndTime                *time.Time      `json:"end_time"`
	AutoScheduled          bool            `json:"auto_scheduled"`
	State                  *State          `json:"state"`
}

// FlowRunLabels are the flow-run labels the gateway reads. Prefect's own labels
// (prefect.flow.id, ...) are skipped when decoding, so a list page builds no map per run.
// The keys are the gateway's: translate.LabelNote, LabelDataIntervalStart, LabelDataIntervalEnd,
// LabelTrigger and prefect.TriggerLabel (tests hold them equal).
type FlowRunLabels struct {
	Note               LabelValue `json:"airflow.note,omitempty"`
	DataIntervalStart  LabelValue `json:"airflow.data_interval_start,omitempty"`
	DataIntervalEnd    LabelValue `json:"airflow.data_interval_end,omitempty"`
	TriggerFingerprint LabelValue `json:"airflow.trigger,omitempty"`
	TriggerStamp       LabelValue `json:"airflow-prefect-gateway.trigger,omitempty"`
	// Airflow 3's run fields (translate.LabelNoLogicalDate, LabelLogicalDate, LabelTriggeringUser,
	// LabelPartitionKey, LabelBackfill).
	NoLogicalDate  LabelValue `json:"airflow.no_logical_date,omitempty"`
	LogicalDate    LabelValue `json:"airflow.logical_date,omitempty"`
	TriggeringUser LabelValue `json:"airflow.triggering_user,omitempty"`
	PartitionKey   LabelValue `json:"airflow.partition_key,omitempty"`
	Backfill       LabelValue `json:"airflow.backfill_id,omitempty"`
}

// LabelValue is a label's value as text. Prefect keeps label values as strings, numbers or
// booleans; a number or boolean becomes its JSON text, anything else (null) is empty.
type LabelValue string

// UnmarshalJSON reads any label value without failing the object around it.
func (v *LabelValue) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 1 && b[0] == '"' && plainJSONString(b[1:len(b)-1]):
		*v = LabelValue(b[1 : len(b)-1]) // every run has labels: no decoder for the usual case
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = LabelValue(s)
	case len(b) > 0 && (b[0] == '-' || b[0] == 't' || b[0] == 'f' || (b[0] >= '0' && b[0] <= '9')):
		*v = LabelValue(b)
	default:
		*v = ""
	}
	return nil
}

// plainJSONString reports whether s, the inside of a JSON string, decodes to itself: no
// escapes, no control characters, valid UTF-8 (encoding/json replaces what is not).
func plainJSONString(s []byte) bool {
	for _, c := range s {
		if c == '\\' || c == '"' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(s)
}

// TaskRun is Prefect's TaskRun.
type TaskRun struct {
	ID         string         `json:"id"`
	Created    *time.Time     `json:"created"`
	Updated    *time.Time     `json:"updated"`
	Name       string         `json:"name"`
	FlowRunID  *string        `json:"flow_run_id"`
	TaskKey    string         `json:"task_key"`
	DynamicKey string         `json:"dynamic_key"`
	Tags       []string       `json:"tags"`
	Labels     map[string]any `json:"labels"`
	StateType  *StateType     `json:"state_type"`
	StateName  *string        `json:"state_name"`
	RunCount   int            `json:"run_count"`
	// FlowRunRunCount is the run count of the flow run when this task run was made: a flow
	// run re-run (retried, or cleared) makes new task runs under a higher count.
	FlowRunRunCount   int            `json:"flow_run_run_count"`
	ExpectedStartTime *time.Time     `json:"expected_start_time"`
	StartTime         *time.Time     `json:"start_time"`
	EndTime           *time.Time     `json:"end_time"`
	TotalRunTime      float64        `json:"total_run_time"`
	EmpiricalPolicy   map[string]any `json:"empirical_policy"`
	// TaskInputs says where each argument came from; an entry of type "task_run" names the
	// upstream task run whose result was passed in.
	TaskInputs map[string][]TaskInput `json:"task_inputs"`
	State      *State                 `json:"state"`
}

// TaskInput is one source of a task run's argument: another task run or flow run (id), a
// flow parameter (name), or a constant.
type TaskInput struct {
	InputType string `json:"input_type"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
}

// OrchestrationStatus is Prefect's answer to a proposed state.
type OrchestrationStatus string

const (
	Accept OrchestrationStatus = "ACCEPT"
	Reject OrchestrationStatus = "REJECT"
	Abort  OrchestrationStatus = "ABORT"
	Wait   OrchestrationStatus = "WAIT"
)

// OrchestrationResult is what set_state answers, in a 200 or 201 body.
type OrchestrationResult struct {
	State   *State              `json:"state"`
	Status  OrchestrationStatus `json:"status"`
	Details struct {
		Type         string  `json:"type"`
		Reason       *string `json:"reason"`
		DelaySeconds *int    `json:"delay_seconds"`
	} `json:"details"`
}
