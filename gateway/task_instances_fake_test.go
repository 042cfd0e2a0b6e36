package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// The fake Prefect's task-run side (prefect/server 3.8.8 as the handlers rely on it):
// /task_runs/filter with its flow_runs and deployments joins, /task_run_states/,
// /task_runs/{id}/set_state (CoreTaskPolicy's refusals the handlers meet: a final run asked
// to run again is aborted), /logs/filter (timestamp order, inclusive bounds), and
// /artifacts/filter; plus every flow-run label and the infrastructure_pid, which the
// DAG-run side of the fake does not keep.
type fakeTaskAPI struct {
	labels   map[string]map[string]any // flow-run id → every label
	infraPID map[string]string         // flow-run id → infrastructure_pid
	states   map[string][]wire.State   // task-run id → history
	logs     []wire.Log
	arts     []wire.Artifact
}

func (f *fakePrefect) mergeLabels(runID string, labels map[string]any) {
	if f.taskAPI.labels == nil {
		f.taskAPI.labels = map[string]map[string]any{}
	}
	if f.taskAPI.labels[runID] == nil {
		f.taskAPI.labels[runID] = map[string]any{}
	}
	for k, v := range labels {
		f.taskAPI.labels[runID][k] = v
	}
}

// withExtras writes flow runs as Prefect does: with every label and the infrastructure id.
func (f *fakePrefect) withExtras(runs []wire.FlowRun) []map[string]any {
	out := make([]map[string]any, 0, len(runs))
	for _, r := range runs {
		raw, _ := json.Marshal(r)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		labels, _ := m["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		for k, v := range f.taskAPI.labels[r.ID] {
			labels[k] = v
		}
		m["labels"] = labels
		if pid, ok := f.taskAPI.infraPID[r.ID]; ok {
			m["infrastructure_pid"] = pid
		} else {
			m["infrastructure_pid"] = nil
		}
		out = append(out, m)
	}
	return out
}

// addTask adds a task run as the task-run recorder writes it: made at `at` (seconds after
// the run's logical date), in state st, having run runCount times.
func (f *fakePrefect) addTask(run *wire.FlowRun, key string, at float64, st wire.StateType, runCount int) wire.TaskRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := run.ID
	made := run.ExpectedStartTime.Add(time.Duration(at * float64(time.Second)))
	name := fakeStateName(st)
	t := st
	tr := wire.TaskRun{ID: f.nextID(), FlowRunID: &id, TaskKey: key, DynamicKey: f.nextID(), Name: key + "-x",
		ExpectedStartTime: &made, Created: &made, Updated: &made, StateType: &t, StateName: &name, RunCount: runCount,
		FlowRunRunCount: 1, EmpiricalPolicy: map[string]any{"retries": 1.0}}
	if runCount > 0 {
		start, end := made.Add(time.Second), made.Add(3*time.Second)
		tr.StartTime = &start
		if st.Terminal() {
			tr.EndTime = &end
		}
	}
	tr.State = &wire.State{ID: f.nextID(), Type: st, Name: name, Timestamp: &made}
	f.taskRuns = append(f.taskRuns, tr)
	return tr
}

func (f *fakePrefect) hasTaskRun(flowRunID string, q *wire.TaskRunFilter) bool {
	for _, tr := range f.taskRuns {
		if tr.FlowRunID != nil && *tr.FlowRunID == flowRunID && fakeTaskRunMatches(tr, q) {
			return true
		}
	}
	return false
}

func fakeTaskRunMatches(tr wire.TaskRun, q *wire.TaskRunFilter) bool {
	if q == nil {
		return true
	}
	if q.ID != nil && !slices.Contains(q.ID.Any, tr.ID) {
		return false
	}
	if q.FlowRunID != nil && q.FlowRunID.Any != nil && (tr.FlowRunID == nil || !slices.Contains(q.FlowRunID.Any, *tr.FlowRunID)) {
		return false
	}
	if q.State != nil && q.State.Type != nil && (tr.StateType == nil || !slices.Contains(q.State.Type.Any, string(*tr.StateType))) {
		return false
	}
	in := func(t *time.Time, rg *wire.TimeRange) bool {
		if rg == nil {
			return true
		}
		if t == nil {
			return false
		}
		return (rg.After == nil || !t.Before(*rg.After)) && (rg.Before == nil || !t.After(*rg.Before))
	}
	return in(tr.StartTime, q.StartTime) && in(tr.EndTime, q.EndTime) && in(tr.ExpectedStartTime, q.ExpectedStartTime)
}

