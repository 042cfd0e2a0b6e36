package translate

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Task instances are Prefect task runs (DESIGN §3): task_id is the task run's task_key,
// try_number its run_count, and map_index its place among the task runs of the same task in
// the same flow-run attempt. Prefect 3 gives every task run a random dynamic key, so a
// mapped task's index is the order in which its task runs were made (the order .map()
// submits them); a task with a single task run in the flow run is unmapped (-1). A flow run
// that runs again (a retry, or a clear) makes new task runs under a higher
// flow_run_run_count: those are the task instance's later tries.

// TaskInstance is Airflow's TaskInstance. Fields Prefect has no value for are JSON null, or
// Airflow's own default where the field is not nullable.
type TaskInstance struct {
	TaskID           string         `json:"task_id"`
	TaskDisplayName  string         `json:"task_display_name"`
	DAGID            string         `json:"dag_id"`
	DAGRunID         string         `json:"dag_run_id"`
	ExecutionDate    string         `json:"execution_date"`
	StartDate        *string        `json:"start_date"`
	EndDate          *string        `json:"end_date"`
	Duration         *float64       `json:"duration"`
	State            *string        `json:"state"`
	TryNumber        int            `json:"try_number"`
	MapIndex         int            `json:"map_index"`
	MaxTries         int            `json:"max_tries"`
	Hostname         string         `json:"hostname"`
	Unixname         string         `json:"unixname"`
	Pool             string         `json:"pool"`
	PoolSlots        int            `json:"pool_slots"`
	Queue            *string        `json:"queue"`
	PriorityWeight   *int           `json:"priority_weight"`
	Operator         *string        `json:"operator"`
	QueuedWhen       *string        `json:"queued_when"`
	PID              *int           `json:"pid"`
	Executor         *string        `json:"executor"`
	ExecutorConfig   string         `json:"executor_config"`
	SLAMiss          *struct{}      `json:"sla_miss"`
	RenderedMapIndex *string        `json:"rendered_map_index"`
	RenderedFields   map[string]any `json:"rendered_fields"`
	Trigger          *struct{}      `json:"trigger"`
	TriggererJob     *struct{}      `json:"triggerer_job"`
	Note             *string        `json:"note"`
}

// TaskInstanceCollection is Airflow's TaskInstanceCollection.
type TaskInstanceCollection struct {
	TaskInstances []TaskInstance `json:"task_instances"`
	TotalEntries  int            `json:"total_entries"`
}

// TaskOperator is the operator every task instance reports: a Prefect task.
const TaskOperator = "Task"

// TIEntry is one task instance of a flow run before it is written out: its identity, its
// current task run (nil for a task of the DAG that has no task run in this run yet), and the
// task runs of earlier attempts of the flow run at the same place, oldest first.
type TIEntry struct {
	TaskID      string
	DisplayName string
	MapIndex    int
	Run         *wire.TaskRun
	Earlier     []wire.TaskRun
	// Retries is the task's retry allowance (Airflow's max_tries).
	Retries int
	// order keeps the entries of one flow run in the order their tasks first ran.
	order int
}

// TryNumber is Airflow's try_number: the runs of every attempt's task run added up.
func (e TIEntry) TryNumber() int {
	n := 0
	for _, r := range e.Earlier {
		n += r.RunCount
	}
	if e.Run != nil {
		n += e.Run.RunCount
	}
	return n
}

// Tries are the task runs behind the instance's tries, oldest first, each with the try
// number of its first run: an earlier attempt's task run carries as many tries as it ran.
func (e TIEntry) Tries() []TaskRunTries {
	var out []TaskRunTries
	next := 1
	for _, r := range append(append([]wire.TaskRun(nil), e.Earlier...), runOrNone(e.Run)...) {
		if r.RunCount == 0 {
			continue
		}
		out = append(out, TaskRunTries{Run: r, First: next})
		next += r.RunCount
	}
	return out
}

func runOrNone(r *wire.TaskRun) []wire.TaskRun {
	if r == nil {
		return nil
	}
	return []wire.TaskRun{*r}
}

// TaskRunTries is a task run and the try number of its first run; it ran tries First to
// First+RunCount-1.
type TaskRunTries struct {
	Run   wire.TaskRun
	First int
}

