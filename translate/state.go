package translate

import (
	"fmt"

	"airflow-prefect-gateway/prefect/wire"
)

// Airflow's DagState values, the only four a DAG run can report.
const (
	DAGRunQueued  = "queued"
	DAGRunRunning = "running"
	DAGRunSuccess = "success"
	DAGRunFailed  = "failed"
)

// DAGRunStates lists Airflow's DagState enum in its documented order.
var DAGRunStates = []string{DAGRunQueued, DAGRunRunning, DAGRunSuccess, DAGRunFailed}

// DAGRunState maps a Prefect flow-run state type to Airflow's DAG-run state (DESIGN §4).
// A run that has no state yet has not started: queued.
func DAGRunState(t wire.StateType) string {
	switch t {
	case wire.Running, wire.Cancelling:
		// A cancelling run is still executing until its infrastructure stops it.
		return DAGRunRunning
	case wire.Completed:
		return DAGRunSuccess
	case wire.Failed, wire.Crashed, wire.Cancelled:
		return DAGRunFailed
	default: // SCHEDULED (any name), PENDING, PAUSED, unknown
		return DAGRunQueued
	}
}

// PrefectStateTypes is the inverse of DAGRunState for one Airflow state: the Prefect state
// types that report as it. ok is false for a value that is not an Airflow DAG-run state.
func PrefectStateTypes(dagRunState string) (types []wire.StateType, ok bool) {
	switch dagRunState {
	case DAGRunQueued:
		return []wire.StateType{wire.Scheduled, wire.Pending, wire.Paused}, true
	case DAGRunRunning:
		return []wire.StateType{wire.Running, wire.Cancelling}, true
	case DAGRunSuccess:
		return []wire.StateType{wire.Completed}, true
	case DAGRunFailed:
		return []wire.StateType{wire.Failed, wire.Crashed, wire.Cancelled}, true
	}
	return nil, false
}

// StateTypesFilter turns Airflow's `state` filter values into the Prefect state types to
// match. Airflow compares the values verbatim, so a value that is not a DAG-run state
// matches no run; when none of them is one, matchNothing is true and no Prefect call is
// needed. An empty input means no state filter (types nil, matchNothing false).
func StateTypesFilter(states []string) (types []wire.StateType, matchNothing bool) {
	if len(states) == 0 {
		return nil, false
	}
	seen := map[wire.StateType]bool{}
	for _, s := range states {
		ts, ok := PrefectStateTypes(s)
		if !ok {
			continue
		}
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				types = append(types, t)
			}
		}
	}
	return types, len(types) == 0
}

// TaskInstanceState maps a Prefect task-run state to Airflow's task-instance state
// (DESIGN §4); nil (Airflow's "no status") when the task run has no state. Every PENDING
// name but NotReady, Prefect 3.6's Submitting and InfrastructurePending included, is queued.
func TaskInstanceState(t wire.StateType, name string) *string {
	var s string
	switch t {
	case wire.Scheduled:
		s = "scheduled"
		if name == "AwaitingRetry" {
			s = "up_for_retry"
		}
	case wire.Pending:
		s = "queued"
		// Prefect leaves a task run whose upstream did not complete in Pending "NotReady"
		// (prefect/task_engine.py: UpstreamTaskError); it never runs.
		if name == "NotReady" {
			s = "upstream_failed"
		}
	case wire.Paused:
		s = "deferred"
	case wire.Running, wire.Cancelling:
		s = "running"
	case wire.Completed:
		s = "success"
	case wire.Failed, wire.Crashed:
		s = "failed"
	case wire.Cancelled:
		s = "skipped"
	default:
		return nil
	}
	return &s
}

