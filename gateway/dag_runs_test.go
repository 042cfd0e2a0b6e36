package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// runsEnv is a gateway in front of a fakePrefect holding DAG "etl.daily".
type runsEnv struct {
	t    *testing.T
	fake *fakePrefect
	srv  *Server
	url  string
	dep  *fakeDeployment
	user string // Basic credentials, for users mode
	pass string
}

func newRunsEnv(t *testing.T, adjust ...func(*Options)) *runsEnv {
	t.Helper()
	fake := newFakePrefect(t)
	dep := fake.addDeployment("etl", "daily")
	client, err := prefect.New(prefect.Options{BaseURL: fake.URL(), BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Prefect: client, Auth: AuthOptions{Mode: AuthModeNone}}
	for _, a := range adjust {
		a(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &runsEnv{t: t, fake: fake, srv: srv, url: hs.URL + "/api/v1", dep: dep}
}

type runsAnswer struct {
	status int
	body   []byte
}

func (a runsAnswer) run(t *testing.T) translate.DAGRun {
	t.Helper()
	var r translate.DAGRun
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatalf("not a DAGRun (%v): %s", err, a.body)
	}
	return r
}

type runList struct {
	DAGRuns []translate.DAGRun `json:"dag_runs"`
	Total   int                `json:"total_entries"`
}

func (a runsAnswer) list(t *testing.T) runList {
	t.Helper()
	var l runList
	if err := json.Unmarshal(a.body, &l); err != nil || l.DAGRuns == nil {
		t.Fatalf("not a DAGRunCollection (%v): %s", err, a.body)
	}
	return l
}

func (a runsAnswer) problem(t *testing.T) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(a.body, &p); err != nil || p.Status != a.status || p.Title == "" || p.Type == "" {
		t.Fatalf("not a problem with status %d: %s", a.status, a.body)
	}
	return p
}

// do sends method path (under /api/v1; already escaped) with a JSON body.
func (e *runsEnv) do(method, path, body string) runsAnswer {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.user != "" {
		req.SetBasicAuth(e.user, e.pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), problemContentType) {
		e.t.Errorf("%s %s: %d answered as %q, want problem JSON", method, path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	return runsAnswer{status: res.StatusCode, body: raw}
}

func names(runs []translate.DAGRun) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.DAGRunID
	}
	return out
}

func TestTriggerDAGRun(t *testing.T) {
	e := newRunsEnv(t)
	e.dep.intParam = "batch_size"
	cases := []struct {
		name   string
		dag    string
		body   string
		status int
		check  func(t *testing.T, a runsAnswer)
	}{
		{name: "defaults", dag: "etl.daily", body: `{}`, status: 200, check: func(t *testing.T, a runsAnswer) {
			r := a.run(t)
			if !strings.HasPrefix(r.DAGRunID, "manual__") || !strings.HasSuffix(r.DAGRunID, "+00:00") {
				t.Errorf("generated id %q is not Airflow's manual__<iso>", r.DAGRunID)
			}
			if r.State != "queued" || r.RunType != "manual" || !r.ExternalTrigger || r.DAGID != "etl.daily" || string(r.Conf) != "{}" {
				t.Errorf("new run %+v: want queued, manual, external, conf {}", r)
			}
			ld, err := translate.ParseTime(*r.LogicalDate)
			if err != nil || time.Since(ld) > time.Minute || "manual__"+translate.PythonISOFormat(ld) != r.DAGRunID {
				t.Errorf("logical date %v does not match id %s or now", *r.LogicalDate, r.DAGRunID)
			}
		}},
		{name: "every field", dag: "etl.daily", status: 200,
			body: `{"dag_run_id":"r1","logical_date":"2024-05-01T00:00:00+00:00","conf":{"batch_size":5},"note":"first",` +
				`"data_interval_start":"2024-04-30T00:00:00+00:00","data_interval_end":"2024-05-01T00:00:00+00:00"}`,
			check: func(t *testing.T, a runsAnswer) {
				r := a.run(t)
				want := translate.DAGRun{DAGRunID: "r1", DAGID: "etl.daily",
					LogicalDate: strp("2024-05-01T00:00:00+00:00"), ExecutionDate: strp("2024-05-01T00:00:00+00:00"),
					DataIntervalStart: strp("2024-04-30T00:00:00+00:00"), DataIntervalEnd: strp("2024-05-01T00:00:00+00:00"),
					RunType: "manual", State: "queued", ExternalTrigger: true, Conf: json.RawMessage(`{"batch_size":5}`), Note: strp("first")}
				if !equalJSON(r, want) {
					t.Errorf("run\n got %s\nwant %s", mustMarshal(r), mustMarshal(want))
				}
			}},
		{name: "the same request again is its own retry", dag: "etl.daily", status: 200,
			body: `{"dag_run_id":"r1","logical_date":"2024-05-01T00:00:00+00:00","conf":{"batch_size":5},"note":"first",` +
				`"data_interval_start":"2024-04-30T00:00:00+00:00","data_interval_end":"2024-05-01T00:00:00+00:00"}`,
			check: func(t *testing.T, a runsAnswer) {
				if r := a.run(t); r.DAGRunID != "r1" || *r.Note != "first" {
					t.Errorf("retry answered %+v", r)
				}
			}},
		{name: "duplicate id", dag: "etl.daily", body: `{"dag_run_id":"r1"}`, status: 409, check: func(t *testing.T, a runsAnswer) {
			if p := a.problem(t); p.Detail != "DAGRun with DAG ID: 'etl.daily' and DAGRun ID: 'r1' already exists" {
				t.Errorf("detail %q", p.Detail)
			}
		}},
		{name: "duplicate id, other content", dag: "etl.daily", body: `{"dag_run_id":"r1","logical_date":"2024-05-01T00:00:00+00:00"}`, status: 409},
		{name: "duplicate logical date", dag: "etl.daily", body: `{"dag_run_id":"r2","execution_date":"2024-05-01T00:00:00Z"}`, status: 409,
			check: func(t *testing.T, a runsAnswer) {
				if p := a.problem(t); !strings.Contains(p.Detail, "logical date: '2024-05-01 00:00:00+00:00' already exists") {
					t.Errorf("detail %q", p.Detail)
				}
			}},
		{name: "conf refused by the parameter schema", dag: "etl.daily", body: `{"conf":{"batch_size":"many"}}`, status: 400,
			check: func(t *testing.T, a runsAnswer) {
				if p := a.problem(t); !strings.HasPrefix(p.Detail, "Error creating flow run: Validation failed for field 'batch_size'") {
					t.Errorf("detail %q is not Prefect's message", p.Detail)
				}
			}},
		{name: "read-only field", dag: "etl.daily", body: `{"state":"running"}`, status: 400},
		{name: "unknown field", dag: "etl.daily", body: `{"priority":1}`, status: 400},
		{name: "conflicting dates", dag: "etl.daily", body: `{"logical_date":"2024-05-01T00:00:00Z","execution_date":"2024-05-02T00:00:00Z"}`, status: 400,
			check: func(t *testing.T, a runsAnswer) {
				if p := a.problem(t); p.Title != "logical_date conflicts with execution_date" {
					t.Errorf("title %q", p.Title)
				}
			}},
		{name: "half a data interval", dag: "etl.daily", body: `{"data_interval_end":"2024-05-01T00:00:00Z"}`, status: 400},
		{name: "run id outside the pattern", dag: "etl.daily", body: `{"dag_run_id":"a b"}`, status: 400},
		{name: "naive date", dag: "etl.daily", body: `{"logical_date":"2024-05-01T00:00:00"}`, status: 400},
		{name: "unknown DAG", dag: "etl.weekly", body: `{}`, status: 404, check: func(t *testing.T, a runsAnswer) {
			if p := a.problem(t); p.Title != "DAG not found" || p.Detail != "DAG with dag_id: 'etl.weekly' not found" {
				t.Errorf("problem %+v", p)
			}
		}},
		{name: "the all-DAGs id", dag: "~", body: `{}`, status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(http.MethodPost, "/dags/"+url.PathEscape(tc.dag)+"/dagRuns", tc.body)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
	if n := e.fake.runCount(); n != 2 {
		t.Errorf("%d flow runs exist, want 2 (defaults and r1)", n)
	}
}

func strp(s string) *string { return &s }

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func equalJSON(a, b any) bool { return mustMarshal(a) == mustMarshal(b) }

// A trigger whose answer from Prefect is lost is retried by the client with its key and
// makes exactly one run; the caller gets its 200.
func TestTriggerRetriedAfterLostAnswer(t *testing.T) {
	e := newRunsEnv(t)
	dropped := false
	e.fake.onRequest = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/create_flow_run") || dropped {
			return false
		}
		dropped = true
		e.fake.handle(httptest.NewRecorder(), r) // Prefect creates the run...
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close() // ...and the answer never arrives
		}
		return true
	}
	for _, body := range []string{`{"dag_run_id":"lost"}`, `{"logical_date":"2024-05-01T00:00:00Z"}`} {
		dropped = false
		before := e.fake.runCount()
		a := e.do(http.MethodPost, "/dags/etl.daily/dagRuns", body)
		if a.status != 200 {
			t.Fatalf("%s: status %d: %s", body, a.status, a.body)
		}
		if !dropped {
			t.Fatal("the fault was not injected")
		}
		if n := e.fake.runCount() - before; n != 1 {
			t.Errorf("%s: %d runs made, want exactly 1", body, n)
		}
	}
	creates := 0
	for _, c := range e.fake.takeCalls() {
		if strings.HasSuffix(c, "/create_flow_run") {
			creates++
		}
	}
	if creates != 4 {
		t.Errorf("%d create_flow_run calls, want 4 (each trigger sent twice)", creates)
	}
}

