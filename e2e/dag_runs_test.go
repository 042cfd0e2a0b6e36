package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/faultproxy"
	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// The DAG-run routes against the real Prefect server. Every gateway answer goes through
// harness.API, which validates it against Airflow's v1.yaml; the few answers Airflow's
// document does not list (a 400 on GET .../dagRuns) are checked by hand.

// dagRun is an Airflow DAGRun as a client reads it.
type dagRun = translate.DAGRun

var dagRunFields = []string{"dag_run_id", "dag_id", "logical_date", "execution_date", "start_date", "end_date",
	"data_interval_start", "data_interval_end", "last_scheduling_decision", "run_type", "state", "external_trigger", "conf", "note"}

// readRun decodes a DAGRun and checks that every field is present.
func readRun(t *testing.T, res *harness.Response) dagRun {
	t.Helper()
	var all map[string]json.RawMessage
	res.JSON(t, &all)
	for _, f := range dagRunFields {
		if _, ok := all[f]; !ok {
			t.Errorf("DAGRun lacks %q: %s", f, res.Body)
		}
	}
	var r dagRun
	res.JSON(t, &r)
	for _, ts := range []*string{r.LogicalDate, r.StartDate, r.EndDate, r.DataIntervalStart, r.DataIntervalEnd} {
		if ts != nil && !strings.HasSuffix(*ts, "+00:00") {
			t.Errorf("timestamp %q is not ISO-8601 with +00:00", *ts)
		}
	}
	return r
}

type runPage struct {
	DAGRuns []dagRun `json:"dag_runs"`
	Total   int      `json:"total_entries"`
}

func readPage(t *testing.T, res *harness.Response) runPage {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("list: %d %s", res.Status, res.Body)
	}
	var p runPage
	res.JSON(t, &p)
	if p.DAGRuns == nil {
		t.Fatalf("dag_runs missing or null: %s", res.Body)
	}
	return p
}

func runIDs(runs []dagRun) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.DAGRunID
	}
	return out
}

// newDAG seeds a deployment of a flow unique to the test; it returns the dag_id.
func newDAG(t *testing.T, deployment string, extra map[string]any) (string, wire.Deployment) {
	t.Helper()
	flow := fmt.Sprintf("runs_%s_%d", strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())), time.Now().UnixNano()%1e9)
	dep, err := seed.Deployment(testCtx(t), flow, deployment, extra)
	if err != nil {
		t.Fatal(err)
	}
	return flow + "." + deployment, dep
}

