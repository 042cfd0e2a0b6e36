package gateway

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

type v2RunList struct {
	DAGRuns []map[string]any `json:"dag_runs"`
	Total   int              `json:"total_entries"`
}

func (l v2RunList) ids() []string {
	out := []string{}
	for _, r := range l.DAGRuns {
		out = append(out, r["dag_run_id"].(string))
	}
	return out
}

func TestV2Trigger(t *testing.T) {
	e := newV2Env(t)
	e.login("user")
	var run map[string]any
	a := e.do(http.MethodPost, "/api/v2/dags/etl.daily/dagRuns", `{"logical_date":null,"conf":{"n":1},"note":"why"}`)
	a.decode(t, &run)
	if a.status != 200 || run["logical_date"] != nil || run["run_after"] == nil || run["triggered_by"] != "rest_api" ||
		run["triggering_user_name"] != "user" || run["state"] != "queued" || run["note"] != "why" ||
		!strings.HasPrefix(run["dag_run_id"].(string), "manual__") || len(run["dag_versions"].([]any)) != 1 {
		t.Fatalf("trigger: %d %s", a.status, a.body)
	}
	// Read back: still no logical date.
	a = e.do(http.MethodGet, "/api/v2/dags/etl.daily/dagRuns/"+run["dag_run_id"].(string), "")
	a.decode(t, &run)
	if a.status != 200 || run["logical_date"] != nil || run["conf"].(map[string]any)["n"] != float64(1) {
		t.Errorf("get: %d %s", a.status, a.body)
	}
	// A pinned logical date and run id; the same again is Airflow 3's 409 object.
	body := `{"dag_run_id":"r1","logical_date":"2024-05-01T00:00:00Z"}`
	a = e.do(http.MethodPost, "/api/v2/dags/etl.daily/dagRuns", body)
	a.decode(t, &run)
	if a.status != 200 || run["logical_date"] != "2024-05-01T00:00:00Z" || run["dag_run_id"] != "r1" {
		t.Fatalf("pinned: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodPost, "/api/v2/dags/etl.daily/dagRuns", `{"dag_run_id":"r1","logical_date":null}`)
	if d, ok := a.detail(t).(map[string]any); a.status != 409 || !ok || d["reason"] != "Unique constraint violation" || d["statement"] != "hidden" {
		t.Errorf("duplicate: %d %s", a.status, a.body)
	}
	for _, tc := range []struct {
		body   string
		status int
		typ    string
	}{
		{`{}`, 422, "missing"},
		{`{"logical_date":null,"execution_date":"2024-01-01T00:00:00Z"}`, 422, "extra_forbidden"},
		{`{"logical_date":"yesterday"}`, 422, "datetime_from_date_parsing"},
		{`{"logical_date":null,"conf":[1]}`, 422, "dict_type"},
		{`{"logical_date":null,"dag_run_id":"bad id!"}`, 400, ""},
	} {
		a := e.do(http.MethodPost, "/api/v2/dags/etl.daily/dagRuns", tc.body)
		if a.status != tc.status {
			t.Errorf("%s: %d %s", tc.body, a.status, a.body)
			continue
		}
		if tc.typ != "" {
			if list, ok := a.detail(t).([]any); !ok || list[0].(map[string]any)["type"] != tc.typ {
				t.Errorf("%s: %s", tc.body, a.body)
			}
		}
	}
	if a := e.do(http.MethodPost, "/api/v2/dags/nope/dagRuns", `{"logical_date":null}`); a.status != 404 || a.detail(t) != "Dag with dag_id: 'nope' not found" {
		t.Errorf("unknown DAG: %d %s", a.status, a.body)
	}
	e.login("viewer")
	if a := e.do(http.MethodPost, "/api/v2/dags/etl.daily/dagRuns", `{"logical_date":null}`); a.status != 403 {
		t.Errorf("viewer triggering: %d", a.status)
	}
}

func TestV2RunListsAndChanges(t *testing.T) {
	e := newV2Env(t)
	other := e.fake.addDeployment("reports", "daily")
	day := func(d int) time.Time { return time.Date(2024, 5, d, 0, 0, 0, 0, time.UTC) }
	e.fake.addRun(e.dep, "a", day(1), wire.Completed)
	e.fake.addRun(e.dep, "b", day(2), wire.Failed)
	e.fake.addRun(e.dep, "c", day(3), wire.Running)
	e.fake.addRun(other, "z", day(4), wire.Completed)
	e.login("user")
	for _, tc := range []struct {
		path  string
		want  []string
		total int
	}{
		{"/api/v2/dags/etl.daily/dagRuns?order_by=run_after", []string{"a", "b", "c"}, 3},
		{"/api/v2/dags/etl.daily/dagRuns?order_by=-logical_date&limit=2", []string{"c", "b"}, 3},
		{"/api/v2/dags/etl.daily/dagRuns?state=success&state=failed&order_by=dag_run_id", []string{"a", "b"}, 2},
		{"/api/v2/dags/etl.daily/dagRuns?run_after_gt=2024-05-01T00:00:00Z&order_by=run_after", []string{"b", "c"}, 2},
		{"/api/v2/dags/~/dagRuns?order_by=-run_after", []string{"z", "c", "b", "a"}, 4},
		{"/api/v2/dags/~/dagRuns?dag_id_pattern=reports&order_by=run_after", []string{"z"}, 1},
		{"/api/v2/dags/~/dagRuns?limit=0", []string{}, 4},
	} {
		a := e.do(http.MethodGet, tc.path, "")
		var l v2RunList
		a.decode(t, &l)
		if a.status != 200 || !reflect.DeepEqual(l.ids(), tc.want) || l.Total != tc.total {
			t.Errorf("%s: %d %v %d (%s)", tc.path, a.status, l.ids(), l.Total, a.body)
		}
	}
	var l v2RunList
	a := e.do(http.MethodPost, "/api/v2/dags/~/dagRuns/list", `{"dag_ids":["reports.daily","etl.daily"],"states":["success"],"order_by":"-run_after","page_limit":10}`)
	a.decode(t, &l)
	if a.status != 200 || !reflect.DeepEqual(l.ids(), []string{"z", "a"}) {
		t.Errorf("batch: %d %s", a.status, a.body)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/api/v2/dags/nope/dagRuns", 404},
		{"/api/v2/dags/etl.daily/dagRuns?order_by=conf", 400},
		{"/api/v2/dags/etl.daily/dagRuns?updated_at_gte=2024-01-01T00:00:00Z", 400},
		{"/api/v2/dags/etl.daily/dagRuns?limit=x", 422},
	} {
		if a := e.do(http.MethodGet, tc.path, ""); a.status != tc.status {
			t.Errorf("%s: %d %s", tc.path, a.status, a.body)
		}
	}
	// PATCH: the note, then the state.
	var run map[string]any
	a = e.do(http.MethodPatch, "/api/v2/dags/etl.daily/dagRuns/c", `{"note":"stuck","state":"failed"}`)
	a.decode(t, &run)
	if a.status != 200 || run["note"] != "stuck" || (run["state"] != "failed" && run["state"] != "running") {
		t.Errorf("patch: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodPatch, "/api/v2/dags/etl.daily/dagRuns/a?update_mask=note", `{"note":"only this","state":"failed"}`)
	a.decode(t, &run)
	if a.status != 200 || run["note"] != "only this" || run["state"] != "success" {
		t.Errorf("patch with a mask: %d %s", a.status, a.body)
	}
	if a := e.do(http.MethodPatch, "/api/v2/dags/etl.daily/dagRuns/a", `{"state":"running"}`); a.status != 422 {
		t.Errorf("a state Airflow does not allow: %d %s", a.status, a.body)
	}
	// Clear: a dry run by default, listing the run's task instances.
	e.fake.addTaskRun(e.fake.runByName("b"), "extract", "")
	var tis struct {
		TaskInstances []map[string]any `json:"task_instances"`
		Total         int              `json:"total_entries"`
	}
	a = e.do(http.MethodPost, "/api/v2/dags/etl.daily/dagRuns/b/clear", `{}`)
	a.decode(t, &tis)
	if a.status != 200 || tis.Total != 1 || tis.TaskInstances[0]["task_id"] != "extract" || tis.TaskInstances[0]["id"] == "" {
		t.Errorf("clear dry run: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodPost, "/api/v2/dags/etl.daily/dagRuns/b/clear", `{"dry_run":false}`)
	a.decode(t, &run)
	if a.status != 200 || run["state"] != "queued" {
		t.Errorf("clear: %d %s", a.status, a.body)
	}
	if a := e.do(http.MethodDelete, "/api/v2/dags/etl.daily/dagRuns/a", ""); a.status != 204 {
		t.Errorf("delete: %d %s", a.status, a.body)
	}
	if a := e.do(http.MethodGet, "/api/v2/dags/etl.daily/dagRuns/a", ""); a.status != 404 ||
		a.detail(t) != "The DagRun with dag_id: `etl.daily` and run_id: `a` was not found" {
		t.Errorf("after delete: %d %s", a.status, a.body)
	}
	// wait: a finished run is one line.
	e.noCheck = true
	a = e.do(http.MethodGet, "/api/v2/dags/reports.daily/dagRuns/z/wait?interval=0.1", "")
	if a.status != 200 || string(a.body) != "{\"state\": \"success\"}\n" || a.header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("wait: %d %q %s", a.status, a.body, a.header.Get("Content-Type"))
	}
	if a := e.do(http.MethodGet, "/api/v2/dags/reports.daily/dagRuns/z/wait", ""); a.status != 422 {
		t.Errorf("wait without interval: %d %s", a.status, a.body)
	}
}

func (f *fakePrefect) runByName(name string) *wire.FlowRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.Name == name {
			return r
		}
	}
	return nil
}