// A cached DAG whose deployment Prefect no longer has is resolved again: a deployment
// recreated under the same names takes the trigger; a deleted one is a 404.
func TestTriggerAfterDeploymentReplaced(t *testing.T) {
	e := newRunsEnv(t)
	if a := e.do(http.MethodPost, "/dags/etl.daily/dagRuns", `{"dag_run_id":"one"}`); a.status != 200 {
		t.Fatalf("warm-up trigger: %d %s", a.status, a.body)
	}
	e.fake.deleteDeployment(e.dep.ID)
	replacement := e.fake.addDeployment("etl", "daily")
	a := e.do(http.MethodPost, "/dags/etl.daily/dagRuns", `{"dag_run_id":"two"}`)
	if a.status != 200 {
		t.Fatalf("trigger after the deployment was replaced: %d %s", a.status, a.body)
	}
	e.fake.mu.Lock()
	last := e.fake.runs[len(e.fake.runs)-1]
	e.fake.mu.Unlock()
	if *last.DeploymentID != replacement.ID {
		t.Errorf("run went to deployment %s, want the replacement %s", *last.DeploymentID, replacement.ID)
	}
	e.fake.deleteDeployment(replacement.ID)
	if a := e.do(http.MethodPost, "/dags/etl.daily/dagRuns", `{"dag_run_id":"three"}`); a.status != 404 || a.problem(t).Title != "DAG not found" {
		t.Errorf("trigger of a deleted DAG: %d %s", a.status, a.body)
	}
}