// flowRunsNamed reads the deployment's flow runs named name straight from Prefect.
func flowRunsNamed(t *testing.T, deploymentID, name string) []wire.FlowRun {
	t.Helper()
	limit := 10
	runs, err := seed.C.FilterFlowRuns(testCtx(t), wire.Query{
		FlowRuns: &wire.FlowRunFilter{Name: &wire.NameMatch{Any: []string{name}}, DeploymentID: &wire.NullableAnyOf{Any: []string{deploymentID}}},
		Limit:    &limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func oneFlowRun(t *testing.T, deploymentID, name string) wire.FlowRun {
	t.Helper()
	runs := flowRunsNamed(t, deploymentID, name)
	if len(runs) != 1 {
		t.Fatalf("Prefect holds %d runs named %q, want 1", len(runs), name)
	}
	return runs[0]
}

func runPath(dagID string, parts ...string) string {
	p := "/dags/" + url.PathEscape(dagID) + "/dagRuns"
	for _, part := range parts {
		p += "/" + url.PathEscape(part)
	}
	return p
}

// Trigger, then move the flow run as a worker would: Airflow's state follows.
func TestDAGRunLifecycle(t *testing.T) {
	dagID, dep := newDAG(t, "daily", map[string]any{"parameters": map[string]any{"batch_size": 500}})
	api := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL).URL)
	ctx := testCtx(t)

	res := api.Do(http.MethodPost, runPath(dagID), map[string]any{
		"dag_run_id": "lifecycle-1", "conf": map[string]any{"batch_size": 100, "output_dir": "/tmp/x"}, "note": "first try",
		"data_interval_start": "2024-04-30T00:00:00+00:00", "data_interval_end": "2024-05-01T00:00:00+00:00",
	})
	if res.Status != http.StatusOK {
		t.Fatalf("trigger: %d %s", res.Status, res.Body)
	}
	run := readRun(t, res)
	if run.State != "queued" || run.RunType != "manual" || !run.ExternalTrigger || run.DAGID != dagID || run.DAGRunID != "lifecycle-1" ||
		run.Note == nil || *run.Note != "first try" || run.StartDate != nil || run.EndDate != nil ||
		run.DataIntervalStart == nil || *run.DataIntervalStart != "2024-04-30T00:00:00+00:00" {
		t.Errorf("triggered run: %s", res.Body)
	}
	if conf := objectOf(t, run.Conf); conf["batch_size"] != 100.0 || conf["output_dir"] != "/tmp/x" {
		t.Errorf("conf %s", run.Conf)
	}

	// What Prefect holds: the run, scheduled at the logical date, with conf as parameters.
	fr := oneFlowRun(t, dep.ID, "lifecycle-1")
	if fr.StateType == nil || *fr.StateType != wire.Scheduled || objectOf(t, fr.Parameters)["batch_size"] != 100.0 ||
		fr.IdempotencyKey == nil || !strings.Contains(*fr.IdempotencyKey, dep.ID) {
		t.Errorf("flow run in Prefect: state %v, parameters %s, key %v", fr.StateType, fr.Parameters, fr.IdempotencyKey)
	}
	if got := translate.FormatTime(*fr.ExpectedStartTime); got != *run.LogicalDate {
		t.Errorf("expected_start_time %s, logical_date %s", got, *run.LogicalDate)
	}

	get := func() dagRun {
		t.Helper()
		res := api.Get(runPath(dagID, "lifecycle-1"))
		if res.Status != http.StatusOK {
			t.Fatalf("get: %d %s", res.Status, res.Body)
		}
		return readRun(t, res)
	}
	for _, step := range []struct {
		prefect wire.StateType
		airflow string
	}{{wire.Pending, "queued"}, {wire.Running, "running"}, {wire.Completed, "success"}} {
		if _, err := setRunState(ctx, fr.ID, step.prefect); err != nil {
			t.Fatal(err)
		}
		got := get()
		if got.State != step.airflow {
			t.Fatalf("after %s the DAG run is %s, want %s", step.prefect, got.State, step.airflow)
		}
		switch step.airflow {
		case "running":
			if got.StartDate == nil || got.EndDate != nil {
				t.Errorf("running run: start %v end %v", got.StartDate, got.EndDate)
			}
		case "success":
			if got.StartDate == nil || got.EndDate == nil || *got.EndDate < *got.StartDate {
				t.Errorf("finished run: start %v end %v", got.StartDate, got.EndDate)
			}
		}
	}
	if got := readRun(t, api.Get(runPath(dagID, fr.ID))); got.DAGRunID != "lifecycle-1" {
		t.Errorf("by flow-run id: %+v", got)
	}

	// Note, clear (dry and real), mark success, delete.
	res = api.Do(http.MethodPatch, runPath(dagID, "lifecycle-1", "setNote"), map[string]any{"note": "checked"})
	if res.Status != http.StatusOK || readRun(t, res).Note == nil || *readRun(t, res).Note != "checked" {
		t.Errorf("setNote: %d %s", res.Status, res.Body)
	}
	if n := get().Note; n == nil || *n != "checked" {
		t.Errorf("note after setNote: %v", n)
	}
	for _, key := range []string{"load", "extract"} {
		if _, err := seed.TaskRun(ctx, fr.ID, key, "0", wire.Completed); err != nil {
			t.Fatal(err)
		}
	}
	res = api.Do(http.MethodPost, runPath(dagID, "lifecycle-1", "clear"), map[string]any{"dry_run": true})
	var refs struct {
		TaskInstances []struct {
			TaskID        string `json:"task_id"`
			DAGID         string `json:"dag_id"`
			DAGRunID      string `json:"dag_run_id"`
			ExecutionDate string `json:"execution_date"`
		} `json:"task_instances"`
	}
	res.JSON(t, &refs)
	if res.Status != http.StatusOK || len(refs.TaskInstances) != 2 || refs.TaskInstances[0].TaskID != "extract" ||
		refs.TaskInstances[1].TaskID != "load" || refs.TaskInstances[0].DAGID != dagID ||
		refs.TaskInstances[0].DAGRunID != "lifecycle-1" || refs.TaskInstances[0].ExecutionDate != *run.LogicalDate {
		t.Errorf("dry-run clear: %d %s", res.Status, res.Body)
	}
	if got := get(); got.State != "success" {
		t.Errorf("a dry run changed the run to %s", got.State)
	}
	res = api.Do(http.MethodPost, runPath(dagID, "lifecycle-1", "clear"), map[string]any{"dry_run": false})
	if cleared := readRun(t, res); res.Status != http.StatusOK || cleared.State != "queued" || cleared.EndDate != nil {
		t.Errorf("clear: %d %s", res.Status, res.Body)
	}
	if st := *oneFlowRun(t, dep.ID, "lifecycle-1").StateType; st != wire.Scheduled {
		t.Errorf("after clear Prefect has %s, want SCHEDULED", st)
	}
	res = api.Do(http.MethodPatch, runPath(dagID, "lifecycle-1"), map[string]any{"state": "success"})
	patched := readRun(t, res)
	if res.Status != http.StatusOK || patched.State != "success" || patched.EndDate == nil {
		t.Errorf("mark success: %d %s", res.Status, res.Body)
	}
	if again := get(); again.State != patched.State || *again.EndDate != *patched.EndDate || *again.StartDate != *patched.StartDate {
		t.Errorf("PATCH answered %+v, a read says %+v", patched, again)
	}
	if res := api.Do(http.MethodDelete, runPath(dagID, "lifecycle-1"), nil); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	if res := api.Get(runPath(dagID, "lifecycle-1")); res.Status != http.StatusNotFound {
		t.Errorf("get after delete: %d", res.Status)
	}
	if runs := flowRunsNamed(t, dep.ID, "lifecycle-1"); len(runs) != 0 {
		t.Errorf("Prefect still holds %d runs", len(runs))
	}
}

// "failed" cancels an unfinished run: at once when it never started, through CANCELLING
// when it runs; a refused change is a 400 with Prefect's reason.
func TestDAGRunCancel(t *testing.T) {
	dagID, dep := newDAG(t, "cancel", nil)
	api := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL).URL)
	ctx := testCtx(t)
	for _, id := range []string{"queued-run", "running-run"} {
		if res := api.Do(http.MethodPost, runPath(dagID), map[string]any{"dag_run_id": id}); res.Status != http.StatusOK {
			t.Fatalf("trigger %s: %d %s", id, res.Status, res.Body)
		}
	}
	running := oneFlowRun(t, dep.ID, "running-run")
	for _, st := range []wire.StateType{wire.Pending, wire.Running} {
		if _, err := setRunState(ctx, running.ID, st); err != nil {
			t.Fatal(err)
		}
	}

	res := api.Do(http.MethodPatch, runPath(dagID, "queued-run"), map[string]any{"state": "failed"})
	if r := readRun(t, res); res.Status != http.StatusOK || r.State != "failed" || r.EndDate == nil {
		t.Errorf("cancel a queued run: %d %s", res.Status, res.Body)
	}
	if st := *oneFlowRun(t, dep.ID, "queued-run").StateType; st != wire.Cancelled {
		t.Errorf("queued run in Prefect: %s, want CANCELLED", st)
	}

	res = api.Do(http.MethodPatch, runPath(dagID, "running-run"), map[string]any{"state": "failed"})
	if r := readRun(t, res); res.Status != http.StatusOK || r.State != "running" {
		t.Errorf("cancel a running run: %d %s (a cancelling run still runs)", res.Status, res.Body)
	}
	if st := *oneFlowRun(t, dep.ID, "running-run").StateType; st != wire.Cancelling {
		t.Errorf("running run in Prefect: %s, want CANCELLING", st)
	}
	// Prefect lets a cancelling run go nowhere but CANCELLED.
	res = api.Do(http.MethodPatch, runPath(dagID, "running-run"), map[string]any{"state": "success"})
	var p gateway.Problem
	res.JSON(t, &p)
	if res.Status != http.StatusBadRequest || !strings.Contains(p.Detail, "Prefect refused") || !strings.Contains(p.Detail, "CANCELLING") {
		t.Errorf("success on a cancelling run: %d %s", res.Status, res.Body)
	}
	// The worker stops the run.
	if _, err := setRunState(ctx, running.ID, wire.Cancelled); err != nil {
		t.Fatal(err)
	}
	if r := readRun(t, api.Get(runPath(dagID, "running-run"))); r.State != "failed" || r.EndDate == nil {
		t.Errorf("cancelled run reads %s", r.State)
	}
	// A finished run marked failed is FAILED.
	res = api.Do(http.MethodPatch, runPath(dagID, "running-run"), map[string]any{"state": "failed"})
	if res.Status != http.StatusOK || *oneFlowRun(t, dep.ID, "running-run").StateType != wire.Failed {
		t.Errorf("failed on a cancelled run: %d %s", res.Status, res.Body)
	}
	// Re-queue it.
	res = api.Do(http.MethodPatch, runPath(dagID, "running-run"), map[string]any{"state": "queued"})
	if r := readRun(t, res); res.Status != http.StatusOK || r.State != "queued" || r.EndDate != nil {
		t.Errorf("re-queue: %d %s", res.Status, res.Body)
	}
}

