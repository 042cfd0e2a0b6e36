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

type datasetsEnv struct {
	*runsEnv
	payroll *fakeDeployment
	run     *wire.FlowRun
	base    time.Time
	matID   string // the id of the first materialization of s3://b/orders
}

func assetEvent(name, uri string, at time.Time, id string, related ...wire.Resource) wire.Event {
	return wire.Event{ID: id, Occurred: at, Event: name, Resource: wire.Resource{"prefect.resource.id": uri, "prefect.resource.name": "asset " + uri},
		Related: related, Payload: json.RawMessage(`{"rows":10}`)}
}

func runRelated(dep *fakeDeployment, flow string, run *wire.FlowRun, taskRunID string) []wire.Resource {
	return []wire.Resource{
		{"prefect.resource.id": "prefect.flow-run." + run.ID, "prefect.resource.role": "flow-run", "prefect.resource.name": run.Name},
		{"prefect.resource.id": "prefect.task-run." + taskRunID, "prefect.resource.role": "task-run", "prefect.resource.name": "x"},
		{"prefect.resource.id": "prefect.flow." + dep.FlowID, "prefect.resource.role": "flow", "prefect.resource.name": flow},
		{"prefect.resource.id": "prefect.deployment." + dep.ID, "prefect.resource.role": "deployment", "prefect.resource.name": dep.Name},
	}
}

// newDatasetsEnv: s3://b/orders materialized twice by etl.daily's write_orders, s3://b/pay
// once by payroll.monthly's write_pay, s3://b/raw only referenced, s3://b/manual
// materialized outside any deployment.
func newDatasetsEnv(t *testing.T, adjust ...func(*Options)) *datasetsEnv {
	e := &datasetsEnv{runsEnv: newRunsEnv(t, adjust...), base: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}
	e.payroll = e.fake.addDeployment("payroll", "monthly")
	e.run = e.fake.addRun(e.dep, "r0", e.base, wire.Completed)
	pay := e.fake.addRun(e.payroll, "p0", e.base, wire.Completed)
	e.fake.mu.Lock()
	e.fake.taskRuns = append(e.fake.taskRuns, wire.TaskRun{ID: "tr-orders", FlowRunID: &e.run.ID, TaskKey: "write_orders"},
		wire.TaskRun{ID: "tr-pay", FlowRunID: &pay.ID, TaskKey: "write_pay"})
	e.fake.mu.Unlock()
	id := func(n int) string { return fmt.Sprintf("0190f000-0000-7000-8000-%012x", n) }
	e.matID = id(2)
	e.fake.addEvent(assetEvent("prefect.asset.referenced", "s3://b/raw", e.base.Add(1*time.Minute), id(1)))
	e.fake.addEvent(assetEvent(translate.AssetMaterialized, "s3://b/orders", e.base.Add(2*time.Minute), id(2), runRelated(e.dep, "etl", e.run, "tr-orders")...))
	e.fake.addEvent(assetEvent(translate.AssetMaterialized, "s3://b/orders", e.base.Add(4*time.Minute), id(3), runRelated(e.dep, "etl", e.run, "tr-orders")...))
	e.fake.addEvent(assetEvent(translate.AssetMaterialized, "s3://b/pay", e.base.Add(3*time.Minute), id(4), runRelated(e.payroll, "payroll", pay, "tr-pay")...))
	e.fake.addEvent(assetEvent(translate.AssetMaterialized, "s3://b/manual", e.base.Add(5*time.Minute), id(5)))
	created := e.base.Add(-time.Hour)
	e.fake.mu.Lock()
	e.fake.automations = append(e.fake.automations,
		wire.Automation{ID: "a1", Name: "payroll on orders", Enabled: true, Created: &created, Updated: &created,
			Trigger: wire.AutomationTrigger{Type: "compound", Triggers: []wire.AutomationTrigger{{Type: "event",
				Match: map[string]any{"prefect.resource.id": []any{"s3://b/ord*"}}, Expect: []string{translate.AssetMaterialized}}}},
			Actions: []wire.AutomationAction{{Type: "run-deployment", Source: "selected", DeploymentID: &e.payroll.ID}}},
		wire.Automation{ID: "a2", Name: "disabled", Enabled: false,
			Trigger: wire.AutomationTrigger{Type: "event", Match: map[string]any{"prefect.resource.id": "s3://b/pay"}},
			Actions: []wire.AutomationAction{{Type: "run-deployment", Source: "selected", DeploymentID: &e.dep.ID}}},
		wire.Automation{ID: "a3", Name: "other events", Enabled: true,
			Trigger: wire.AutomationTrigger{Type: "event", Match: map[string]any{"prefect.resource.id": "s3://b/pay"}, Expect: []string{"prefect.flow-run.Completed"}},
			Actions: []wire.AutomationAction{{Type: "run-deployment", Source: "selected", DeploymentID: &e.dep.ID}}})
	e.fake.mu.Unlock()
	e.fake.addEvent(assetEvent("prefect.asset.materialization.failed", "s3://b/orders", e.base.Add(6*time.Minute), id(6), runRelated(e.dep, "etl", e.run, "tr-orders")...))
	return e
}

