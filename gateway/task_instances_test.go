package gateway

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// tiEnv is a runs environment with one finished run r0 of etl.daily: extract, a mapped
// transform over three items (made out of id order), load retried once; and a queued run
// q0 without task runs.
type tiEnv struct {
	*runsEnv
	run, queued *wire.FlowRun
	load        wire.TaskRun
}

func newTIEnv(t *testing.T) *tiEnv {
	e := newRunsEnv(t)
	at := time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)
	run := e.fake.addRun(e.dep, "r0", at, wire.Completed)
	e.fake.addTask(run, "extract-1a2b3c4d", 1, wire.Completed, 1)
	e.fake.addTask(run, "transform-5e6f7a8b", 2.2, wire.Completed, 1)
	e.fake.addTask(run, "transform-5e6f7a8b", 2.0, wire.Failed, 1)
	e.fake.addTask(run, "transform-5e6f7a8b", 2.1, wire.Completed, 1)
	load := e.fake.addTask(run, "load-9f8e7d6c", 3, wire.Completed, 2)
	queued := e.fake.addRun(e.dep, "q0", at.Add(time.Hour), wire.Scheduled)
	e.fake.mu.Lock()
	e.fake.taskAPI.states = map[string][]wire.State{load.ID: {
		{Type: wire.Running, Name: "Running", Timestamp: load.StartTime},
		{Type: wire.Scheduled, Name: "AwaitingRetry", Timestamp: ptrTime(load.StartTime.Add(time.Second))},
		{Type: wire.Running, Name: "Retrying", Timestamp: ptrTime(load.StartTime.Add(1500 * time.Millisecond))},
		{Type: wire.Completed, Name: "Completed", Timestamp: load.EndTime},
	}}
	e.fake.mu.Unlock()
	e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0", "") // warm the DAG cache
	return &tiEnv{runsEnv: e, run: run, queued: queued, load: load}
}

func ptrTime(t time.Time) *time.Time { return &t }

func (a runsAnswer) tis(t *testing.T) translate.TaskInstanceCollection {
	t.Helper()
	var c translate.TaskInstanceCollection
	if err := json.Unmarshal(a.body, &c); err != nil || a.status != 200 {
		t.Fatalf("not a TaskInstanceCollection (%d, %v): %s", a.status, err, a.body)
	}
	return c
}

func tiKeys(c translate.TaskInstanceCollection) []string {
	var out []string
	for _, ti := range c.TaskInstances {
		out = append(out, ti.TaskID+"["+itoa(ti.MapIndex)+"]="+strOf(ti.State))
	}
	return out
}

func TestTaskInstancesOfARun(t *testing.T) {
	e := newTIEnv(t)
	c := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0/taskInstances", "").tis(t)
	want := []string{"extract-1a2b3c4d[-1]=success", "transform-5e6f7a8b[0]=failed", "transform-5e6f7a8b[1]=success",
		"transform-5e6f7a8b[2]=success", "load-9f8e7d6c[-1]=success"}
	if got := tiKeys(c); c.TotalEntries != 5 || !equalStrings(got, want) {
		t.Errorf("task instances %v (total %d), want %v", got, c.TotalEntries, want)
	}
	if ti := c.TaskInstances[4]; ti.TryNumber != 2 || ti.DAGRunID != "r0" || ti.ExecutionDate != translate.FormatTime(time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)) || ti.MaxTries != 1 {
		t.Errorf("load: %+v", ti)
	}
	page := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0/taskInstances?limit=2&offset=1&state=success", "").tis(t)
	if got := tiKeys(page); page.TotalEntries != 4 || !equalStrings(got, []string{"transform-5e6f7a8b[1]=success", "transform-5e6f7a8b[2]=success"}) {
		t.Errorf("filtered page %v (total %d)", got, page.TotalEntries)
	}
	// A run without task runs lists the DAG's tasks, without a state.
	q := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/q0/taskInstances", "").tis(t)
	if got := tiKeys(q); !equalStrings(got, []string{"extract-1a2b3c4d[-1]=", "load-9f8e7d6c[-1]=", "transform-5e6f7a8b[-1]="}) {
		t.Errorf("queued run: %v", got)
	}
	for _, path := range []string{"/dags/etl.daily/dagRuns/nope/taskInstances", "/dags/nope.nope/dagRuns/r0/taskInstances"} {
		if c := e.do(http.MethodGet, path, "").tis(t); c.TotalEntries != 0 || len(c.TaskInstances) != 0 {
			t.Errorf("%s: %+v, want an empty list", path, c)
		}
	}
	all := e.do(http.MethodGet, "/dags/~/dagRuns/~/taskInstances?state=failed", "").tis(t)
	if got := tiKeys(all); !equalStrings(got, []string{"transform-5e6f7a8b[0]=failed"}) {
		t.Errorf("~/~ failed: %v", got)
	}
	batch := e.do(http.MethodPost, "/dags/~/dagRuns/~/taskInstances/list", `{"dag_ids":["etl.daily"],"task_ids":["load-9f8e7d6c"],"dag_run_ids":["r0"]}`).tis(t)
	if got := tiKeys(batch); !equalStrings(got, []string{"load-9f8e7d6c[-1]=success"}) {
		t.Errorf("batch: %v", got)
	}
}