func TestDAGRunTriggerRules(t *testing.T) {
	dagID, dep := newDAG(t, "rules", map[string]any{
		"enforce_parameter_schema": true,
		"parameter_openapi_schema": map[string]any{"type": "object", "properties": map[string]any{
			"batch_size": map[string]any{"type": "integer", "title": "batch_size"}}},
	})
	api := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL).URL)

	problem := func(res *harness.Response) gateway.Problem {
		t.Helper()
		var p gateway.Problem
		res.JSON(t, &p)
		return p
	}
	res := api.Do(http.MethodPost, runPath(dagID), map[string]any{})
	generated := readRun(t, res)
	if res.Status != http.StatusOK || !strings.HasPrefix(generated.DAGRunID, "manual__") || generated.DAGRunID != "manual__"+pythonISO(t, *generated.LogicalDate) {
		t.Errorf("generated id %q for logical date %v", generated.DAGRunID, generated.LogicalDate)
	}
	if len(objectOf(t, generated.Conf)) != 0 {
		t.Errorf("conf of an empty trigger: %s", generated.Conf)
	}

	pinned := map[string]any{"dag_run_id": "pinned", "logical_date": "2024-05-01T00:00:00+00:00", "conf": map[string]any{"batch_size": 5}}
	first := readRun(t, api.Do(http.MethodPost, runPath(dagID), pinned))
	// The same request again (a client retrying after a lost answer) is answered with the
	// same run, and Prefect holds one.
	res = api.Do(http.MethodPost, runPath(dagID), pinned)
	if again := readRun(t, res); res.Status != http.StatusOK || again.DAGRunID != "pinned" || *again.LogicalDate != *first.LogicalDate {
		t.Errorf("repeated trigger: %d %s", res.Status, res.Body)
	}
	if n := len(flowRunsNamed(t, dep.ID, "pinned")); n != 1 {
		t.Errorf("Prefect holds %d runs named pinned", n)
	}

	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		detail string
	}{
		{"duplicate id", map[string]any{"dag_run_id": "pinned"}, 409, "DAGRun ID: 'pinned' already exists"},
		{"duplicate id, other conf", map[string]any{"dag_run_id": "pinned", "logical_date": "2024-05-01T00:00:00+00:00",
			"conf": map[string]any{"batch_size": 6}}, 409, "already exists"},
		{"duplicate logical date", map[string]any{"dag_run_id": "other", "execution_date": "2024-05-01T00:00:00Z"}, 409,
			"logical date: '2024-05-01 00:00:00+00:00' already exists"},
		{"conf against the parameter schema", map[string]any{"conf": map[string]any{"batch_size": "lots"}}, 400, "Error creating flow run"},
		{"unknown field", map[string]any{"priority": 1}, 400, "priority"},
		{"read-only field", map[string]any{"state": "success"}, 400, "state"},
		{"conflicting dates", map[string]any{"logical_date": "2024-05-02T00:00:00Z", "execution_date": "2024-05-03T00:00:00Z"}, 400, ""},
		{"half an interval", map[string]any{"data_interval_start": "2024-05-02T00:00:00Z"}, 400, "together"},
		{"bad run id", map[string]any{"dag_run_id": "no spaces please"}, 400, "pattern"},
	} {
		res := api.Do(http.MethodPost, runPath(dagID), tc.body)
		if p := problem(res); res.Status != tc.status || !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: %d %s; want %d containing %q", tc.name, res.Status, res.Body, tc.status, tc.detail)
		}
	}
	res = api.Do(http.MethodPost, runPath(dagID+"_missing"), map[string]any{})
	if p := problem(res); res.Status != http.StatusNotFound || p.Title != "DAG not found" || !strings.Contains(p.Detail, dagID+"_missing") {
		t.Errorf("unknown DAG: %d %s", res.Status, res.Body)
	}
	// A run Prefect made under the same name holds the id too.
	if _, err := seedRun(testCtx(t), dep.ID, "made-in-prefect", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	res = api.Do(http.MethodPost, runPath(dagID), map[string]any{"dag_run_id": "made-in-prefect", "logical_date": "2024-07-01T00:00:00Z"})
	if res.Status != http.StatusConflict {
		t.Errorf("id of a Prefect-made run: %d %s", res.Status, res.Body)
	}
}