func (e *datasetsEnv) list(t *testing.T, query string) translate.DatasetCollection {
	t.Helper()
	a := e.do(http.MethodGet, "/datasets"+query, "")
	var c translate.DatasetCollection
	if a.status != 200 || json.Unmarshal(a.body, &c) != nil || c.Datasets == nil {
		t.Fatalf("%s: %d %s", query, a.status, a.body)
	}
	return c
}

func uris(ds []translate.Dataset) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.URI
	}
	return out
}

func TestDatasets(t *testing.T) {
	e := newDatasetsEnv(t)
	e.do(http.MethodGet, "/dags", "") // warm the DAG cache
	e.fake.takeCalls()
	all := e.list(t, "?order_by=uri")
	if got := uris(all.Datasets); mustMarshal(got) != `["s3://b/manual","s3://b/orders","s3://b/pay","s3://b/raw"]` || all.TotalEntries != 4 {
		t.Fatalf("datasets %v total %d", got, all.TotalEntries)
	}
	orders := all.Datasets[1]
	want := translate.Dataset{ID: translate.DatasetID("s3://b/orders"), URI: "s3://b/orders", Extra: map[string]any{"name": "asset s3://b/orders"},
		CreatedAt: "2024-05-01T00:02:00+00:00", UpdatedAt: "2024-05-01T00:06:00+00:00",
		ConsumingDAGs: []translate.DatasetConsumer{{DAGID: strp("payroll.monthly"), CreatedAt: "2024-04-30T23:00:00+00:00", UpdatedAt: "2024-04-30T23:00:00+00:00"}},
		ProducingTasks: []translate.DatasetProducer{{DAGID: strp("etl.daily"), TaskID: strp("write_orders"),
			CreatedAt: "2024-05-01T00:02:00+00:00", UpdatedAt: "2024-05-01T00:04:00+00:00"}}}
	if !equalJSON(orders, want) {
		t.Errorf("orders\n got %s\nwant %s", mustMarshal(orders), mustMarshal(want))
	}
	if len(all.Datasets[0].ProducingTasks) != 0 || len(all.Datasets[3].ProducingTasks) != 0 || len(all.Datasets[2].ConsumingDAGs) != 0 {
		t.Errorf("a dataset no DAG materialized has producing tasks: %+v", all.Datasets)
	}
	if calls := normalizeCalls(e.fake.takeCalls()); len(calls) > 8 {
		t.Errorf("%d calls: %v", len(calls), calls)
	}
	for _, tc := range []struct{ query, want string }{
		{"?uri_pattern=ORD", `["s3://b/orders"]`},
		{"?uri_pattern=b/_a%25", `["s3://b/manual","s3://b/pay","s3://b/raw"]`},
		{"?dag_ids=payroll.monthly,nope.nope&order_by=uri", `["s3://b/orders","s3://b/pay"]`},
		{"?dag_ids=etl.daily&order_by=uri", `["s3://b/orders"]`},
		{"?order_by=-updated_at&limit=2", `["s3://b/orders","s3://b/manual"]`},
		{"?order_by=created_at&offset=1&limit=2", `["s3://b/orders","s3://b/pay"]`},
	} {
		got := e.list(t, tc.query)
		if tc.query == "?uri_pattern=b/_a%25" {
			translate.SortDatasets(got.Datasets, translate.OrderBy{Field: "uri"})
		}
		if mustMarshal(uris(got.Datasets)) != tc.want {
			t.Errorf("%s: %v, want %s", tc.query, uris(got.Datasets), tc.want)
		}
	}
	if p := e.do(http.MethodGet, "/datasets?order_by=extra", "").problem(t); p.Status != 400 {
		t.Errorf("order_by=extra: %+v", p)
	}

	one := e.do(http.MethodGet, "/datasets/s3%3A%2F%2Fb%2Forders", "")
	var got translate.Dataset
	if one.status != 200 || json.Unmarshal(one.body, &got) != nil || !equalJSON(got, want) {
		t.Errorf("get: %d %s", one.status, one.body)
	}
	if p := e.do(http.MethodGet, "/datasets/s3%3A%2F%2Fb%2Fnope", "").problem(t); p.Status != 404 || p.Title != "Dataset not found" ||
		p.Detail != "The Dataset with uri: `s3://b/nope` was not found" {
		t.Errorf("unknown: %+v", p)
	}
}

