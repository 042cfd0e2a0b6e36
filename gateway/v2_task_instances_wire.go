package gateway

import (
	"crypto/sha256"
	"fmt"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/translate"
)

// v2TI is Airflow 3's TaskInstanceResponse (and, without id, note and the rendered fields,
// its TaskInstanceHistoryResponse), from the neutral task instance v1 writes and the run it
// belongs to. id is the task run's id; a task of the DAG that has no task run in this run
// yet gets a stable name-based UUID (version 8) of its place: flow run, task, map index.
type v2TI struct {
	ID               string         `json:"id"`
	TaskID           string         `json:"task_id"`
	DAGID            string         `json:"dag_id"`
	DAGRunID         string         `json:"dag_run_id"`
	MapIndex         int            `json:"map_index"`
	LogicalDate      *string        `json:"logical_date"`
	RunAfter         string         `json:"run_after"`
	StartDate        *string        `json:"start_date"`
	EndDate          *string        `json:"end_date"`
	Duration         *float64       `json:"duration"`
	State            *string        `json:"state"`
	TryNumber        int            `json:"try_number"`
	MaxTries         int            `json:"max_tries"`
	TaskDisplayName  string         `json:"task_display_name"`
	DAGDisplayName   string         `json:"dag_display_name"`
	Hostname         *string        `json:"hostname"`
	Unixname         *string        `json:"unixname"`
	Pool             string         `json:"pool"`
	PoolSlots        int            `json:"pool_slots"`
	Queue            *string        `json:"queue"`
	PriorityWeight   *int           `json:"priority_weight"`
	Operator         *string        `json:"operator"`
	OperatorName     *string        `json:"operator_name"`
	QueuedWhen       *string        `json:"queued_when"`
	ScheduledWhen    *string        `json:"scheduled_when"`
	PID              *int           `json:"pid"`
	Executor         *string        `json:"executor"`
	ExecutorConfig   string         `json:"executor_config"`
	Note             *string        `json:"note"`
	RenderedMapIndex *string        `json:"rendered_map_index"`
	RenderedFields   map[string]any `json:"rendered_fields"`
	Trigger          *struct{}      `json:"trigger"`
	TriggererJob     *struct{}      `json:"triggerer_job"`
	DAGVersion       *v2DAGVersion  `json:"dag_version"`
}

type v2TICollection struct {
	TaskInstances []v2TI `json:"task_instances"`
	TotalEntries  int    `json:"total_entries"`
}

// toV2TI writes ti of entry e of run r (of dag).
func toV2TI(ti translate.TaskInstance, e translate.TIEntry, r runTIs, dag prefect.ResolvedDAG) v2TI {
	run := toV2DAGRun(r.Run.FlowRun, dag)
	version := dagVersionOf(dag)
	out := v2TI{
		TaskID: ti.TaskID, DAGID: ti.DAGID, DAGRunID: ti.DAGRunID, MapIndex: ti.MapIndex,
		LogicalDate: run.LogicalDate, RunAfter: run.RunAfter,
		StartDate: translate.TimeV2Ptr(ti.StartDate), EndDate: translate.TimeV2Ptr(ti.EndDate),
		Duration: ti.Duration, State: ti.State, TryNumber: ti.TryNumber, MaxTries: ti.MaxTries,
		TaskDisplayName: ti.TaskDisplayName, DAGDisplayName: ti.DAGID, Pool: ti.Pool, PoolSlots: ti.PoolSlots,
		Queue: ti.Queue, PriorityWeight: ti.PriorityWeight, Operator: ti.Operator, OperatorName: ti.Operator,
		QueuedWhen: translate.TimeV2Ptr(ti.QueuedWhen), PID: ti.PID, Executor: ti.Executor,
		ExecutorConfig: ti.ExecutorConfig, Note: ti.Note, RenderedMapIndex: ti.RenderedMapIndex,
		RenderedFields: ti.RenderedFields, DAGVersion: &version,
	}
	if ti.Hostname != "" {
		out.Hostname = &ti.Hostname
	}
	if ti.Unixname != "" {
		out.Unixname = &ti.Unixname
	}
	if out.RenderedFields == nil {
		out.RenderedFields = map[string]any{}
	}
	if e.Run != nil {
		out.ID = e.Run.ID
	} else {
		out.ID = placeUUID(r.Run.ID, ti.TaskID, ti.MapIndex)
	}
	return out
}

// placeUUID is a version-8 UUID named by a task instance's place (RFC 9562 §5.8).
func placeUUID(flowRunID, taskID string, mapIndex int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("airflow-prefect-gateway/ti\x00%s\x00%s\x00%d", flowRunID, taskID, mapIndex)))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
