package wire

import (
	"encoding/json"
	"time"
)

// Shapes of the task-run, log, artifact and settings endpoints, which back Airflow's task
// instances, logs and XComs.

// FlowRunDetail is a flow run as the task-instance routes read it: the fields of FlowRun,
// the worker's infrastructure id, the run's attempt count, and every label (task-instance
// notes live in labels whose keys the gateway makes up per task, which FlowRunLabels cannot
// name). Its "labels" field shadows FlowRun's; WithLabels fills those from it.
type FlowRunDetail struct {
	FlowRun
	// InfrastructurePID is what the worker that executes the run recorded: a process
	// worker writes the pid (a runner of flow.serve() writes nothing).
	InfrastructurePID *string               `json:"infrastructure_pid"`
	RunCount          int                   `json:"run_count"`
	AllLabels         map[string]LabelValue `json:"labels"`
}

// WithLabels returns the run with FlowRun.Labels read from AllLabels.
func (d FlowRunDetail) WithLabels() FlowRunDetail {
	d.Labels = FlowRunLabels{
		Note:               d.AllLabels["airflow.note"],
		DataIntervalStart:  d.AllLabels["airflow.data_interval_start"],
		DataIntervalEnd:    d.AllLabels["airflow.data_interval_end"],
		TriggerFingerprint: d.AllLabels["airflow.trigger"],
		TriggerStamp:       d.AllLabels["airflow-prefect-gateway.trigger"],
	}
	return d
}

// ResultRecordMetadata is what Prefect's server keeps of a persisted result in the state's
// data (prefect/_internal/result_records.py): where the result lives and how it is
// serialized. The value itself is in the result storage, not in Prefect's database.
type ResultRecordMetadata struct {
	StorageKey     *string         `json:"storage_key"`
	Expiration     *time.Time      `json:"expiration"`
	Serializer     json.RawMessage `json:"serializer"`
	PrefectVersion *string         `json:"prefect_version"`
	StorageBlockID *string         `json:"storage_block_id"`
}

// SerializerType is the serializer's "type" ("json", "pickle", "compressed/json", ...), or ""
// when the metadata names none.
func (m ResultRecordMetadata) SerializerType() string {
	var s struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(m.Serializer, &s)
	return s.Type
}

// LogLevel is a Python logging level (10 DEBUG ... 50 CRITICAL).
type LogLevel int

// Log is one of Prefect's log lines.
type Log struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"` // the logger's name
	Level     LogLevel   `json:"level"`
	Message   string     `json:"message"`
	Timestamp *time.Time `json:"timestamp"`
	FlowRunID *string    `json:"flow_run_id"`
	TaskRunID *string    `json:"task_run_id"`
}

// LogFilter is the "logs" key of /logs/filter.
type LogFilter struct {
	Operator  string         `json:"operator,omitempty"`
	Level     *LevelRange    `json:"level,omitempty"`
	Timestamp *TimeRange     `json:"timestamp,omitempty"`
	FlowRunID *AnyOf         `json:"flow_run_id,omitempty"`
	TaskRunID *NullableAnyOf `json:"task_run_id,omitempty"`
}

// LevelRange bounds a log level; both ends inclusive.
type LevelRange struct {
	GE *int `json:"ge_,omitempty"`
	LE *int `json:"le_,omitempty"`
}

// LogQuery is the body of /logs/filter.
type LogQuery struct {
	Logs   *LogFilter `json:"logs,omitempty"`
	Sort   string     `json:"sort,omitempty"`
	Limit  *int       `json:"limit,omitempty"`
	Offset int        `json:"offset,omitempty"`
}

// Artifact is one of Prefect's artifacts (markdown, table, link, progress, image, result).
type Artifact struct {
	ID          string          `json:"id"`
	Created     *time.Time      `json:"created"`
	Updated     *time.Time      `json:"updated"`
	Key         *string         `json:"key"`
	Type        *string         `json:"type"`
	Description *string         `json:"description"`
	Data        json.RawMessage `json:"data"`
	FlowRunID   *string         `json:"flow_run_id"`
	TaskRunID   *string         `json:"task_run_id"`
}

// ArtifactFilter is the "artifacts" key of /artifacts/filter.
type ArtifactFilter struct {
	Operator  string         `json:"operator,omitempty"`
	Key       *ArtifactKey   `json:"key,omitempty"`
	FlowRunID *AnyOf         `json:"flow_run_id,omitempty"`
	TaskRunID *AnyOf         `json:"task_run_id,omitempty"`
	Type      *AnyOf         `json:"type,omitempty"`
	ID        *NullableAnyOf `json:"id,omitempty"`
}

// ArtifactKey matches artifact keys; Exists false selects artifacts without a key.
type ArtifactKey struct {
	Any    []string `json:"any_,omitempty"`
	Like   *string  `json:"like_,omitempty"`
	Exists *bool    `json:"exists_,omitempty"`
}

// ArtifactQuery is the body of /artifacts/filter.
type ArtifactQuery struct {
	Artifacts *ArtifactFilter `json:"artifacts,omitempty"`
	FlowRuns  *FlowRunFilter  `json:"flow_runs,omitempty"`
	TaskRuns  *TaskRunFilter  `json:"task_runs,omitempty"`
	Sort      string          `json:"sort,omitempty"`
	Limit     *int            `json:"limit,omitempty"`
	Offset    int             `json:"offset,omitempty"`
}

// ServerSettings is the part of GET /admin/settings the gateway reads: whether Prefect's
// scheduler service runs, and where Prefect's UI is.
type ServerSettings struct {
	UIURL  *string `json:"ui_url"`
	Server struct {
		Services struct {
			Scheduler struct {
				Enabled *bool `json:"enabled"`
			} `json:"scheduler"`
		} `json:"services"`
	} `json:"server"`
}
