package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

func TestDAGStats(t *testing.T) {
	e := newRunsEnv(t)
	hourly := e.fake.addDeployment("etl", "hourly")
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range []wire.StateType{wire.Scheduled, wire.Pending, wire.Running, wire.Completed, wire.Completed, wire.Crashed, wire.Cancelled} {
		e.fake.addRun(e.dep, "r"+itoa(i), at.Add(time.Duration(i)*time.Hour), st)
	}
	e.fake.addRun(hourly, "h0", at, wire.Failed)

	a := e.do(http.MethodGet, "/dagStats?dag_ids=etl.hourly,etl.daily,nope,etl.daily,", "")
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var got translate.DAGStatsCollection
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatal(err)
	}
	want := translate.DAGStatsCollection{TotalEntries: 2, DAGs: []translate.DAGStats{
		{DAGID: "etl.hourly", Stats: []translate.DAGStateCount{{State: "queued", Count: 0}, {State: "running", Count: 0}, {State: "success", Count: 0}, {State: "failed", Count: 1}}},
		{DAGID: "etl.daily", Stats: []translate.DAGStateCount{{State: "queued", Count: 2}, {State: "running", Count: 1}, {State: "success", Count: 2}, {State: "failed", Count: 2}}},
	}}
	if !equalJSON(got, want) {
		t.Errorf("got %s\nwant %s", mustMarshal(got), mustMarshal(want))
	}

	for _, tc := range []struct{ query, detail string }{
		{"", "Missing query parameter 'dag_ids'"},
		{"?dag_ids=" + manyIDs(101), "at most 100"},
	} {
		a := e.do(http.MethodGet, "/dagStats"+strings.ReplaceAll(tc.query, ",", "%2C"), "")
		if a.status != 400 {
			t.Errorf("%q: %d %s", tc.query, a.status, a.body)
		}
	}
}

func TestDAGSourceAndReparse(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.mu.Lock()
	e.dep.Entrypoint = strp("flows/etl.py:etl")
	e.dep.PullSteps = []map[string]any{{"prefect.deployments.steps.git_clone": map[string]any{
		"repository": "https://user:ghp_secret@github.com/org/repo", "branch": "main", "access_token": "ghp_secret",
		"credentials": "{{ prefect.blocks.github-credentials.repo }}"}}}
	e.fake.mu.Unlock()
	token := e.dep.ID

	text := e.doAccept(http.MethodGet, "/dagSources/"+token, "text/plain")
	if text.status != 200 || text.contentType != "text/plain" {
		t.Fatalf("text: %d %q %s", text.status, text.contentType, text.body)
	}
	body := string(text.body)
	for _, want := range []string{"# Airflow DAG etl.daily is Prefect deployment \"etl/daily\"", "entrypoint: flows/etl.py:etl",
		`"access_token":"***"`, "https://***@github.com/org/repo", `"credentials":"{{ prefect.blocks.github-credentials.repo }}"`} {
		if !strings.Contains(body, want) {
			t.Errorf("source lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "ghp_secret") {
		t.Errorf("source shows a credential:\n%s", body)
	}
	js := e.doAccept(http.MethodGet, "/dagSources/"+token, "application/json, plain/text")
	var content struct{ Content string }
	if js.status != 200 || json.Unmarshal(js.body, &content) != nil || content.Content != body {
		t.Errorf("json: %d %s", js.status, js.body)
	}
	if a := e.doAccept(http.MethodGet, "/dagSources/"+token, "*/*"); a.status != 200 || a.contentType != "text/plain" {
		t.Errorf("*/*: %d %q", a.status, a.contentType)
	}
	if a := e.doAccept(http.MethodGet, "/dagSources/"+token, "image/png"); a.status != 406 {
		t.Errorf("image/png: %d %s", a.status, a.body)
	}
	for _, bad := range []string{"nope", "d1000000-0000-4000-8000-999999999999"} {
		if p := e.do(http.MethodGet, "/dagSources/"+bad, "").problem(t); p.Status != 404 || p.Title != "Dag source not found" {
			t.Errorf("%s: %+v", bad, p)
		}
		if p := e.do(http.MethodPut, "/parseDagFile/"+bad, "").problem(t); p.Status != 404 || p.Title != "File not found" {
			t.Errorf("%s: %+v", bad, p)
		}
	}
	if a := e.do(http.MethodPut, "/parseDagFile/"+token, ""); a.status != 201 || len(a.body) != 0 {
		t.Errorf("reparse: %d %s", a.status, a.body)
	}
}

func manyIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "d" + itoa(i)
	}
	return strings.Join(ids, ",")
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		accept, want string
		ok           bool
	}{
		{"", "text/plain", true},
		{"*/*", "text/plain", true},
		{"application/json", "application/json", true},
		{"application/json, plain/text", "application/json", true},
		{"text/plain;q=0.5, application/json", "application/json", true},
		{"text/*;q=0.9, */*;q=0.1", "text/plain", true},
		{"application/*", "application/json", true},
		{"image/png", "", false},
		{"text/plain;q=0, application/json;q=0", "", false},
	} {
		got, ok := negotiate(tc.accept, mimeTextPlain, "application/json")
		if got != tc.want || ok != tc.ok {
			t.Errorf("negotiate(%q) = %q %v, want %q %v", tc.accept, got, ok, tc.want, tc.ok)
		}
	}
}