func TestTaskInstanceReads(t *testing.T) {
	e := newTIEnv(t)
	cases := []struct {
		path        string
		status      int
		title, want string
	}{
		{"/dags/etl.daily/dagRuns/r0/taskInstances/extract-1a2b3c4d", 200, "", "extract-1a2b3c4d[-1]=success"},
		{"/dags/etl.daily/dagRuns/r0/taskInstances/transform-5e6f7a8b/2", 200, "", "transform-5e6f7a8b[2]=success"},
		{"/dags/etl.daily/dagRuns/q0/taskInstances/load-9f8e7d6c", 200, "", "load-9f8e7d6c[-1]="},
		{"/dags/etl.daily/dagRuns/r0/taskInstances/transform-5e6f7a8b", 404, "Task instance not found", "Task instance is mapped, add the map_index value to the URL"},
		{"/dags/etl.daily/dagRuns/r0/taskInstances/transform-5e6f7a8b/3", 404, "Task instance not found", ""},
		{"/dags/etl.daily/dagRuns/r0/taskInstances/nope", 404, "Task instance not found", ""},
		{"/dags/etl.daily/dagRuns/nope/taskInstances/extract-1a2b3c4d", 404, "Task instance not found", ""},
		{"/dags/nope.nope/dagRuns/r0/taskInstances/extract-1a2b3c4d", 404, "Task instance not found", ""},
		{"/dags/etl.daily/dagRuns/r0/taskInstances/extract-1a2b3c4d/listMapped", 404, "Task id extract-1a2b3c4d is not mapped", ""},
		{"/dags/etl.daily/dagRuns/r0/taskInstances/nope/listMapped", 404, "Task id nope not found", ""},
		{"/dags/nope.nope/dagRuns/r0/taskInstances/nope/listMapped", 404, "DAG nope.nope not found", ""},
		{"/dags/etl.daily/dagRuns/r0/taskInstances/load-9f8e7d6c/tries/3", 404, "Task instance not found",
			"Task Instance not found for dag_id=etl.daily, run_id=r0, task_id=load-9f8e7d6c, map_index=-1, try_number=3."},
		{"/dags/etl.daily/dagRuns/r0/taskInstances/transform-5e6f7a8b/x", 400, "Bad Request", ""},
	}
	for _, tc := range cases {
		a := e.do(http.MethodGet, tc.path, "")
		if a.status != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.path, a.status, tc.status, a.body)
			continue
		}
		if tc.status == 200 {
			var ti translate.TaskInstance
			_ = json.Unmarshal(a.body, &ti)
			if got := tiKeys(translate.TaskInstanceCollection{TaskInstances: []translate.TaskInstance{ti}})[0]; got != tc.want {
				t.Errorf("%s: %s, want %s", tc.path, got, tc.want)
			}
			continue
		}
		var p Problem
		_ = json.Unmarshal(a.body, &p)
		if p.Title != tc.title || (tc.status == 404 && p.Detail != tc.want) {
			t.Errorf("%s: %q / %q, want %q / %q", tc.path, p.Title, p.Detail, tc.title, tc.want)
		}
	}
	mapped := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0/taskInstances/transform-5e6f7a8b/listMapped?order_by=-state", "").tis(t)
	if got := tiKeys(mapped); !equalStrings(got, []string{"transform-5e6f7a8b[1]=success", "transform-5e6f7a8b[2]=success", "transform-5e6f7a8b[0]=failed"}) {
		t.Errorf("listMapped: %v", got)
	}
	if a := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0/taskInstances/transform-5e6f7a8b/listMapped?order_by=pool", ""); a.status != 400 {
		t.Errorf("listMapped order_by=pool: %d %s", a.status, a.body)
	}
	tries := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0/taskInstances/load-9f8e7d6c/tries", "").tis(t)
	if got := tiKeys(tries); tries.TotalEntries != 2 || !equalStrings(got, []string{"load-9f8e7d6c[-1]=failed", "load-9f8e7d6c[-1]=success"}) ||
		tries.TaskInstances[0].TryNumber != 1 || *tries.TaskInstances[0].Duration != 1 || tries.TaskInstances[1].TryNumber != 2 {
		t.Errorf("tries %v %+v", got, tries)
	}
	if a := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0/taskInstances/nope/tries", ""); a.tis(t).TotalEntries != 0 {
		t.Errorf("tries of an unknown instance: %s", a.body)
	}
}

