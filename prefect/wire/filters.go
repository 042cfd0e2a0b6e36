package wire

import "time"

// The filter language of Prefect's /filter, /count and /paginate endpoints. Every object and
// field forbids unknown keys on the server, and an empty list is a real (match-nothing or
// slow match-everything) criterion, so every field is a pointer or omitempty: only what is
// set is sent.

// AnyOf matches when the value is one of Any (and none of NotAny).
type AnyOf struct {
	Any    []string `json:"any_,omitempty"`
	NotAny []string `json:"not_any_,omitempty"`
}

// NameMatch matches by exact names or a case-insensitive substring.
type NameMatch struct {
	Any  []string `json:"any_,omitempty"`
	Like *string  `json:"like_,omitempty"`
}

// TagMatch matches tag lists.
type TagMatch struct {
	Operator string   `json:"operator,omitempty"`
	All      []string `json:"all_,omitempty"`
	Any      []string `json:"any_,omitempty"`
	IsNull   *bool    `json:"is_null_,omitempty"`
}

// TimeRange bounds a timestamp; both ends inclusive.
type TimeRange struct {
	Before *time.Time `json:"before_,omitempty"`
	After  *time.Time `json:"after_,omitempty"`
	IsNull *bool      `json:"is_null_,omitempty"`
}

// NullableAnyOf is AnyOf with an is_null_ test.
type NullableAnyOf struct {
	Operator string   `json:"operator,omitempty"`
	Any      []string `json:"any_,omitempty"`
	IsNull   *bool    `json:"is_null_,omitempty"`
}

// StateFilter matches a run's state by type and/or name.
type StateFilter struct {
	Operator string `json:"operator,omitempty"`
	Type     *AnyOf `json:"type,omitempty"`
	Name     *AnyOf `json:"name,omitempty"`
}

// FlowRunFilter is the "flow_runs" key.
type FlowRunFilter struct {
	Operator          string         `json:"operator,omitempty"`
	ID                *AnyOf         `json:"id,omitempty"`
	Name              *NameMatch     `json:"name,omitempty"`
	Tags              *TagMatch      `json:"tags,omitempty"`
	DeploymentID      *NullableAnyOf `json:"deployment_id,omitempty"`
	State             *StateFilter   `json:"state,omitempty"`
	StartTime         *TimeRange     `json:"start_time,omitempty"`
	EndTime           *TimeRange     `json:"end_time,omitempty"`
	ExpectedStartTime *TimeRange     `json:"expected_start_time,omitempty"`
	NextScheduled     *TimeRange     `json:"next_scheduled_start_time,omitempty"`
	ParentTaskRunID   *NullableAnyOf `json:"parent_task_run_id,omitempty"`
	IdempotencyKey    *AnyOf         `json:"idempotency_key,omitempty"`
}

// DeploymentFilter is the "deployments" key.
type DeploymentFilter struct {
	Operator             string     `json:"operator,omitempty"`
	ID                   *AnyOf     `json:"id,omitempty"`
	Name                 *NameMatch `json:"name,omitempty"`
	FlowOrDeploymentName *NameMatch `json:"flow_or_deployment_name,omitempty"`
	Paused               *BoolEq    `json:"paused,omitempty"`
	Tags                 *TagMatch  `json:"tags,omitempty"`
	WorkQueueName        *AnyOf     `json:"work_queue_name,omitempty"`
}

// BoolEq matches a boolean field.
type BoolEq struct {
	Eq *bool `json:"eq_,omitempty"`
}

// FlowFilter is the "flows" key.
type FlowFilter struct {
	Operator string     `json:"operator,omitempty"`
	ID       *AnyOf     `json:"id,omitempty"`
	Name     *NameMatch `json:"name,omitempty"`
	Tags     *TagMatch  `json:"tags,omitempty"`
}

// TaskRunFilter is the "task_runs" key.
type TaskRunFilter struct {
	Operator  string       `json:"operator,omitempty"`
	ID        *AnyOf       `json:"id,omitempty"`
	Name      *NameMatch   `json:"name,omitempty"`
	State     *StateFilter `json:"state,omitempty"`
	StartTime *TimeRange   `json:"start_time,omitempty"`
	EndTime   *TimeRange   `json:"end_time,omitempty"`
	// ExpectedStartTime is when the task run was (re)scheduled: its creation for most.
	ExpectedStartTime *TimeRange     `json:"expected_start_time,omitempty"`
	FlowRunID         *NullableAnyOf `json:"flow_run_id,omitempty"`
}

// Query is the body of /flow_runs, /deployments, /flows and /task_runs filter and count
// calls. Count calls must not carry Sort, Limit or Offset (Prefect forbids them): use
// CountBody.
type Query struct {
	Flows       *FlowFilter       `json:"flows,omitempty"`
	FlowRuns    *FlowRunFilter    `json:"flow_runs,omitempty"`
	TaskRuns    *TaskRunFilter    `json:"task_runs,omitempty"`
	Deployments *DeploymentFilter `json:"deployments,omitempty"`
	Sort        string            `json:"sort,omitempty"`
	Limit       *int              `json:"limit,omitempty"`
	Offset      int               `json:"offset,omitempty"`
}

// CountBody is q without its paging and sort keys.
func (q Query) CountBody() Query {
	q.Sort, q.Limit, q.Offset = "", nil, 0
	return q
}

// FlowRunCreate is the body of POST /deployments/{id}/create_flow_run.
type FlowRunCreate struct {
	Name           string         `json:"name,omitempty"`
	Parameters     map[string]any `json:"parameters,omitempty"`
	State          *StateCreate   `json:"state,omitempty"`
	Tags           []string       `json:"tags,omitempty"`
	IdempotencyKey string         `json:"idempotency_key,omitempty"`
	Labels         map[string]any `json:"labels,omitempty"`
}