func pythonISO(t *testing.T, airflowTime string) string {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, airflowTime)
	if err != nil {
		t.Fatal(err)
	}
	return translate.FormatTime(ts)
}

// A trigger whose answer is lost between Prefect and the gateway is retried with its
// idempotency key: one flow run, and the caller gets its 200.
func TestDAGRunTriggerSurvivesDroppedAnswer(t *testing.T) {
	dagID, dep := newDAG(t, "dropped", nil)
	var drops atomic.Int32
	proxy, err := faultproxy.Start(prefectServer.URL, func(r *http.Request, body []byte) faultproxy.Fault {
		if strings.HasSuffix(r.URL.Path, "/create_flow_run") && drops.Add(1) == 1 {
			return faultproxy.Fault{DropResponse: true}
		}
		return faultproxy.Fault{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	api := harness.NewAPI(t, harness.StartGateway(t, proxy.URL).URL)
	res := api.Do(http.MethodPost, runPath(dagID), map[string]any{"dag_run_id": "once", "conf": map[string]any{"k": "v"}})
	if res.Status != http.StatusOK || readRun(t, res).DAGRunID != "once" {
		t.Fatalf("trigger through a lost answer: %d %s", res.Status, res.Body)
	}
	if drops.Load() < 2 {
		t.Fatalf("create_flow_run was sent %d times: the answer was not lost and retried", drops.Load())
	}
	if n := len(flowRunsNamed(t, dep.ID, "once")); n != 1 {
		t.Errorf("Prefect holds %d runs named once, want exactly 1", n)
	}
}

// 250 runs read page by page, in every order and at several page sizes: each run once,
// in the order asked for, with an exact total.
func TestDAGRunPaging(t *testing.T) {
	dagID, dep := newDAG(t, "paging", nil)
	ctx := testCtx(t)
	base := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	var created []string // creation order; logical dates ascend with it
	for i := 0; i < 250; i++ {
		// Names sort differently from creation so that each order is told apart.
		name := fmt.Sprintf("page-%03d", (i*7)%250)
		if _, err := seedRun(ctx, dep.ID, name, base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		created = append(created, name)
	}
	// Airflow's id order is Prefect's flow-run id order (which Prefect only sorts
	// descending). Prefect 3.8's run ids are uuid4, so that is not creation order.
	byID := prefectIDOrder(t, ctx, dep.ID)
	byIDDesc := slices.Clone(byID)
	slices.Reverse(byIDDesc)
	api := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL, func(o *gateway.Options, _ *prefect.Options) {
		o.MaxPageLimit = 300 // lets one page exceed Prefect's 200 rows per call
	}).URL)

	reversed := slices.Clone(created)
	slices.Reverse(reversed)
	byName := slices.Clone(created)
	slices.Sort(byName)
	byNameDesc := slices.Clone(byName)
	slices.Reverse(byNameDesc)
	for _, tc := range []struct {
		order string
		want  []string
	}{
		{"", byID}, {"id", byID}, {"-id", byIDDesc}, {"execution_date", created}, {"-execution_date", reversed},
		{"dag_run_id", byName}, {"-dag_run_id", byNameDesc},
	} {
		for _, limit := range []int{7, 100, 250} {
			var got []string
			for offset := 0; offset < 260; offset += limit {
				q := harness.Query("limit", fmt.Sprint(limit), "offset", fmt.Sprint(offset))
				if tc.order != "" {
					q += "&order_by=" + url.QueryEscape(tc.order)
				}
				page := readPage(t, api.Get(runPath(dagID)+q))
				if page.Total != 250 {
					t.Fatalf("order %q limit %d offset %d: total %d", tc.order, limit, offset, page.Total)
				}
				if want := min(limit, max(0, 250-offset)); len(page.DAGRuns) != want {
					t.Fatalf("order %q limit %d offset %d: %d runs, want %d", tc.order, limit, offset, len(page.DAGRuns), want)
				}
				got = append(got, runIDs(page.DAGRuns)...)
			}
			if !slices.Equal(got, tc.want) {
				seen := map[string]int{}
				for _, id := range got {
					seen[id]++
				}
				t.Errorf("order %q limit %d: %d runs (%d distinct), not in the order asked for", tc.order, limit, len(got), len(seen))
			}
		}
	}
	// The batch form pages the same way.
	var got []string
	for offset := 0; offset < 250; offset += 60 {
		got = append(got, runIDs(readPage(t, api.Do(http.MethodPost, "/dags/~/dagRuns/list",
			map[string]any{"dag_ids": []string{dagID}, "page_offset": offset, "page_limit": 60})).DAGRuns)...)
	}
	if !slices.Equal(got, byID) {
		t.Errorf("batch paging: %d runs, not in id order", len(got))
	}
}

// seedRun creates a run in Prefect as its scheduler or UI would (no Airflow labels), with an
// idempotency key so that the client may retry it when SQLite is busy (Prefect's 503).
func seedRun(ctx context.Context, deploymentID, name string, at time.Time) (wire.FlowRun, error) {
	at = at.UTC()
	run, _, err := seed.C.CreateFlowRun(ctx, deploymentID, wire.FlowRunCreate{Name: name, IdempotencyKey: "seed:" + name,
		State: &wire.StateCreate{Type: wire.Scheduled, StateDetails: &wire.StateDetails{ScheduledTime: &at}}})
	if err != nil {
		return run, fmt.Errorf("seed flow run %q: %w", name, err)
	}
	return run, nil
}

// setRunState moves a flow run as a worker would (seed.SetState retries while SQLite is busy).
func setRunState(ctx context.Context, runID string, st wire.StateType) (wire.OrchestrationResult, error) {
	return seed.SetState(ctx, runID, st)
}

// prefectIDOrder is the deployment's runs in ascending flow-run id, from Prefect directly.
func prefectIDOrder(t *testing.T, ctx context.Context, deploymentID string) []string {
	t.Helper()
	var desc []string
	for offset := 0; ; offset += prefect.MaxLimit {
		limit := prefect.MaxLimit
		runs, err := seed.C.FilterFlowRuns(ctx, wire.Query{FlowRuns: &wire.FlowRunFilter{DeploymentID: &wire.NullableAnyOf{Any: []string{deploymentID}}},
			Sort: "ID_DESC", Limit: &limit, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			desc = append(desc, r.Name)
		}
		if len(runs) < limit {
			break
		}
	}
	slices.Reverse(desc)
	return desc
}

// Lists across DAGs: each run names its DAG (alias included), filters and totals are exact,
// runs of a deleted deployment belong to no DAG, and an unknown DAG has no runs.
func TestDAGRunListsAcrossDAGs(t *testing.T) {
	ctx := testCtx(t)
	dailyID, daily := newDAG(t, "daily", nil)
	alias := fmt.Sprintf("legacy_%d", time.Now().UnixNano()%1e9)
	_, tagged := newDAG(t, "tagged", map[string]any{"tags": []string{"airflow-dag-id:" + alias}})
	_, doomed := newDAG(t, "doomed", nil)
	api := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL).URL)

	// A window of logical dates no other test uses.
	w0 := time.Date(2001, 7, 1, 0, 0, 0, 0, time.UTC)
	mk := func(dep wire.Deployment, name string, at time.Duration, states ...wire.StateType) {
		t.Helper()
		fr, err := seedRun(ctx, dep.ID, name, w0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range states {
			if _, err := setRunState(ctx, fr.ID, st); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk(daily, "d-queued", time.Hour)
	mk(daily, "d-done", 2*time.Hour, wire.Completed)
	mk(tagged, "t-failed", 3*time.Hour, wire.Failed)
	mk(tagged, "t-running", 4*time.Hour, wire.Pending, wire.Running)
	mk(doomed, "orphan", 5*time.Hour, wire.Completed)
	deleteDeployment(t, doomed.ID) // its finished run survives in Prefect, without a DAG

	window := "execution_date_gte=" + url.QueryEscape("2001-07-01T00:00:00+00:00") + "&execution_date_lte=" + url.QueryEscape("2001-07-02T00:00:00Z")
	page := readPage(t, api.Get("/dags/~/dagRuns?"+window+"&order_by=execution_date"))
	if page.Total != 4 || !slices.Equal(runIDs(page.DAGRuns), []string{"d-queued", "d-done", "t-failed", "t-running"}) {
		t.Fatalf("~ in the window: total %d, %v", page.Total, runIDs(page.DAGRuns))
	}
	dagOf := map[string]string{}
	for _, r := range page.DAGRuns {
		dagOf[r.DAGRunID] = r.DAGID
	}
	if dagOf["d-done"] != dailyID || dagOf["t-failed"] != alias {
		t.Errorf("dag ids: %v (want %s and the alias %s)", dagOf, dailyID, alias)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"&state=failed&state=running", []string{"t-failed", "t-running"}},
		{"&state=queued", []string{"d-queued"}},
		{"&state=success", []string{"d-done"}},
		{"&start_date_gte=2000-01-01T00:00:00Z", []string{"d-done", "t-failed", "t-running"}}, // never-started runs have no start_date
		{"&end_date_lte=2100-01-01T00:00:00Z", []string{"d-done", "t-failed"}},
		{"&order_by=-execution_date&limit=1", []string{"t-running"}},
	} {
		order := "&order_by=execution_date"
		if strings.Contains(tc.query, "order_by") {
			order = ""
		}
		page := readPage(t, api.Get("/dags/~/dagRuns?"+window+order+tc.query))
		if !slices.Equal(runIDs(page.DAGRuns), tc.want) {
			t.Errorf("~ %s: %v, want %v", tc.query, runIDs(page.DAGRuns), tc.want)
		}
	}
	if page := readPage(t, api.Get(runPath(alias)+"?"+window)); page.Total != 2 || len(page.DAGRuns) != 2 || page.DAGRuns[0].DAGID != alias {
		t.Errorf("the aliased DAG's runs: %+v", page)
	}
	if page := readPage(t, api.Get(runPath(dailyID+"_nope"))); page.Total != 0 || len(page.DAGRuns) != 0 {
		t.Errorf("unknown DAG: %+v", page)
	}

	batch := func(body map[string]any) runPage {
		t.Helper()
		body["execution_date_gte"] = "2001-07-01T00:00:00+00:00"
		body["execution_date_lte"] = "2001-07-02T00:00:00+00:00"
		return readPage(t, api.Do(http.MethodPost, "/dags/~/dagRuns/list", body))
	}
	if p := batch(map[string]any{"dag_ids": []string{alias, "no.such_dag"}, "order_by": "dag_run_id"}); p.Total != 2 ||
		!slices.Equal(runIDs(p.DAGRuns), []string{"t-failed", "t-running"}) {
		t.Errorf("batch by dag_ids: %+v", p)
	}
	if p := batch(map[string]any{"states": []string{"success", "queued"}, "order_by": "-execution_date"}); !slices.Equal(runIDs(p.DAGRuns), []string{"d-done", "d-queued"}) {
		t.Errorf("batch by states: %v", runIDs(p.DAGRuns))
	}
	if p := batch(map[string]any{"page_limit": 1, "page_offset": 3, "order_by": "execution_date"}); p.Total != 4 || !slices.Equal(runIDs(p.DAGRuns), []string{"t-running"}) {
		t.Errorf("batch paging: %+v", p)
	}

	// Refusals Airflow's document does not list for GET (it answers 400 all the same).
	raw := *api
	raw.NoValidate = true
	for _, q := range []string{"?order_by=state", "?order_by=nope", "?limit=-1", "?updated_at_gte=2024-01-01T00:00:00Z", "?execution_date_gte=tomorrow"} {
		res := raw.WithT(t).Get(runPath(dailyID) + q)
		var p gateway.Problem
		res.JSON(t, &p)
		if res.Status != http.StatusBadRequest || p.Status != 400 || p.Detail == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET %s: %d %s", q, res.Status, res.Body)
		}
	}
	if res := api.Do(http.MethodPost, "/dags/~/dagRuns/list", map[string]any{"order_by": "conf"}); res.Status != http.StatusBadRequest {
		t.Errorf("batch order_by=conf: %d", res.Status)
	}
}

func deleteDeployment(t *testing.T, id string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(testCtx(t), http.MethodDelete, prefectServer.URL+"/deployments/"+id, bytes.NewReader(nil))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete deployment %s: %d", id, res.StatusCode)
	}
}

// dag_id is the exact, percent-decoded path segment: Prefect names may hold spaces and dots.
func TestDAGRunIDsWithOddCharacters(t *testing.T) {
	dagID, dep := newDAG(t, "my daily.v2", nil)
	api := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL).URL)
	res := api.Do(http.MethodPost, runPath(dagID), map[string]any{"dag_run_id": "odd-1"})
	if res.Status != http.StatusOK || readRun(t, res).DAGID != dagID {
		t.Fatalf("trigger on %q: %d %s", dagID, res.Status, res.Body)
	}
	if _, err := seedRun(testCtx(t), dep.ID, "made/in prefect", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"odd-1", "made/in prefect"} {
		if r := readRun(t, api.Get(runPath(dagID, id))); r.DAGRunID != id || r.DAGID != dagID {
			t.Errorf("get %q: %+v", id, r)
		}
	}
	if page := readPage(t, api.Get(runPath(dagID))); page.Total != 2 {
		t.Errorf("list of %q: %+v", dagID, page)
	}
}

// objectOf decodes a JSON object (a conf or Prefect's parameters); anything else fails t.
func objectOf(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		t.Fatalf("not a JSON object (%v): %s", err, raw)
	}
	return m
}