// GroupTaskRuns turns every task run of one flow run into its task instances, ordered by
// when each task first ran, then by map index. Task runs without a task key are left out.
func GroupTaskRuns(runs []wire.TaskRun) []TIEntry {
	type attempt struct {
		count int
		runs  []wire.TaskRun
	}
	byKey := map[string][]*attempt{}
	var keys []string
	firstRun := map[string]wire.TaskRun{}
	for _, r := range runs {
		if r.TaskKey == "" {
			continue
		}
		atts, seen := byKey[r.TaskKey]
		if !seen {
			keys = append(keys, r.TaskKey)
		}
		var a *attempt
		for _, x := range atts {
			if x.count == r.FlowRunRunCount {
				a = x
			}
		}
		if a == nil {
			a = &attempt{count: r.FlowRunRunCount}
			byKey[r.TaskKey] = append(atts, a)
		}
		a.runs = append(a.runs, r)
		if !seen || madeBefore(r, firstRun[r.TaskKey]) {
			firstRun[r.TaskKey] = r
		}
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := firstRun[keys[i]], firstRun[keys[j]]
		if madeBefore(a, b) != madeBefore(b, a) {
			return madeBefore(a, b)
		}
		return keys[i] < keys[j]
	})
	var out []TIEntry
	for order, key := range keys {
		atts := byKey[key]
		sort.Slice(atts, func(i, j int) bool { return atts[i].count < atts[j].count })
		mapped := false
		width := 0
		for _, a := range atts {
			sortByCreation(a.runs)
			mapped = mapped || len(a.runs) > 1
			width = max(width, len(a.runs))
		}
		for i := 0; i < width; i++ {
			e := TIEntry{TaskID: key, MapIndex: -1, order: order}
			if mapped {
				e.MapIndex = i
			}
			for _, a := range atts {
				if i >= len(a.runs) {
					continue
				}
				if e.Run != nil {
					e.Earlier = append(e.Earlier, *e.Run)
				}
				r := a.runs[i]
				e.Run = &r
			}
			e.DisplayName = taskDisplayName(*e.Run)
			e.Retries = retries(e.Run.EmpiricalPolicy)
			out = append(out, e)
		}
	}
	return out
}

// createdAt is when a task run was made: Prefect's expected_start_time is set at creation
// (and moved only by a retry's schedule), its created stamp is the server's recording time.
func createdAt(r wire.TaskRun) time.Time {
	switch {
	case r.Created != nil && r.ExpectedStartTime != nil && r.ExpectedStartTime.Before(*r.Created):
		return *r.ExpectedStartTime
	case r.Created != nil:
		return *r.Created
	case r.ExpectedStartTime != nil:
		return *r.ExpectedStartTime
	}
	return time.Time{}
}

// sortByCreation orders task runs as they were made. Prefect 3's client makes task-run ids
// itself, as UUIDv7 whose time and sequence bits follow the order of the calls (and of the
// items of .map(), which submits them in order from the flow's thread, though the runs then
// start, and are recorded, in any order); for other ids the creation time decides.
func sortByCreation(runs []wire.TaskRun) {
	v7 := true
	for _, r := range runs {
		v7 = v7 && isUUIDv7(r.ID)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if v7 {
			return strings.ToLower(runs[i].ID) < strings.ToLower(runs[j].ID)
		}
		a, b := createdAt(runs[i]), createdAt(runs[j])
		if !a.Equal(b) {
			return a.Before(b)
		}
		return runs[i].ID < runs[j].ID
	})
}

// madeBefore reports whether task run a was made before b, by the rule of sortByCreation.
func madeBefore(a, b wire.TaskRun) bool {
	if isUUIDv7(a.ID) && isUUIDv7(b.ID) {
		return strings.ToLower(a.ID) < strings.ToLower(b.ID)
	}
	return createdAt(a).Before(createdAt(b))
}

// isUUIDv7 reports whether id is a UUID of version 7 (time-ordered).
func isUUIDv7(id string) bool {
	return len(id) == 36 && id[8] == '-' && id[13] == '-' && id[14] == '7'
}

// EntriesFromTasks are the task instances of a run that has no task run yet: one per task
// of the DAG (as /tasks lists them), unmapped, without a state.
func EntriesFromTasks(tasks []Task) []TIEntry {
	out := make([]TIEntry, 0, len(tasks))
	for i, t := range tasks {
		out = append(out, TIEntry{TaskID: t.TaskID, DisplayName: t.TaskDisplayName, MapIndex: -1, Retries: t.Retries, order: i})
	}
	return out
}

// RunContext is what a task instance takes from its DAG run.
type RunContext struct {
	DAGID         string
	DAGRunID      string
	FlowRunID     string
	ExecutionDate string
	LogicalDate   time.Time
	Pool          string
	Queue         *string
	Hostname      string
	PID           *int
	// Notes are the run's task-instance notes by TaskNoteLabel key.
	Notes map[string]wire.LabelValue
	// Terminal is whether the flow run has finished.
	Terminal bool
}