func (e *datasetsEnv) events(t *testing.T, query string) translate.DatasetEventCollection {
	t.Helper()
	a := e.do(http.MethodGet, "/datasets/events"+query, "")
	var c translate.DatasetEventCollection
	if a.status != 200 || json.Unmarshal(a.body, &c) != nil || c.DatasetEvents == nil {
		t.Fatalf("%s: %d %s", query, a.status, a.body)
	}
	return c
}

func TestDatasetEvents(t *testing.T) {
	e := newDatasetsEnv(t)
	all := e.events(t, "")
	if all.TotalEntries != 4 || len(all.DatasetEvents) != 4 {
		t.Fatalf("%+v", all)
	}
	first := all.DatasetEvents[0]
	if first.DatasetURI != "s3://b/orders" || first.DatasetID != translate.DatasetID("s3://b/orders") || deref(first.SourceDAGID) != "etl.daily" ||
		deref(first.SourceTaskID) != "write_orders" || deref(first.SourceRunID) != "r0" || first.Extra["rows"] != float64(10) ||
		first.Timestamp != "2024-05-01T00:02:00+00:00" || first.SourceMapIndex != nil {
		t.Errorf("first %+v", first)
	}
	for _, tc := range []struct {
		query string
		total int
	}{
		{"?source_dag_id=etl.daily", 2},
		{fmt.Sprintf("?dataset_id=%d", translate.DatasetID("s3://b/pay")), 1},
		{"?dataset_id=12345", 0},
		{"?source_run_id=r0&source_task_id=write_orders", 2},
		{"?source_run_id=r0&source_task_id=other", 0},
		{"?source_map_index=3", 0},
		{"?source_map_index=0", 4},
		{"?order_by=-timestamp&limit=1", 4},
	} {
		if got := e.events(t, tc.query); got.TotalEntries != tc.total {
			t.Errorf("%s: total %d, want %d", tc.query, got.TotalEntries, tc.total)
		}
	}
	if got := e.events(t, "?order_by=-timestamp&limit=1"); got.DatasetEvents[0].DatasetURI != "s3://b/manual" {
		t.Errorf("newest first: %+v", got.DatasetEvents)
	}
	for _, q := range []string{"?order_by=source_dag_id", "?source_task_id=write_orders"} {
		if p := e.do(http.MethodGet, "/datasets/events"+q, "").problem(t); p.Status != 400 {
			t.Errorf("%s: %+v", q, p)
		}
	}

	before := len(e.fake.events)
	a := e.do(http.MethodPost, "/datasets/events", `{"dataset_uri":"s3://b/orders","extra":{"note":"backfill"}}`)
	var created translate.DatasetEvent
	if a.status != 200 || json.Unmarshal(a.body, &created) != nil || created.DatasetURI != "s3://b/orders" ||
		created.Extra["note"] != "backfill" || created.Extra["from_rest_api"] != true || created.SourceDAGID != nil {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	e.fake.mu.Lock()
	emitted := e.fake.events[len(e.fake.events)-1]
	e.fake.mu.Unlock()
	if len(e.fake.events) != before+1 || emitted.Event != translate.AssetMaterialized || emitted.Resource.ID() != "s3://b/orders" ||
		emitted.Resource.Name() != "asset s3://b/orders" || translate.EventLogID(emitted.Occurred, emitted.ID) != created.ID {
		t.Errorf("emitted %+v", emitted)
	}
	for _, tc := range []struct {
		body   string
		status int
		detail string
	}{
		{`{"dataset_uri":"s3://b/nope"}`, 404, "Dataset with uri: 's3://b/nope' not found"},
		{`{"dataset_uri":"s3://b/orders","bogus":1}`, 400, "{'bogus': ['Unknown field.']}"},
		{`{"extra":{}}`, 400, ""},
		{`{"dataset_uri":"s3://b/orders","extra":[1]}`, 400, ""},
	} {
		p := e.do(http.MethodPost, "/datasets/events", tc.body).problem(t)
		if p.Status != tc.status || (tc.detail != "" && p.Detail != tc.detail) {
			t.Errorf("%s: %+v", tc.body, p)
		}
	}
	if len(e.fake.events) != before+1 {
		t.Error("a refused create emitted an event")
	}
}

func TestUpstreamDatasetEvents(t *testing.T) {
	e := newDatasetsEnv(t)
	triggered := e.fake.addRun(e.dep, "triggered", e.base.Add(time.Hour), wire.Scheduled)
	e.fake.addEvent(wire.Event{ID: "0190f000-0000-7000-8000-00000000ffff", Occurred: e.base.Add(time.Hour), Event: "prefect.automation.action.executed",
		Resource: wire.Resource{"prefect.resource.id": "prefect.automation.a1"},
		Related: []wire.Resource{
			{"prefect.resource.id": "prefect.flow-run." + triggered.ID, "prefect.resource.role": "flow-run"},
			{"prefect.resource.id": "prefect.event." + e.matID, "prefect.resource.role": "triggering-event"},
		}})
	a := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/triggered/upstreamDatasetEvents", "")
	var got translate.DatasetEventCollection
	if a.status != 200 || json.Unmarshal(a.body, &got) != nil || got.TotalEntries != 1 || got.DatasetEvents[0].DatasetURI != "s3://b/orders" {
		t.Errorf("triggered run: %d %s", a.status, a.body)
	}
	if len(got.DatasetEvents) == 1 && (len(got.DatasetEvents[0].CreatedDAGRuns) != 1 || got.DatasetEvents[0].CreatedDAGRuns[0].DAGRunID != "triggered") {
		t.Errorf("created_dagruns %+v", got.DatasetEvents[0].CreatedDAGRuns)
	}
	list := e.events(t, "?order_by=timestamp&limit=1")
	if len(list.DatasetEvents[0].CreatedDAGRuns) != 1 || list.DatasetEvents[0].CreatedDAGRuns[0].DAGID != "etl.daily" {
		t.Errorf("the listed event's created_dagruns %+v", list.DatasetEvents[0].CreatedDAGRuns)
	}
	a = e.do(http.MethodGet, "/dags/etl.daily/dagRuns/r0/upstreamDatasetEvents", "")
	if a.status != 200 || !jsonEqual(a.body, []byte(`{"dataset_events":[],"total_entries":0}`)) {
		t.Errorf("a run nothing triggered: %d %s", a.status, a.body)
	}
	if p := e.do(http.MethodGet, "/dags/etl.daily/dagRuns/nope/upstreamDatasetEvents", "").problem(t); p.Status != 404 {
		t.Errorf("unknown run: %+v", p)
	}
}

func TestDatasetsOfHiddenDAGs(t *testing.T) {
	dir := t.TempDir()
	hash, err := HashPassword([]byte("pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	users := "users:\n  - username: ana\n    password_bcrypt: '" + hash + "'\n    role: Viewer\n    dags: ['payroll.*']\n"
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newDatasetsEnv(t, func(o *Options) {
		o.Auth = AuthOptions{Mode: AuthModeUsers, UsersFile: filepath.Join(dir, "users.yaml")}
	})
	e.user, e.pass = "ana", "pw"
	if got := e.list(t, ""); mustMarshal(uris(got.Datasets)) != `["s3://b/pay"]` {
		t.Errorf("datasets: %v", uris(got.Datasets))
	}
	if got := e.events(t, ""); got.TotalEntries != 1 || got.DatasetEvents[0].DatasetURI != "s3://b/pay" {
		t.Errorf("events: %+v", got)
	}
	if p := e.do(http.MethodGet, "/datasets/s3%3A%2F%2Fb%2Forders", "").problem(t); p.Status != 404 {
		t.Errorf("a hidden DAG's dataset: %+v", p)
	}
}
