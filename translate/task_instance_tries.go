package translate

import (
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Tries. Prefect keeps one task run across its retries (run_count counts them) and records
// each try's start as a RUNNING state ("Running", then "Retrying"); a try that failed and was
// retried ends where the next state begins (AwaitingRetry, or the next Retrying). Airflow's
// history shows such a try as failed, as TaskInstanceHistory.record_ti does.

// TryWindow is the time span of one try; a nil end is open (the try still runs, or is the last).
type TryWindow struct {
	Start, End *time.Time
}

// TryWindows splits a task run's state history (oldest first) into its runCount tries.
// With fewer RUNNING states recorded than tries, the tries without one get empty windows
// (nil, nil) and the last try keeps everything after the last recorded start.
func TryWindows(history []wire.State, runCount int) []TryWindow {
	var starts []int
	for i, st := range history {
		if st.Type == wire.Running {
			starts = append(starts, i)
		}
	}
	out := make([]TryWindow, runCount)
	// The newest recorded starts belong to the newest tries.
	offset := runCount - len(starts)
	for k, idx := range starts {
		try := k + offset
		if try < 0 {
			continue
		}
		out[try].Start = history[idx].Timestamp
		if k+1 < len(starts) && idx+1 < len(history) {
			out[try].End = history[idx+1].Timestamp
		}
	}
	return out
}

// TryInstance is the task instance as it was in try number try, which ran in task run r
// (whose tries start at first), within window w of that run. Every try but a run's last
// one ended failed; the last has the task run's own times and state.
func TryInstance(e TIEntry, rc RunContext, r wire.TaskRun, first, try int, w TryWindow) TaskInstance {
	single := e
	single.Run, single.Earlier = &r, nil
	ti := TaskInstanceOf(single, rc)
	ti.TryNumber = try
	ti.Note = nil // Airflow's history keeps no note
	if try == first+r.RunCount-1 {
		if w.Start != nil {
			ti.StartDate = FormatTimePtr(w.Start)
			if r.EndTime != nil {
				d := r.EndTime.Sub(*w.Start).Seconds()
				ti.Duration = &d
			}
		}
		return ti
	}
	failed := "failed"
	ti.State = &failed
	ti.StartDate, ti.EndDate, ti.Duration = FormatTimePtr(w.Start), FormatTimePtr(w.End), nil
	if w.Start != nil && w.End != nil {
		d := w.End.Sub(*w.Start).Seconds()
		ti.Duration = &d
	}
	return ti
}

// TryOf finds the task run that ran try number try of e, and the try's index within it.
func TryOf(e TIEntry, try int) (run TaskRunTries, index int, ok bool) {
	for _, t := range e.Tries() {
		if try >= t.First && try < t.First+t.Run.RunCount {
			return t, try - t.First, true
		}
	}
	return TaskRunTries{}, 0, false
}