func TestGetDAGRun(t *testing.T) {
	e := newRunsEnv(t)
	other := e.fake.addDeployment("etl", "hourly")
	byPrefect := e.fake.addRun(e.dep, "crimson-fox", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), wire.Running)
	e.fake.addRun(other, "same-name", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), wire.Completed)
	e.fake.addRun(e.dep, "same-name", time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), wire.Scheduled)
	// Two runs Prefect made under one name: the later logical date wins, whatever the ids.
	e.fake.addRun(e.dep, "twin", time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC), wire.Failed)
	e.fake.addRun(e.dep, "twin", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), wire.Completed)
	cases := []struct {
		name, path string
		status     int
		wantRun    string
		wantState  string
	}{
		{"by name", "/dags/etl.daily/dagRuns/crimson-fox", 200, "crimson-fox", "running"},
		{"by flow-run id", "/dags/etl.daily/dagRuns/" + byPrefect.ID, 200, "crimson-fox", "running"},
		{"by upper-case flow-run id", "/dags/etl.daily/dagRuns/" + strings.ToUpper(byPrefect.ID), 200, "crimson-fox", "running"},
		{"a name in this DAG only", "/dags/etl.daily/dagRuns/same-name", 200, "same-name", "queued"},
		{"a name in the other DAG", "/dags/etl.hourly/dagRuns/same-name", 200, "same-name", "success"},
		{"a name twice in one DAG", "/dags/etl.daily/dagRuns/twin", 200, "twin", "failed"},
		{"another DAG's run", "/dags/etl.hourly/dagRuns/crimson-fox", 404, "", ""},
		{"unknown run", "/dags/etl.daily/dagRuns/nope", 404, "", ""},
		{"unknown DAG", "/dags/etl.none/dagRuns/crimson-fox", 404, "", ""},
		{"fields", "/dags/etl.daily/dagRuns/crimson-fox?fields=state,dag_run_id", 200, "crimson-fox", "running"},
		{"unknown field", "/dags/etl.daily/dagRuns/crimson-fox?fields=bogus", 400, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(http.MethodGet, tc.path, "")
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.status != 200 {
				p := a.problem(t)
				if tc.status == 404 && tc.name == "unknown run" && (p.Title != "DAGRun not found" || p.Detail != "DAGRun with DAG ID: 'etl.daily' and DagRun ID: 'nope' not found") {
					t.Errorf("problem %+v", p)
				}
				return
			}
			r := a.run(t)
			if r.DAGRunID != tc.wantRun || r.State != tc.wantState {
				t.Errorf("got %s in %s, want %s in %s", r.DAGRunID, r.State, tc.wantRun, tc.wantState)
			}
		})
	}
	var projected map[string]any
	_ = json.Unmarshal(e.do(http.MethodGet, "/dags/etl.daily/dagRuns/crimson-fox?fields=state,dag_run_id", "").body, &projected)
	if len(projected) != 2 {
		t.Errorf("fields=state,dag_run_id answered %v", projected)
	}
}

