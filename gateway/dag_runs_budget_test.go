package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// The Prefect calls each DAG-run route costs on a warm cache (DESIGN §5). The test fails
// when a route makes one call more (or fewer: then this table is out of date).
func TestDAGRunCallBudget(t *testing.T) {
	e := newRunsEnv(t)
	hourly := e.fake.addDeployment("etl", "hourly")
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	run := e.fake.addRun(e.dep, "r0", at, wire.Running)
	e.fake.addTaskRun(run, "extract", "0")
	e.fake.addRun(hourly, "h0", at, wire.Completed)
	// Warm the DAG cache (etl.daily by a read, etl.hourly's deployment by a listing).
	e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0", "")
	e.do(http.MethodGet, "/dags/~/dagRuns", "")

	cases := []struct {
		name, method, path, body string
		status                   int
		calls                    []string // the Prefect calls, in any order
	}{
		{"trigger", "POST", "/dags/etl.daily/dagRuns", `{"dag_run_id":"b1","conf":{"a":1}}`, 200,
			[]string{"POST /deployments/{id}/create_flow_run"}},
		{"trigger at a pinned logical date (the date must be free)", "POST", "/dags/etl.daily/dagRuns",
			`{"dag_run_id":"b2","logical_date":"2024-06-01T00:00:00Z"}`, 200,
			[]string{"POST /flow_runs/filter", "POST /deployments/{id}/create_flow_run"}},
		{"duplicate trigger", "POST", "/dags/etl.daily/dagRuns", `{"dag_run_id":"b1"}`, 409,
			[]string{"POST /deployments/{id}/create_flow_run"}},
		{"get run", "GET", "/dags/etl.daily/dagRuns/r0", "", 200, []string{"POST /flow_runs/filter"}},
		{"list runs (default order)", "GET", "/dags/etl.daily/dagRuns", "", 200,
			[]string{"POST /flow_runs/count", "POST /flow_runs/filter"}},
		{"list runs by date", "GET", "/dags/etl.daily/dagRuns?order_by=-execution_date", "", 200,
			[]string{"POST /flow_runs/paginate"}},
		{"list runs by date from an offset off the page grid", "GET", "/dags/etl.daily/dagRuns?order_by=-execution_date&limit=5&offset=3", "", 200,
			[]string{"POST /flow_runs/count", "POST /flow_runs/filter"}},
		{"list runs of every DAG", "GET", "/dags/~/dagRuns?order_by=-id&limit=10&offset=20", "", 200,
			[]string{"POST /flow_runs/paginate"}},
		{"batch list", "POST", "/dags/~/dagRuns/list", `{"dag_ids":["etl.daily"]}`, 200,
			[]string{"POST /flow_runs/count", "POST /flow_runs/filter"}},
		{"batch list by name", "POST", "/dags/~/dagRuns/list", `{"dag_ids":["etl.daily"],"order_by":"dag_run_id"}`, 200,
			[]string{"POST /flow_runs/paginate"}},
		{"list runs with only unknown states", "GET", "/dags/etl.daily/dagRuns?state=bogus", "", 200, nil},
		{"patch run", "PATCH", "/dags/etl.daily/dagRuns/r0", `{"state":"success"}`, 200,
			[]string{"POST /flow_runs/filter", "POST /flow_runs/{id}/set_state"}},
		{"set note", "PATCH", "/dags/etl.daily/dagRuns/r0/setNote", `{"note":"n"}`, 200,
			[]string{"POST /flow_runs/filter", "PATCH /flow_runs/{id}/labels"}},
		{"clear (dry run)", "POST", "/dags/etl.daily/dagRuns/r0/clear", `{"dry_run":true}`, 200,
			[]string{"POST /flow_runs/filter", "POST /task_runs/filter"}},
		{"clear", "POST", "/dags/etl.daily/dagRuns/r0/clear", `{"dry_run":false}`, 200,
			[]string{"POST /flow_runs/filter", "POST /flow_runs/{id}/set_state"}},
		{"delete run", "DELETE", "/dags/etl.daily/dagRuns/r0", "", 204,
			[]string{"POST /flow_runs/filter", "DELETE /flow_runs/{id}"}},
		{"hidden or unknown run id", "GET", "/dags/etl.daily/dagRuns/nope", "", 404, []string{"POST /flow_runs/filter"}},
	}
	for _, tc := range cases {
		e.fake.takeCalls()
		a := e.do(tc.method, tc.path, tc.body)
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, a.status, tc.status, a.body)
			continue
		}
		got := normalizeCalls(e.fake.takeCalls())
		if !sameMultiset(got, tc.calls) {
			t.Errorf("%s: %d Prefect calls %v, budget %d %v", tc.name, len(got), got, len(tc.calls), tc.calls)
		}
	}
}

// normalizeCalls replaces ids in call paths with {id}.
func normalizeCalls(calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		method, path, _ := strings.Cut(c, " ")
		parts := strings.Split(path, "/")
		for j, p := range parts {
			if uuidPattern.MatchString(p) {
				parts[j] = "{id}"
			}
		}
		out[i] = method + " " + strings.Join(parts, "/")
	}
	return out
}

func sameMultiset(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

// A page and its count go to Prefect together: each is held until the other has arrived
// (for at most 2 s), and only a call that arrives while the other is still in flight counts.
func TestRunPageAndCountAreConcurrent(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.addRun(e.dep, "r0", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), wire.Completed)
	e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0", "") // warm the DAG cache

	var (
		mu       sync.Mutex
		inFlight int
		together bool
		both     = make(chan struct{})
	)
	e.fake.onRequest = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/flow_runs/filter" && r.URL.Path != "/api/flow_runs/count" {
			return false
		}
		mu.Lock()
		inFlight++
		if inFlight == 2 {
			together = true
			close(both)
		}
		mu.Unlock()
		select {
		case <-both:
		case <-time.After(2 * time.Second):
		}
		e.fake.handle(w, r)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return true
	}
	// An offset off the page grid: /paginate cannot serve it, the page and count go apart.
	a := e.do(http.MethodGet, "/dags/etl.daily/dagRuns?order_by=-execution_date&limit=2&offset=1", "")
	if a.status != 200 || a.list(t).Total != 1 {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if !together {
		t.Error("the page and the count were not in flight at the same time")
	}
}