type acceptAnswer struct {
	status      int
	contentType string
	body        []byte
}

func (e *runsEnv) doAccept(method, path, accept string) acceptAnswer {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, nil)
	req.Header.Set("Accept", accept)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf strings.Builder
	_, _ = io.Copy(&buf, res.Body)
	return acceptAnswer{res.StatusCode, res.Header.Get("Content-Type"), []byte(buf.String())}
}

func TestImportErrorsWarningsAndQueues(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.takeCalls()
	cases := []struct {
		method, path string
		status       int
		title, body  string
	}{
		{"GET", "/importErrors", 200, "", `{"import_errors":[],"total_entries":0}`},
		{"GET", "/importErrors?order_by=-filename&limit=5", 200, "", `{"import_errors":[],"total_entries":0}`},
		{"GET", "/importErrors?order_by=stack_trace", 400, "Bad Request", ""},
		{"GET", "/importErrors/7", 404, "Import error not found", ""},
		{"GET", "/importErrors/x", 400, "Bad Request", ""},
		{"GET", "/dagWarnings?dag_id=etl.daily&warning_type=non-existent%20pool", 200, "", `{"dag_warnings":[],"total_entries":0}`},
		{"GET", "/dagWarnings?limit=-1", 400, "Bad Request", ""},
		{"GET", "/datasets/queuedEvent/s3%3A%2F%2Fb%2Fk", 404, "Queue event not found", ""},
		{"DELETE", "/datasets/queuedEvent/s3%3A%2F%2Fb%2Fk?before=2024-01-01T00:00:00Z", 404, "Queue event not found", ""},
		{"GET", "/dags/etl.daily/datasets/queuedEvent", 404, "Queue event not found", ""},
		{"DELETE", "/dags/etl.daily/datasets/queuedEvent/s3%3A%2F%2Fb%2Fk", 404, "Queue event not found", ""},
		{"GET", "/dags/etl.daily/datasets/queuedEvent?before=yesterday", 400, "Bad Request", ""},
		{"GET", "/dags/etl.daily/datasets/queuedEvent?before=0000-12-31T23:00:00-02:00", 400, "Incorrect datetime argument", ""},
	}
	for _, tc := range cases {
		a := e.do(tc.method, tc.path, "")
		if a.status != tc.status {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, a.status, a.body)
			continue
		}
		if tc.title != "" {
			if p := a.problem(t); p.Title != tc.title {
				t.Errorf("%s %s: %+v", tc.method, tc.path, p)
			}
		} else if !jsonEqual(a.body, []byte(tc.body)) {
			t.Errorf("%s %s: %s, want %s", tc.method, tc.path, a.body, tc.body)
		}
	}
	p := e.do("DELETE", "/dags/etl.daily/datasets/queuedEvent/s3%3A%2F%2Fb%2Fk", "").problem(t)
	if p.Detail != "Queue event with dag_id: `etl.daily` and dataset uri: `s3://b/k` was not found" {
		t.Errorf("detail %q", p.Detail)
	}
	if calls := e.fake.takeCalls(); len(calls) != 0 {
		t.Errorf("Prefect calls: %v", calls)
	}
}

func TestDeleteDAG(t *testing.T) {
	e := newRunsEnv(t)
	hourly := e.fake.addDeployment("etl", "hourly")
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 120 {
		e.fake.addRun(e.dep, "r"+itoa(i), at.Add(time.Duration(i)*time.Minute), wire.Completed)
	}
	e.fake.addRun(hourly, "h0", at, wire.Running)
	e.fake.addRun(hourly, "h1", at, wire.Completed)

	if p := e.do(http.MethodDelete, "/dags/etl.hourly", "").problem(t); p.Status != 409 ||
		p.Detail != "Task instances of dag with id: 'etl.hourly' are still running" {
		t.Errorf("running: %+v", p)
	}
	if n := e.fake.runCount(); n != 122 {
		t.Errorf("a refused delete deleted runs: %d left", n)
	}
	e.do(http.MethodGet, "/dags/etl.daily", "") // warm the DAG cache
	e.fake.takeCalls()
	if a := e.do(http.MethodDelete, "/dags/etl.daily", ""); a.status != 204 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	got := normalizeCalls(e.fake.takeCalls())
	want := []string{"POST /flow_runs/count", "POST /flow_runs/bulk_delete", "POST /flow_runs/bulk_delete", "POST /flow_runs/bulk_delete"}
	if !sameMultiset(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if n := e.fake.runCount(); n != 2 {
		t.Errorf("%d runs left, want etl.hourly's 2", n)
	}
	if a := e.do(http.MethodGet, "/dags/etl.daily", ""); a.status != 200 {
		t.Errorf("the DAG is gone: %d %s", a.status, a.body)
	}
	if p := e.do(http.MethodDelete, "/dags/etl.nope", "").problem(t); p.Status != 404 || p.Title != "Dag with id: 'etl.nope' not found" {
		t.Errorf("unknown: %+v", p)
	}
}

// jsonEqual reports whether two JSON documents hold the same value, whatever their layout.
func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