// dag_id and dag_run_id are the exact, percent-decoded path segments, whatever Echo does
// with the raw path.
func TestDAGRunPathSegmentsAreDecoded(t *testing.T) {
	e := newRunsEnv(t)
	spaced := e.fake.addDeployment("etl", "my daily")
	e.fake.addRun(spaced, "by/slash", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), wire.Completed)
	e.fake.addRun(spaced, "pct%41", time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), wire.Completed)
	for _, tc := range []struct{ path, run string }{
		{"/dags/etl.my%20daily/dagRuns/by%2Fslash", "by/slash"},
		{"/dags/etl.my%20daily/dagRuns/pct%2541", "pct%41"},
		{"/dags/etl.my%20daily/dagRuns/pct%2541?fields=dag_id,dag_run_id", "pct%41"},
	} {
		a := e.do(http.MethodGet, tc.path, "")
		if a.status != 200 {
			t.Fatalf("%s: %d %s", tc.path, a.status, a.body)
		}
		if r := a.run(t); r.DAGRunID != tc.run || r.DAGID != "etl.my daily" {
			t.Errorf("%s: got run %q of %q", tc.path, r.DAGRunID, r.DAGID)
		}
	}
	if a := e.do(http.MethodPost, "/dags/etl.my%20daily/dagRuns", `{"dag_run_id":"x"}`); a.status != 200 || a.run(t).DAGID != "etl.my daily" {
		t.Errorf("trigger with an escaped dag_id: %d %s", a.status, a.body)
	}
}

// The batch route is static and must win over /dags/{dag_id}/dagRuns/{dag_run_id}.
func TestBatchRouteIsNotShadowed(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.addRun(e.dep, "list", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), wire.Completed)
	if a := e.do(http.MethodPost, "/dags/~/dagRuns/list", `{}`); a.status != 200 || a.list(t).Total != 1 {
		t.Errorf("POST /dags/~/dagRuns/list: %d %s", a.status, a.body)
	}
	// The run named "list" of a real DAG is still reachable...
	if a := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/list", ""); a.status != 200 || a.run(t).DAGRunID != "list" {
		t.Errorf("GET a run named list: %d %s", a.status, a.body)
	}
	// ...and a GET on the batch path is a read of run "list" of DAG "~", which is no DAG.
	if a := e.do(http.MethodGet, "/dags/~/dagRuns/list", ""); a.status != 404 || a.problem(t).Title != "DAG not found" {
		t.Errorf("GET /dags/~/dagRuns/list: %d %s", a.status, a.body)
	}
}

