package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

type eventLogEnv struct {
	*runsEnv
	secret *fakeDeployment
	base   time.Time
	run    *wire.FlowRun
}

// newEventLogEnv seeds 60 flow-run events of etl.daily (one a minute), 3 task-run events of
// its run r0, 2 of payroll.monthly and one of a run without a deployment.
func newEventLogEnv(t *testing.T, adjust ...func(*Options)) *eventLogEnv {
	e := &eventLogEnv{runsEnv: newRunsEnv(t, adjust...), base: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}
	e.secret = e.fake.addDeployment("payroll", "monthly")
	e.run = e.fake.addRun(e.dep, "r0", e.base, wire.Completed)
	other := e.fake.addRun(e.secret, "p0", e.base, wire.Completed)
	id := func(n int) string { return fmt.Sprintf("0190f000-0000-7000-8000-%012x", n) }
	for i := range 60 {
		e.fake.addEvent(flowRunEvent(e.dep, "etl", e.run, []string{"Pending", "Running", "Completed"}[i%3], e.base.Add(time.Duration(i)*time.Minute), id(i)))
	}
	e.fake.addEvent(taskRunEvent(e.dep, e.run, "t1", "extract", "Running", "1", e.base.Add(10*time.Second), id(100)))
	e.fake.addEvent(taskRunEvent(e.dep, e.run, "t1", "extract", "Running", "2", e.base.Add(20*time.Second), id(101)))
	e.fake.addEvent(taskRunEvent(e.dep, e.run, "t2", "load", "Completed", "1", e.base.Add(30*time.Second), id(102)))
	e.fake.addEvent(flowRunEvent(e.secret, "payroll", other, "Running", e.base.Add(90*time.Second), id(200)))
	e.fake.addEvent(flowRunEvent(e.secret, "payroll", other, "Completed", e.base.Add(91*time.Second), id(201)))
	e.fake.addEvent(wire.Event{ID: id(300), Occurred: e.base.Add(5 * time.Second), Event: "prefect.flow-run.Running",
		Resource: wire.Resource{"prefect.resource.id": "prefect.flow-run.adhoc", "prefect.resource.name": "adhoc"}})
	e.fake.addEvent(wire.Event{ID: id(400), Occurred: e.base.Add(6 * time.Second), Event: "prefect.log.write",
		Resource: wire.Resource{"prefect.resource.id": "prefect.flow-run.x"}})
	e.fake.mu.Lock()
	e.fake.taskRuns = append(e.fake.taskRuns, wire.TaskRun{ID: "t1", FlowRunID: &e.run.ID, TaskKey: "extract"},
		wire.TaskRun{ID: "t2", FlowRunID: &e.run.ID, TaskKey: "load"})
	e.fake.mu.Unlock()
	return e
}

