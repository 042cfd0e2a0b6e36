package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/prefect/wire"
)

// The overview calls against the real Prefect server: dagStats from flow-run counts, a DAG's
// source record, re-parse, DELETE /dags (runs gone, deployment kept), and the empty import
// errors, warnings and dataset queues.
func TestOverviewAgainstPrefect(t *testing.T) {
	ctx := testCtx(t)
	p := fmt.Sprintf("ov%06x", rand.IntN(1<<24))
	dep, err := seed.Deployment(ctx, p+"_etl", "daily", map[string]any{
		"entrypoint": "flows/etl.py:etl",
		"pull_steps": []any{map[string]any{"prefect.deployments.steps.git_clone": map[string]any{
			"repository": "https://github.com/acme/flows", "branch": "main", "access_token": "ghp_not_shown"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	other, err := seed.Deployment(ctx, p+"_etl", "hourly", nil)
	if err != nil {
		t.Fatal(err)
	}
	dagID := p + "_etl.daily"
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	states := []wire.StateType{wire.Completed, wire.Completed, wire.Failed, wire.Running, ""}
	for i, st := range states {
		run, err := seed.FlowRun(ctx, dep.ID, fmt.Sprintf("r%d", i), at.Add(time.Duration(i)*time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if st == wire.Completed || st == wire.Failed || st == wire.Running {
			mustState(t, run.ID, wire.Running)
			if st != wire.Running {
				mustState(t, run.ID, st)
			}
		}
	}
	if _, err := seed.FlowRun(ctx, other.ID, "h0", at, nil); err != nil {
		t.Fatal(err)
	}
	gw := harness.StartGateway(t, prefectServer.URL)
	api := harness.NewAPI(t, gw.URL)

	res := api.Get("/dagStats?dag_ids=" + dagID + ",nope," + p + "_etl.hourly")
	want := fmt.Sprintf(`{"dags":[{"dag_id":%q,"stats":[{"count":1,"state":"queued"},{"count":1,"state":"running"},{"count":2,"state":"success"},{"count":1,"state":"failed"}]},`+
		`{"dag_id":%q,"stats":[{"count":1,"state":"queued"},{"count":0,"state":"running"},{"count":0,"state":"success"},{"count":0,"state":"failed"}]}],"total_entries":2}`,
		dagID, p+"_etl.hourly")
	if res.Status != 200 || canonicalJSON(t, res.Body) != canonicalJSON(t, []byte(want)) {
		t.Errorf("dagStats: %d %s\nwant %s", res.Status, res.Body, want)
	}

	details := api.Get("/dags/" + dagID + "/details").Map(t)
	token, _ := details["file_token"].(string)
	src := api.Get("/dagSources/" + token)
	content, _ := src.Map(t)["content"].(string)
	if src.Status != 200 || !strings.Contains(content, "entrypoint: flows/etl.py:etl") ||
		!strings.Contains(content, "https://github.com/acme/flows") || strings.Contains(content, "ghp_not_shown") {
		t.Errorf("dagSources: %d %s", src.Status, src.Body)
	}
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/v1/dagSources/"+token, nil)
	text, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(text.Body)
	text.Body.Close()
	if text.StatusCode != 200 || text.Header.Get("Content-Type") != "text/plain" || string(body) != content {
		t.Errorf("dagSources as text: %d %q %s", text.StatusCode, text.Header.Get("Content-Type"), body)
	}
	if r := api.Do(http.MethodPut, "/parseDagFile/"+token, nil); r.Status != 201 {
		t.Errorf("parseDagFile: %d %s", r.Status, r.Body)
	}
	for path, status := range map[string]int{
		"/importErrors": 200, "/importErrors/1": 404, "/dagWarnings?dag_id=" + dagID: 200,
		"/dags/" + dagID + "/datasets/queuedEvent": 404, "/datasets/queuedEvent/s3%3A%2F%2Fb%2Fk": 404,
		"/dagSources/00000000-0000-4000-8000-000000000000": 404,
	} {
		if r := api.Get(path); r.Status != status {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}

	if r := api.Do(http.MethodDelete, "/dags/"+dagID, nil); r.Status != 409 {
		t.Errorf("delete with a running run: %d %s", r.Status, r.Body)
	}
	runs, err := seed.C.FilterFlowRuns(ctx, wire.Query{FlowRuns: &wire.FlowRunFilter{
		DeploymentID: &wire.NullableAnyOf{Any: []string{dep.ID}},
		State:        &wire.StateFilter{Type: &wire.AnyOf{Any: []string{"RUNNING"}}}}})
	if err != nil || len(runs) != 1 {
		t.Fatalf("running runs: %v %v", runs, err)
	}
	mustState(t, runs[0].ID, wire.Completed)
	if r := api.Do(http.MethodDelete, "/dags/"+dagID, nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	left, err := seed.C.CountFlowRuns(ctx, wire.Query{FlowRuns: &wire.FlowRunFilter{DeploymentID: &wire.NullableAnyOf{Any: []string{dep.ID}}}})
	if err != nil || left != 0 {
		t.Errorf("%d runs left (%v)", left, err)
	}
	if n, _ := seed.C.CountFlowRuns(ctx, wire.Query{FlowRuns: &wire.FlowRunFilter{DeploymentID: &wire.NullableAnyOf{Any: []string{other.ID}}}}); n != 1 {
		t.Errorf("another DAG lost runs: %d left", n)
	}
	if r := api.Get("/dags/" + dagID); r.Status != 200 {
		t.Errorf("the DAG itself is gone: %d %s", r.Status, r.Body)
	}
}

func mustState(t *testing.T, runID string, st wire.StateType) {
	t.Helper()
	if _, err := seed.SetState(testCtx(t), runID, st); err != nil {
		t.Fatal(err)
	}
}

// canonicalJSON re-encodes a JSON document with sorted keys, for comparisons of decoded
// values.
func canonicalJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, raw)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