// DAGRunStateChange is the Prefect state proposed for Airflow's
// PATCH .../dagRuns/{id} {"state": target} on a run currently in state current (DESIGN §4):
//   - failed on an unfinished run cancels it (CANCELLING; Prefect turns a run that never
//     started straight into CANCELLED). A run already cancelling is marked CANCELLED, the
//     only state Prefect lets it move to.
//   - failed on a finished run marks it FAILED.
//   - success marks it COMPLETED.
//   - queued re-queues it (SCHEDULED now).
func DAGRunStateChange(target string, current wire.StateType) (wire.StateCreate, error) {
	msg := "Marked " + target + " through the Airflow API"
	switch target {
	case DAGRunFailed:
		switch {
		case current == wire.Cancelling:
			return wire.StateCreate{Type: wire.Cancelled, Message: msg}, nil
		case current.Terminal():
			return wire.StateCreate{Type: wire.Failed, Message: msg}, nil
		default:
			return wire.StateCreate{Type: wire.Cancelling, Message: msg}, nil
		}
	case DAGRunSuccess:
		return wire.StateCreate{Type: wire.Completed, Message: msg}, nil
	case DAGRunQueued:
		return wire.StateCreate{Type: wire.Scheduled, Message: "Re-queued through the Airflow API"}, nil
	}
	return wire.StateCreate{}, fmt.Errorf("'%s' is not one of ['success', 'failed', 'queued'] - 'state'", target)
}

// ApplyState returns run as Prefect's bookkeeping leaves it once state has been written
// (prefect/server/orchestration/global_policy.py): state type and name, start_time set on
// the first RUNNING or on a final state reached without running, end_time set on entering a
// final state (kept when moving between final states) and cleared on leaving one. It lets
// a state change answer with the run without reading it again.
func ApplyState(run wire.FlowRun, state wire.State) wire.FlowRun {
	var previous wire.StateType
	if run.StateType != nil {
		previous = *run.StateType
	}
	t, name := state.Type, state.Name
	run.StateType = &t
	run.StateName = &name
	st := state
	run.State = &st
	// Prefect always stamps a written state; without a stamp the times are left alone.
	ts := state.Timestamp
	if t == wire.Running && run.StartTime == nil {
		run.StartTime = ts
	}
	if previous.Terminal() && !t.Terminal() {
		run.EndTime = nil
	}
	if t.Terminal() && run.EndTime == nil && ts != nil {
		if run.StartTime == nil {
			run.StartTime = ts
		}
		run.EndTime = ts
	}
	if t == wire.Scheduled {
		run.NextScheduledStartTime = state.StateDetails.ScheduledTime
	} else {
		run.NextScheduledStartTime = nil
	}
	return run
}

// prefectTaskStateTypes is the inverse of TaskInstanceState for one Airflow task state: the
// Prefect state types whose task runs can report it (a superset where the state name
// decides: SCHEDULED holds both scheduled and up_for_retry, PENDING queued and
// upstream_failed). Airflow states Prefect never reports give none.
func prefectTaskStateTypes(state string) []wire.StateType {
	switch state {
	case "success":
		return []wire.StateType{wire.Completed}
	case "running":
		return []wire.StateType{wire.Running, wire.Cancelling}
	case "failed":
		return []wire.StateType{wire.Failed, wire.Crashed}
	case "skipped":
		return []wire.StateType{wire.Cancelled}
	case "queued", "upstream_failed":
		return []wire.StateType{wire.Pending}
	case "scheduled", "up_for_retry":
		return []wire.StateType{wire.Scheduled}
	case "deferred":
		return []wire.StateType{wire.Paused}
	default: // up_for_reschedule, removed, restarting: no Prefect state maps to them
		return nil
	}
}

// TaskStateChange is the Prefect state proposed when Airflow sets a task instance to
// new_state (UpdateTaskState: success, failed or skipped): Completed, Failed or Cancelled,
// the states that report as them.
func TaskStateChange(newState string) (wire.StateCreate, bool) {
	msg := "Marked " + newState + " through the Airflow API"
	switch newState {
	case "success":
		return wire.StateCreate{Type: wire.Completed, Message: msg}, true
	case "failed":
		return wire.StateCreate{Type: wire.Failed, Message: msg}, true
	case "skipped":
		return wire.StateCreate{Type: wire.Cancelled, Message: msg}, true
	}
	return wire.StateCreate{}, false
}