func TestListDAGRuns(t *testing.T) {
	e := newRunsEnv(t, func(o *Options) { o.MaxPageLimit = 300 })
	hourly := e.fake.addDeployment("etl", "hourly", "airflow-dag-id:legacy_hourly")
	gone := e.fake.addDeployment("old", "gone")
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// 230 runs of etl.daily with logical dates in creation order, alternating states; a few
	// runs elsewhere.
	var want []string
	for i := 0; i < 230; i++ {
		st := []wire.StateType{wire.Completed, wire.Failed, wire.Running, wire.Scheduled}[i%4]
		name := "run-" + string(rune('a'+i%26)) + "-" + strings.Repeat("x", i/26)
		e.fake.addRun(e.dep, name, base.Add(time.Duration(i)*time.Hour), st)
		want = append(want, name)
	}
	e.fake.addRun(hourly, "h1", base, wire.Completed)
	e.fake.addRun(gone, "orphan", base, wire.Completed)
	e.fake.deleteDeployment(gone.ID)

	readAll := func(t *testing.T, query string, limit int) ([]string, int) {
		t.Helper()
		var got []string
		total := -1
		for offset := 0; ; offset += limit {
			a := e.do(http.MethodGet, "/dags/etl.daily/dagRuns?limit="+itoa(limit)+"&offset="+itoa(offset)+query, "")
			if a.status != 200 {
				t.Fatalf("%s: %d %s", query, a.status, a.body)
			}
			l := a.list(t)
			if total >= 0 && l.Total != total {
				t.Fatalf("total changed from %d to %d", total, l.Total)
			}
			total = l.Total
			got = append(got, names(l.DAGRuns)...)
			if len(l.DAGRuns) < limit {
				return got, total
			}
		}
	}
	// Airflow's id order is the flow-run id order, which is not creation order (uuid4).
	byID := e.fake.namesByID(e.dep.ID)
	if slices.Equal(byID, want) {
		t.Fatal("the fake's ids follow creation order: the id-order cases below would prove nothing")
	}
	byIDDesc := slices.Clone(byID)
	slices.Reverse(byIDDesc)
	reversed := slices.Clone(want)
	slices.Reverse(reversed)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", byID}, {"&order_by=id", byID}, {"&order_by=-id", byIDDesc},
		{"&order_by=execution_date", want}, {"&order_by=-execution_date", reversed},
		{"&order_by=dag_id", byID},
	} {
		for _, limit := range []int{7, 100, 230, 300} {
			got, total := readAll(t, tc.query, limit)
			if total != 230 || !slices.Equal(got, tc.want) {
				t.Errorf("%q limit %d: total %d, %d runs, order ok=%v", tc.query, limit, total, len(got), slices.Equal(got, tc.want))
			}
		}
	}
	byName := slices.Clone(want)
	slices.Sort(byName)
	if got, _ := readAll(t, "&order_by=dag_run_id", 50); !slices.Equal(got, byName) {
		t.Errorf("order_by=dag_run_id is not by name")
	}

	// Filters and totals.
	check := func(query string, wantTotal int, wantFirst string) {
		t.Helper()
		a := e.do(http.MethodGet, query, "")
		if a.status != 200 {
			t.Fatalf("%s: %d %s", query, a.status, a.body)
		}
		l := a.list(t)
		if l.Total != wantTotal || (wantFirst != "" && (len(l.DAGRuns) == 0 || l.DAGRuns[0].DAGRunID != wantFirst)) {
			t.Errorf("%s: total %d first %v, want %d %s", query, l.Total, names(l.DAGRuns[:min(1, len(l.DAGRuns))]), wantTotal, wantFirst)
		}
	}
	check("/dags/etl.daily/dagRuns?order_by=execution_date&state=success", 58, want[0])
	check("/dags/etl.daily/dagRuns?order_by=execution_date&state=success&state=running", 115, want[0])
	check("/dags/etl.daily/dagRuns?order_by=execution_date&state=queued&limit=1", 57, want[3])
	check("/dags/etl.daily/dagRuns?state=bogus", 0, "")
	check("/dags/etl.daily/dagRuns?order_by=execution_date&execution_date_gte=2024-01-02T00:00:00%2B00:00&execution_date_lte=2024-01-02T05:00:00Z", 6, want[24])
	check("/dags/etl.nothing/dagRuns", 0, "")
	check("/dags/legacy_hourly/dagRuns", 1, "h1")
	check("/dags/~/dagRuns?order_by=-execution_date&limit=1", 231, want[229])
	check("/dags/~/dagRuns?execution_date_lte=2024-01-01T00:00:00Z", 2, want[0])

	// Across DAGs every run names its own DAG; the orphan is nobody's.
	l := e.do(http.MethodGet, "/dags/~/dagRuns?limit=300", "").list(t)
	dagOf := map[string]string{}
	for _, r := range l.DAGRuns {
		dagOf[r.DAGRunID] = r.DAGID
	}
	if dagOf["h1"] != "legacy_hourly" || dagOf[want[0]] != "etl.daily" || dagOf["orphan"] != "" || len(l.DAGRuns) != 231 {
		t.Errorf("~ listing: %d runs, h1 in %q, %s in %q, orphan in %q", len(l.DAGRuns), dagOf["h1"], want[0], dagOf[want[0]], dagOf["orphan"])
	}

	for _, bad := range []string{"/dags/etl.daily/dagRuns?order_by=state", "/dags/~/dagRuns?order_by=dag_id",
		"/dags/etl.daily/dagRuns?limit=-1", "/dags/etl.daily/dagRuns?updated_at_gte=2024-01-01T00:00:00Z",
		"/dags/etl.daily/dagRuns?start_date_gte=yesterday"} {
		if a := e.do(http.MethodGet, bad, ""); a.status != 400 {
			t.Errorf("%s: %d, want 400: %s", bad, a.status, a.body)
		}
	}
}