// handleTaskAPI answers the task-run side; it reports whether the request was one of it.
// The caller holds f.mu.
func (f *fakePrefect) handleTaskAPI(w http.ResponseWriter, r *http.Request, path string, parts []string) bool {
	switch {
	case r.Method == http.MethodPost && path == "/task_runs/filter":
		var q fakeQuery
		if !fakeDecodeStrict(w, r, []string{"flows", "flow_runs", "task_runs", "deployments", "sort", "limit", "offset"}, &q) || !f.checkLimit(w, q.Limit) {
			return true
		}
		var out []wire.TaskRun
		for _, tr := range f.taskRuns {
			if !fakeTaskRunMatches(tr, q.TaskRuns) {
				continue
			}
			if q.FlowRuns != nil || q.Deployments != nil {
				run := f.runLocked(*tr.FlowRunID)
				if run == nil || !f.matches(run, fakeQuery{FlowRuns: q.FlowRuns, Deployments: q.Deployments}) {
					continue
				}
			}
			out = append(out, tr)
		}
		switch q.Sort {
		case "", "ID_DESC":
			sort.SliceStable(out, func(i, j int) bool { return out[i].ID > out[j].ID })
		case "EXPECTED_START_TIME_ASC":
			at := func(tr wire.TaskRun) time.Time {
				if tr.ExpectedStartTime == nil {
					return time.Time{}
				}
				return *tr.ExpectedStartTime
			}
			sort.SliceStable(out, func(i, j int) bool { return at(out[i]).Before(at(out[j])) })
		default:
			fakeDetail(w, 422, "bad sort "+q.Sort)
			return true
		}
		fakeJSON(w, 200, fakePage(out, q.Offset, q.Limit))
	case r.Method == http.MethodGet && path == "/task_run_states/":
		states := f.taskAPI.states[r.URL.Query().Get("task_run_id")]
		if states == nil {
			states = []wire.State{}
		}
		fakeJSON(w, 200, states)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "task_runs" && parts[2] == "set_state":
		var body struct {
			State wire.StateCreate `json:"state"`
			Force bool             `json:"force"`
		}
		if !fakeDecodeStrict(w, r, []string{"state", "force"}, &body) {
			return true
		}
		for i := range f.taskRuns {
			tr := &f.taskRuns[i]
			if tr.ID != parts[1] {
				continue
			}
			if tr.StateType != nil && tr.StateType.Terminal() && !body.State.Type.Terminal() {
				reason := "This run is in a terminal state and cannot transition."
				fakeJSON(w, 200, map[string]any{"status": "ABORT", "state": nil, "details": map[string]any{"type": "abort_details", "reason": reason}})
				return true
			}
			t, name := body.State.Type, fakeStateName(body.State.Type)
			st := wire.State{ID: f.nextID(), Type: t, Name: name, Timestamp: f.tick()}
			tr.StateType, tr.StateName, tr.State = &t, &name, &st
			fakeJSON(w, 201, map[string]any{"status": "ACCEPT", "state": st, "details": map[string]any{"type": "accept_details"}})
			return true
		}
		fakeJSON(w, 404, map[string]any{"detail": "Task run not found"})
	case r.Method == http.MethodPost && path == "/logs/filter":
		var q wire.LogQuery
		if !fakeDecodeStrict(w, r, []string{"logs", "sort", "limit", "offset"}, &q) || !f.checkLimit(w, q.Limit) {
			return true
		}
		var out []wire.Log
		for _, l := range f.taskAPI.logs {
			if q.Logs != nil && q.Logs.TaskRunID != nil && (l.TaskRunID == nil || !slices.Contains(q.Logs.TaskRunID.Any, *l.TaskRunID)) {
				continue
			}
			if q.Logs != nil && q.Logs.Timestamp != nil {
				rg := q.Logs.Timestamp
				if rg.After != nil && l.Timestamp.Before(*rg.After) || rg.Before != nil && l.Timestamp.After(*rg.Before) {
					continue
				}
			}
			out = append(out, l)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp.Before(*out[j].Timestamp) })
		fakeJSON(w, 200, fakePage(out, q.Offset, q.Limit))
	case r.Method == http.MethodPost && path == "/artifacts/filter":
		var q wire.ArtifactQuery
		if !fakeDecodeStrict(w, r, []string{"artifacts", "flow_runs", "task_runs", "flows", "deployments", "sort", "limit", "offset"}, &q) || !f.checkLimit(w, q.Limit) {
			return true
		}
		var out []wire.Artifact
		for _, a := range f.taskAPI.arts {
			if q.Artifacts != nil && q.Artifacts.TaskRunID != nil && (a.TaskRunID == nil || !slices.Contains(q.Artifacts.TaskRunID.Any, *a.TaskRunID)) {
				continue
			}
			if q.Artifacts != nil && q.Artifacts.FlowRunID != nil && (a.FlowRunID == nil || !slices.Contains(q.Artifacts.FlowRunID.Any, *a.FlowRunID)) {
				continue
			}
			out = append(out, a)
		}
		fakeJSON(w, 200, fakePage(out, q.Offset, q.Limit))
	default:
		return false
	}
	return true
}

// runLocked is run without taking f.mu (the caller holds it).
func (f *fakePrefect) runLocked(id string) *wire.FlowRun {
	for _, r := range f.runs {
		if r.ID == id {
			return r
		}
	}
	return nil
}