// RunContextOf reads a DAG run's part of its task instances from the flow run: the run's
// name and logical date, its work pool and queue (Airflow's pool and queue; "default_pool"
// without a work pool), and the host and pid a runner recorded as "<host>:<pid>".
func RunContextOf(run wire.FlowRunDetail, dagID string) RunContext {
	rc := RunContext{DAGID: dagID, DAGRunID: run.Name, FlowRunID: run.ID, Pool: "default_pool",
		Queue: run.WorkQueueName, Notes: run.AllLabels}
	if run.ExpectedStartTime != nil {
		rc.LogicalDate = run.ExpectedStartTime.UTC()
		rc.ExecutionDate = FormatTime(*run.ExpectedStartTime)
	}
	if run.WorkPoolName != nil && *run.WorkPoolName != "" {
		rc.Pool = *run.WorkPoolName
	}
	if run.InfrastructurePID != nil {
		rc.Hostname, rc.PID = splitInfrastructurePID(*run.InfrastructurePID)
	}
	if st := currentFlowRunState(run.FlowRun); st != "" {
		rc.Terminal = st.Terminal()
	}
	return rc
}

func currentFlowRunState(run wire.FlowRun) wire.StateType {
	switch {
	case run.StateType != nil:
		return *run.StateType
	case run.State != nil:
		return run.State.Type
	}
	return ""
}

// splitInfrastructurePID reads what the process that executes a flow run recorded: a
// process worker writes the pid, some record "<host>:<pid>"; other workers' identifiers (a
// container id, a Kubernetes job name) name no pid.
func splitInfrastructurePID(v string) (host string, pid *int) {
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		host, v = v[:i], v[i+1:]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return "", nil
	}
	return host, &n
}

// TaskNoteLabel is the flow-run label that holds the note of one task instance. One label
// per instance, so that notes set at once on different instances never overwrite each other.
func TaskNoteLabel(taskID string, mapIndex int) string {
	return "airflow.task_note." + strconv.Itoa(mapIndex) + "." + taskID
}

// TaskInstanceOf writes one task instance out.
func TaskInstanceOf(e TIEntry, rc RunContext) TaskInstance {
	op := TaskOperator
	weight := 1
	ti := TaskInstance{
		TaskID: e.TaskID, TaskDisplayName: e.DisplayName, DAGID: rc.DAGID, DAGRunID: rc.DAGRunID,
		ExecutionDate: rc.ExecutionDate, MapIndex: e.MapIndex, MaxTries: e.Retries,
		Hostname: rc.Hostname, Pool: rc.Pool, PoolSlots: 1, Queue: rc.Queue,
		PriorityWeight: &weight, Operator: &op, PID: rc.PID, ExecutorConfig: "{}",
		RenderedFields: map[string]any{}, TryNumber: e.TryNumber(),
	}
	if ti.TaskDisplayName == "" {
		ti.TaskDisplayName = e.TaskID
	}
	if note, ok := rc.Notes[TaskNoteLabel(e.TaskID, e.MapIndex)]; ok && note != "" {
		n := string(note)
		ti.Note = &n
	}
	if e.Run == nil {
		ti.Hostname, ti.PID = "", nil // nothing of this task ran on the run's host yet
		return ti
	}
	r := e.Run
	ti.StartDate = FormatTimePtr(r.StartTime)
	ti.EndDate = FormatTimePtr(r.EndTime)
	if r.StartTime != nil && r.EndTime != nil {
		d := r.EndTime.Sub(*r.StartTime).Seconds()
		ti.Duration = &d
	}
	st, name := taskRunState(*r)
	ti.State = TaskInstanceState(st, name)
	return ti
}

func taskRunState(r wire.TaskRun) (wire.StateType, string) {
	var t wire.StateType
	var name string
	if r.StateType != nil {
		t = *r.StateType
	} else if r.State != nil {
		t = r.State.Type
	}
	if r.StateName != nil {
		name = *r.StateName
	} else if r.State != nil {
		name = r.State.Name
	}
	return t, name
}

// TaskInstanceReferenceOf is the reference Airflow's write routes answer with.
func TaskInstanceReferenceOf(ti TaskInstance) TaskInstanceReference {
	return TaskInstanceReference{TaskID: ti.TaskID, DAGID: ti.DAGID, ExecutionDate: ti.ExecutionDate, DAGRunID: ti.DAGRunID}
}