func itoa(n int) string { return strings.TrimSpace(mustMarshal(n)) }

// TestConcurrentListsKeepTheirPages: pages are written into pooled buffers; lists of
// different sizes and projections at once must each get exactly the answer it gets alone.
func TestConcurrentListsKeepTheirPages(t *testing.T) {
	e := newRunsEnv(t)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ {
		e.fake.addRun(e.dep, "c"+itoa(1000+i), base.Add(time.Duration(i)*time.Minute), wire.Completed)
	}
	queries := []string{"?limit=50", "?limit=3&offset=6", "?limit=25&fields=dag_run_id,state", "?limit=10&order_by=-execution_date&offset=20"}
	alone := map[string]string{}
	for _, q := range queries {
		a := e.do(http.MethodGet, "/dags/etl.daily/dagRuns"+q, "")
		if a.status != 200 || len(a.list(t).DAGRuns) == 0 {
			t.Fatalf("%s: %d %s", q, a.status, a.body)
		}
		alone[q] = string(a.body)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				q := queries[(w+i)%len(queries)]
				res, err := http.Get(e.url + "/dags/etl.daily/dagRuns" + q)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(body) != alone[q] {
					t.Errorf("%s at once with others:\n%s\nalone:\n%s", q, body, alone[q])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestListDAGRunsBatch(t *testing.T) {
	e := newRunsEnv(t)
	hourly := e.fake.addDeployment("etl", "hourly")
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 120; i++ {
		e.fake.addRun(e.dep, "d"+itoa(1000+i), base.Add(time.Duration(i)*time.Minute), wire.Completed)
		e.fake.addRun(hourly, "h"+itoa(1000+i), base.Add(time.Duration(i)*time.Minute), wire.Failed)
	}
	cases := []struct {
		body      string
		wantTotal int
		wantLen   int
		wantFirst string
	}{
		{`{"order_by":"dag_run_id"}`, 240, 100, "d1000"},
		{`{"dag_ids":["etl.hourly"],"order_by":"dag_run_id"}`, 120, 100, "h1000"},
		{`{"dag_ids":["etl.hourly","etl.nope","etl.daily"],"page_limit":250,"order_by":"dag_run_id"}`, 240, 240, "d1000"}, // page_limit is not capped
		{`{"states":["failed"],"order_by":"-execution_date","page_limit":5}`, 120, 5, "h1119"},
		{`{"dag_ids":["etl.nope"]}`, 0, 0, ""},
		{`{"page_offset":230,"order_by":"dag_run_id"}`, 240, 10, "h1110"},
		{`{"page_offset":230}`, 240, 10, ""},
	}
	for _, tc := range cases {
		a := e.do(http.MethodPost, "/dags/~/dagRuns/list", tc.body)
		if a.status != 200 {
			t.Fatalf("%s: %d %s", tc.body, a.status, a.body)
		}
		l := a.list(t)
		if l.Total != tc.wantTotal || len(l.DAGRuns) != tc.wantLen || (tc.wantFirst != "" && l.DAGRuns[0].DAGRunID != tc.wantFirst) {
			t.Errorf("%s: total %d, %d runs, first %v; want %d, %d, %s", tc.body, l.Total, len(l.DAGRuns),
				names(l.DAGRuns[:min(1, len(l.DAGRuns))]), tc.wantTotal, tc.wantLen, tc.wantFirst)
		}
	}
	for _, bad := range []string{`{"page_limit":0}`, `{"limit":5}`, `{"order_by":"conf"}`, `{"dag_ids":"etl.daily"}`, `[]`} {
		if a := e.do(http.MethodPost, "/dags/~/dagRuns/list", bad); a.status != 400 {
			t.Errorf("%s: %d, want 400", bad, a.status)
		}
	}
}

func TestPatchDAGRunState(t *testing.T) {
	e := newRunsEnv(t)
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		from       wire.StateType
		target     string
		status     int
		wantState  string
		wantPrefix wire.StateType // Prefect state afterwards
		wantEnd    bool
	}{
		{wire.Scheduled, "failed", 200, "failed", wire.Cancelled, true}, // REJECT that wrote CANCELLED
		{wire.Running, "failed", 200, "running", wire.Cancelling, false},
		{wire.Cancelling, "failed", 200, "failed", wire.Cancelled, true},
		{wire.Completed, "failed", 200, "failed", wire.Failed, true},
		{wire.Running, "success", 200, "success", wire.Completed, true},
		{wire.Scheduled, "success", 200, "success", wire.Completed, true},
		{wire.Failed, "queued", 200, "queued", wire.Scheduled, false},
		{wire.Cancelling, "success", 400, "", wire.Cancelling, false}, // REJECT that wrote nothing
		{wire.Cancelling, "queued", 400, "", wire.Cancelling, false},
	}
	for i, tc := range cases {
		name := string(tc.from) + "-to-" + tc.target
		t.Run(name, func(t *testing.T) {
			run := e.fake.addRun(e.dep, "patch-"+itoa(i), at, tc.from)
			a := e.do(http.MethodPatch, "/dags/etl.daily/dagRuns/patch-"+itoa(i), `{"state":"`+tc.target+`"}`)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if got := *e.fake.run(run.ID).StateType; got != tc.wantPrefix {
				t.Errorf("Prefect state %s, want %s", got, tc.wantPrefix)
			}
			if tc.status != 200 {
				if p := a.problem(t); !strings.Contains(p.Detail, "CANCELLING") || !strings.Contains(p.Detail, "Prefect refused") {
					t.Errorf("refusal detail %q does not give Prefect's reason", p.Detail)
				}
				return
			}
			r := a.run(t)
			if r.State != tc.wantState || (r.EndDate != nil) != tc.wantEnd {
				t.Errorf("answer %s end %v, want %s end=%v", r.State, r.EndDate, tc.wantState, tc.wantEnd)
			}
			// The answer, built without reading the run again, is what a read says.
			if again := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/patch-"+itoa(i), "").run(t); !equalJSON(again, r) {
				t.Errorf("PATCH answered\n%s\nGET says\n%s", mustMarshal(r), mustMarshal(again))
			}
		})
	}
	for _, bad := range []string{`{"state":"running"}`, `{}`, `{"state":"failed","note":"x"}`} {
		if a := e.do(http.MethodPatch, "/dags/etl.daily/dagRuns/patch-0", bad); a.status != 400 {
			t.Errorf("%s: %d, want 400", bad, a.status)
		}
	}
	if a := e.do(http.MethodPatch, "/dags/etl.daily/dagRuns/nope", `{"state":"failed"}`); a.status != 404 {
		t.Errorf("unknown run: %d", a.status)
	}
}

func TestClearDAGRun(t *testing.T) {
	e := newRunsEnv(t)
	run := e.fake.addRun(e.dep, "to-clear", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), wire.Failed)
	e.fake.addTaskRun(run, "load", "0")
	e.fake.addTaskRun(run, "extract", "0")
	e.fake.addTaskRun(run, "extract", "1")
	a := e.do(http.MethodPost, "/dags/etl.daily/dagRuns/to-clear/clear", `{"dry_run":true}`)
	var refs struct {
		TaskInstances []translate.TaskInstanceReference `json:"task_instances"`
	}
	if err := json.Unmarshal(a.body, &refs); a.status != 200 || err != nil {
		t.Fatalf("dry run: %d %s", a.status, a.body)
	}
	var tasks []string
	for _, r := range refs.TaskInstances {
		if r.DAGID != "etl.daily" || r.DAGRunID != "to-clear" || r.ExecutionDate != "2024-05-01T00:00:00+00:00" {
			t.Errorf("reference %+v", r)
		}
		tasks = append(tasks, r.TaskID)
	}
	if !slices.Equal(tasks, []string{"extract", "extract", "load"}) {
		t.Errorf("dry run lists %v", tasks)
	}
	if *e.fake.run(run.ID).StateType != wire.Failed {
		t.Error("a dry run changed the run")
	}
	if a := e.do(http.MethodPost, "/dags/etl.daily/dagRuns/to-clear/clear", `{}`); a.status != 200 || !strings.Contains(string(a.body), "task_instances") {
		t.Errorf("dry_run defaults to true: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodPost, "/dags/etl.daily/dagRuns/to-clear/clear", `{"dry_run":false}`)
	if a.status != 200 || a.run(t).State != "queued" || a.run(t).EndDate != nil {
		t.Errorf("clear: %d %s", a.status, a.body)
	}
	if *e.fake.run(run.ID).StateType != wire.Scheduled {
		t.Error("clear did not re-queue the run")
	}
	if a := e.do(http.MethodPost, "/dags/etl.daily/dagRuns/to-clear/clear", `{"dry_run":"no"}`); a.status != 400 {
		t.Errorf("bad dry_run: %d", a.status)
	}
}

func TestSetDAGRunNoteAndDelete(t *testing.T) {
	e := newRunsEnv(t)
	run := e.fake.addRun(e.dep, "noted", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), wire.Completed)
	a := e.do(http.MethodPatch, "/dags/etl.daily/dagRuns/noted/setNote", `{"note":"checked by ops"}`)
	if a.status != 200 || a.run(t).Note == nil || *a.run(t).Note != "checked by ops" {
		t.Fatalf("setNote: %d %s", a.status, a.body)
	}
	if r := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/noted", "").run(t); r.Note == nil || *r.Note != "checked by ops" {
		t.Errorf("note not kept: %+v", r.Note)
	}
	if e.fake.run(run.ID).Labels.Note != "checked by ops" {
		t.Errorf("labels %v", e.fake.run(run.ID).Labels)
	}
	// An empty note clears it (Prefect labels cannot be removed or null). The gateway's
	// request validation follows Airflow's document, where note is not nullable.
	if a := e.do(http.MethodPatch, "/dags/etl.daily/dagRuns/noted/setNote", `{"note":""}`); a.status != 200 || a.run(t).Note != nil {
		t.Errorf("clearing the note: %d %s", a.status, a.body)
	}
	for _, bad := range []string{`{}`, `{"note":"` + strings.Repeat("n", 1001) + `"}`, `{"note":1}`} {
		if a := e.do(http.MethodPatch, "/dags/etl.daily/dagRuns/noted/setNote", bad); a.status != 400 {
			t.Errorf("%.30s: %d, want 400", bad, a.status)
		}
	}

	if a := e.do(http.MethodDelete, "/dags/etl.daily/dagRuns/noted", ""); a.status != 204 || len(a.body) != 0 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if e.fake.run(run.ID) != nil {
		t.Error("the flow run is still there")
	}
	if a := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/noted", ""); a.status != 404 {
		t.Errorf("read after delete: %d", a.status)
	}
	if a := e.do(http.MethodDelete, "/dags/etl.daily/dagRuns/noted", ""); a.status != 404 {
		t.Errorf("second delete: %d", a.status)
	}
}