// The Prefect calls of each task-instance read on a warm DAG cache (README, "Prefect calls").
func TestTaskInstanceCallBudget(t *testing.T) {
	e := newTIEnv(t)
	run, trs := "POST /flow_runs/filter", "POST /task_runs/filter"
	cases := []struct {
		name, method, path, body string
		calls                    []string
	}{
		{"list one run", "GET", "/dags/etl.daily/dagRuns/r0/taskInstances", "", []string{run, trs}},
		{"list a run without task runs (the DAG's tasks)", "GET", "/dags/etl.daily/dagRuns/q0/taskInstances", "", []string{run, trs, run, trs}},
		{"get one", "GET", "/dags/etl.daily/dagRuns/r0/taskInstances/extract-1a2b3c4d", "", []string{run, trs}},
		{"get mapped", "GET", "/dags/etl.daily/dagRuns/r0/taskInstances/transform-5e6f7a8b/1", "", []string{run, trs}},
		{"list mapped", "GET", "/dags/etl.daily/dagRuns/r0/taskInstances/transform-5e6f7a8b/listMapped", "", []string{run, trs}},
		{"tries of a retried task", "GET", "/dags/etl.daily/dagRuns/r0/taskInstances/load-9f8e7d6c/tries", "", []string{run, trs, "GET /task_run_states/"}},
		{"tries of a task that ran once", "GET", "/dags/etl.daily/dagRuns/r0/taskInstances/extract-1a2b3c4d/tries", "", []string{run, trs}},
		{"every run of a DAG", "GET", "/dags/etl.daily/dagRuns/~/taskInstances", "", []string{run, trs}},
		{"batch", "POST", "/dags/~/dagRuns/~/taskInstances/list", `{"dag_ids":["etl.daily"],"dag_run_ids":["r0"]}`, []string{run, trs}},
		{"states no task run has", "GET", "/dags/etl.daily/dagRuns/~/taskInstances?state=removed", "", nil},
	}
	for _, tc := range cases {
		e.fake.takeCalls()
		if a := e.do(tc.method, tc.path, tc.body); a.status != 200 {
			t.Errorf("%s: %d %s", tc.name, a.status, a.body)
			continue
		}
		if got := normalizeCalls(e.fake.takeCalls()); !sameMultiset(got, tc.calls) {
			t.Errorf("%s: %d Prefect calls %v, budget %d %v", tc.name, len(got), got, len(tc.calls), tc.calls)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