func (e *eventLogEnv) logs(t *testing.T, query string) translate.EventLogCollection {
	t.Helper()
	a := e.do(http.MethodGet, "/eventLogs"+query, "")
	if a.status != 200 {
		t.Fatalf("%s: %d %s", query, a.status, a.body)
	}
	var c translate.EventLogCollection
	if err := json.Unmarshal(a.body, &c); err != nil || c.EventLogs == nil {
		t.Fatalf("%s: not an EventLogCollection: %s", query, a.body)
	}
	return c
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestEventLogs(t *testing.T) {
	e := newEventLogEnv(t)
	e.do(http.MethodGet, "/dags", "") // warm the DAG cache
	e.fake.takeCalls()

	all := e.logs(t, "?limit=100")
	if all.TotalEntries != 66 || len(all.EventLogs) != 66 {
		t.Fatalf("total %d, %d entries", all.TotalEntries, len(all.EventLogs))
	}
	for i := 1; i < len(all.EventLogs); i++ {
		if all.EventLogs[i].EventLogID <= all.EventLogs[i-1].EventLogID {
			t.Fatalf("entries %d and %d are not in ascending event_log_id", i-1, i)
		}
	}
	first := all.EventLogs[0]
	if first.Event != "prefect.flow-run.Pending" || deref(first.DAGID) != "etl.daily" || deref(first.RunID) != "r0" ||
		first.When != "2024-05-01T00:00:00+00:00" || first.TaskID != nil || first.Owner != nil {
		t.Errorf("first entry %+v", first)
	}
	var extra map[string]any
	if err := json.Unmarshal([]byte(deref(first.Extra)), &extra); err != nil || extra["id"] != "0190f000-0000-7000-8000-000000000000" {
		t.Errorf("extra %s", deref(first.Extra))
	}
	task := all.EventLogs[2] // 00:00:10, extract's first try
	if deref(task.TaskID) != "extract" || deref(task.RunID) != "r0" || task.TryNumber == nil || *task.TryNumber != 1 {
		t.Errorf("task entry %+v", task)
	}
	adhoc := all.EventLogs[1] // 00:00:05, no deployment
	if adhoc.DAGID != nil || deref(adhoc.RunID) != "adhoc" {
		t.Errorf("entry of a run without a deployment %+v", adhoc)
	}
	if calls := normalizeCalls(e.fake.takeCalls()); !sameMultiset(calls, []string{"POST /events/filter", "GET /events/filter/next"}) {
		t.Errorf("calls of a 100-entry page: %v", calls)
	}
	small := e.logs(t, "?limit=5&offset=3&order_by=-when")
	if calls := e.fake.takeCalls(); len(calls) != 1 || len(small.EventLogs) != 5 || small.EventLogs[0].EventLogID != all.EventLogs[62].EventLogID {
		t.Errorf("a page within the first 50: %v, %+v", calls, small.EventLogs[0])
	}
	deep := e.logs(t, "?limit=4&offset=60")
	if len(deep.EventLogs) != 4 || deep.EventLogs[0].EventLogID != all.EventLogs[60].EventLogID || deep.TotalEntries != 66 {
		t.Errorf("deep page %+v", deep)
	}

	for _, tc := range []struct {
		query string
		total int
	}{
		{"?dag_id=etl.daily", 63},
		{"?dag_id=payroll.monthly", 2},
		{"?dag_id=nope.nope", 0},
		{"?run_id=r0", 63},
		{"?run_id=r0&task_id=extract", 2},
		{"?run_id=r0&task_id=extract&try_number=2", 1},
		{"?try_number=1", 2},
		{"?try_number=0", 66},
		{"?map_index=0", 66},
		{"?map_index=-1", 0},
		{"?owner=admin", 0},
		{"?event=prefect.flow-run.Completed", 21},
		{"?included_events=prefect.flow-run.Pending,prefect.task-run.Running", 22},
		{"?event=prefect.flow-run.Pending&included_events=prefect.flow-run.Completed", 0},
		{"?excluded_events=prefect.flow-run.Pending,prefect.flow-run.Running", 24},
		{"?after=2024-05-01T00:00:00Z&before=2024-05-01T00:02:00Z", 7},
		{"?after=2024-05-01T00:00:10%2B00:00", 63},
	} {
		if got := e.logs(t, tc.query); got.TotalEntries != tc.total || len(got.EventLogs) != min(tc.total, 100) {
			t.Errorf("%s: total %d, %d entries; want %d", tc.query, got.TotalEntries, len(got.EventLogs), tc.total)
		}
	}

	for _, tc := range []struct{ query, detail string }{
		{"?order_by=dag_id", "Ordering with 'dag_id' is disallowed or the attribute does not exist on the model"},
		{"?task_id=extract", "task_id can only be filtered together with run_id: Prefect's events name a task run's key only inside the run"},
		{"?run_id=r*", `run_id "r*" holds a character ('*', '?' or a leading '!') that Prefect's event filter reads as a pattern, so it cannot be matched exactly`},
	} {
		if p := e.do(http.MethodGet, "/eventLogs"+tc.query, "").problem(t); p.Status != 400 || p.Detail != tc.detail {
			t.Errorf("%s: %+v", tc.query, p)
		}
	}

	e.fake.takeCalls()
	one := e.do(http.MethodGet, fmt.Sprintf("/eventLogs/%d", task.EventLogID), "")
	var got translate.EventLog
	if one.status != 200 || json.Unmarshal(one.body, &got) != nil || !equalJSON(got, task) {
		t.Errorf("get %d: %d %s", task.EventLogID, one.status, one.body)
	}
	if calls := e.fake.takeCalls(); len(calls) != 1 {
		t.Errorf("get: calls %v", calls)
	}
	for _, id := range []int64{task.EventLogID + 1, 1, 0, -5} {
		if p := e.do(http.MethodGet, fmt.Sprintf("/eventLogs/%d", id), "").problem(t); p.Status != 404 || p.Title != "Event Log not found" {
			t.Errorf("get %d: %+v", id, p)
		}
	}
}

func TestEventLogsOfHiddenDAGs(t *testing.T) {
	dir := t.TempDir()
	hash, err := HashPassword([]byte("pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	users := "users:\n  - username: ana\n    password_bcrypt: '" + hash + "'\n    role: Viewer\n    dags: ['payroll.*']\n"
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEventLogEnv(t, func(o *Options) {
		o.Auth = AuthOptions{Mode: AuthModeUsers, UsersFile: filepath.Join(dir, "users.yaml")}
	})
	e.user, e.pass = "ana", "pw"
	got := e.logs(t, "")
	if got.TotalEntries != 2 || deref(got.EventLogs[0].DAGID) != "payroll.monthly" {
		t.Errorf("a limited user sees %+v", got)
	}
	if got := e.logs(t, "?dag_id=etl.daily"); got.TotalEntries != 0 {
		t.Errorf("a hidden DAG's entries: %+v", got)
	}
	all := e.logs(t, "?run_id=r0")
	if all.TotalEntries != 0 {
		t.Errorf("a hidden DAG's run: %+v", all)
	}
	hidden := translate.EventLogID(e.base.Add(10*time.Second), "0190f000-0000-7000-8000-000000000064")
	if p := e.do(http.MethodGet, fmt.Sprintf("/eventLogs/%d", hidden), "").problem(t); p.Status != 404 {
		t.Errorf("a hidden DAG's entry: %+v", p)
	}
}