// A user limited to some DAGs sees only their runs: lists across DAGs filter them in
// Prefect (so total_entries is exact), and a foreign DAG is "not found" on every route.
func TestDAGRunsOfHiddenDAGs(t *testing.T) {
	dir := t.TempDir()
	hash, err := HashPassword([]byte("pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	users := "users:\n  - username: ana\n    password_bcrypt: '" + hash + "'\n    role: User\n    dags: ['etl.*']\n"
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newRunsEnv(t, func(o *Options) {
		o.Auth = AuthOptions{Mode: AuthModeUsers, UsersFile: filepath.Join(dir, "users.yaml")}
	})
	e.user, e.pass = "ana", "pw"
	secret := e.fake.addDeployment("payroll", "monthly")
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	e.fake.addRun(e.dep, "mine", at, wire.Completed)
	e.fake.addRun(secret, "theirs", at, wire.Completed)

	for _, tc := range []struct {
		method, path, body string
		total              int
	}{
		{http.MethodGet, "/dags/~/dagRuns", "", 1},
		{http.MethodPost, "/dags/~/dagRuns/list", `{}`, 1},
		{http.MethodPost, "/dags/~/dagRuns/list", `{"dag_ids":["payroll.monthly","etl.daily"]}`, 1},
		{http.MethodPost, "/dags/~/dagRuns/list", `{"dag_ids":["payroll.monthly"]}`, 0},
	} {
		a := e.do(tc.method, tc.path, tc.body)
		if a.status != 200 {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, a.status, a.body)
		}
		if l := a.list(t); l.Total != tc.total || len(l.DAGRuns) != tc.total || (tc.total > 0 && l.DAGRuns[0].DAGRunID != "mine") {
			t.Errorf("%s %s %s: %+v", tc.method, tc.path, tc.body, l)
		}
	}
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/dags/payroll.monthly/dagRuns/theirs", ""},
		{http.MethodPost, "/dags/payroll.monthly/dagRuns", `{}`},
		{http.MethodPatch, "/dags/payroll.monthly/dagRuns/theirs", `{"state":"failed"}`},
		{http.MethodDelete, "/dags/payroll.monthly/dagRuns/theirs", ""},
	} {
		if a := e.do(tc.method, tc.path, tc.body); a.status != 404 || a.problem(t).Title != "DAG not found" {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, a.status, a.body)
		}
	}
	if e.fake.runCount() != 2 {
		t.Error("a hidden DAG's run was changed")
	}
}
