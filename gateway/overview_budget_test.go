package gateway

import (
	"fmt"
	"net/http"
	"testing"

	"airflow-prefect-gateway/translate"
)

// The Prefect calls of the overview, event-log and dataset routes on a warm cache, as the
// README's budgets give them, for data that fits in one page of Prefect's events (each event
// window costs one call more past 50 events: TestEventLogs counts that case). The test fails when a route makes one call more (or fewer: then
// the table and the README are out of date).
func TestOverviewCallBudget(t *testing.T) {
	e := newDatasetsEnv(t)
	e.fake.addEvent(flowRunEvent(e.dep, "etl", e.run, "Completed", e.base, "0190f000-0000-7000-8000-0000000000aa"))
	token := e.dep.ID
	e.do(http.MethodGet, "/dags", "")                                            // warm the DAG cache
	e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0/upstreamDatasetEvents", "") // and the task keys' DAG names
	evID := translate.EventLogID(e.base, "0190f000-0000-7000-8000-0000000000aa")
	const filter = "POST /events/filter"
	cases := []struct {
		name, method, path, body string
		status                   int
		calls                    []string
	}{
		{"dagStats of one DAG", "GET", "/dagStats?dag_ids=etl.daily", "", 200, repeat("POST /flow_runs/count", 4)},
		{"dagSources", "GET", "/dagSources/" + token, "", 200, []string{"GET /deployments/{id}"}},
		{"parseDagFile", "PUT", "/parseDagFile/" + token, "", 201, []string{"GET /deployments/{id}"}},
		{"importErrors", "GET", "/importErrors", "", 200, nil},
		{"dagWarnings", "GET", "/dagWarnings", "", 200, nil},
		{"queued events", "GET", "/dags/etl.daily/datasets/queuedEvent", "", 404, nil},
		{"event logs, first page", "GET", "/eventLogs?limit=20", "", 200, []string{filter}},
		{"event logs, past the end", "GET", "/eventLogs?limit=20&offset=40", "", 200, []string{filter}},
		{"event logs of a task", "GET", "/eventLogs?run_id=r0&task_id=write_orders", "", 200,
			[]string{"POST /flow_runs/filter", "POST /task_runs/filter", filter}},
		{"one event log", "GET", fmt.Sprintf("/eventLogs/%d", evID), "", 200, []string{filter}},
		{"datasets", "GET", "/datasets", "", 200, []string{filter, filter, filter, "POST /task_runs/filter", "POST /automations/filter"}},
		{"datasets of a DAG", "GET", "/datasets?dag_ids=etl.daily", "", 200, []string{filter, "POST /automations/filter", filter, filter, filter, "POST /task_runs/filter"}},
		{"one dataset", "GET", "/datasets/s3%3A%2F%2Fb%2Forders", "", 200, []string{filter, filter, filter, "POST /task_runs/filter", "POST /automations/filter"}},
		{"dataset events", "GET", "/datasets/events", "", 200, []string{filter, "POST /task_runs/filter", filter}},
		{"create a dataset event", "POST", "/datasets/events", `{"dataset_uri":"s3://b/raw"}`, 200, []string{filter, "POST /events"}},
		{"upstream dataset events", "GET", "/dags/etl.daily/dagRuns/r0/upstreamDatasetEvents", "", 200, []string{"POST /flow_runs/filter", filter}},
		{"delete a DAG with no runs", "DELETE", "/dags/payroll.monthly", "", 204, []string{"POST /flow_runs/count", "POST /flow_runs/bulk_delete"}},
	}
	for _, tc := range cases {
		e.fake.takeCalls()
		a := e.do(tc.method, tc.path, tc.body)
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, a.status, tc.status, a.body)
			continue
		}
		if got := normalizeCalls(e.fake.takeCalls()); !sameMultiset(got, tc.calls) {
			t.Errorf("%s: %d Prefect calls %v, budget %d %v", tc.name, len(got), got, len(tc.calls), tc.calls)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
