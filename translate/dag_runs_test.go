package translate

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func tp(s string) *time.Time { t := ts(s); return &t }

func sp(s string) *string { return &s }

func st(t wire.StateType) *wire.StateType { return &t }

func TestDAGRunState(t *testing.T) {
	cases := map[wire.StateType]string{
		wire.Scheduled: "queued", wire.Pending: "queued", wire.Paused: "queued",
		wire.Running: "running", wire.Cancelling: "running",
		wire.Completed: "success",
		wire.Failed:    "failed", wire.Crashed: "failed", wire.Cancelled: "failed",
		"": "queued", "SOMETHING_NEW": "queued",
	}
	for in, want := range cases {
		if got := DAGRunState(in); got != want {
			t.Errorf("DAGRunState(%q) = %q, want %q", in, got, want)
		}
	}
	// The inverse covers every Prefect state type exactly once.
	seen := map[wire.StateType]string{}
	for _, s := range DAGRunStates {
		types, ok := PrefectStateTypes(s)
		if !ok {
			t.Fatalf("PrefectStateTypes(%q) not ok", s)
		}
		for _, ty := range types {
			if prev, dup := seen[ty]; dup {
				t.Errorf("%s maps back from both %s and %s", ty, prev, s)
			}
			seen[ty] = s
			if DAGRunState(ty) != s {
				t.Errorf("PrefectStateTypes(%q) holds %s, which maps to %s", s, ty, DAGRunState(ty))
			}
		}
	}
	if len(seen) != 9 {
		t.Errorf("inverse covers %d state types, want all 9", len(seen))
	}
}

func TestStateTypesFilter(t *testing.T) {
	cases := []struct {
		in      []string
		want    []wire.StateType
		nothing bool
	}{
		{nil, nil, false},
		{[]string{"running"}, []wire.StateType{wire.Running, wire.Cancelling}, false},
		{[]string{"success", "success"}, []wire.StateType{wire.Completed}, false},
		{[]string{"bogus"}, nil, true},
		{[]string{"bogus", "failed"}, []wire.StateType{wire.Failed, wire.Crashed, wire.Cancelled}, false},
		{[]string{"QUEUED"}, nil, true}, // Airflow compares verbatim
	}
	for _, tc := range cases {
		got, nothing := StateTypesFilter(tc.in)
		if !reflect.DeepEqual(got, tc.want) || nothing != tc.nothing {
			t.Errorf("StateTypesFilter(%q) = %v, %v; want %v, %v", tc.in, got, nothing, tc.want, tc.nothing)
		}
	}
}

func TestTaskInstanceState(t *testing.T) {
	cases := []struct {
		t    wire.StateType
		name string
		want string
	}{
		{wire.Scheduled, "AwaitingRetry", "up_for_retry"},
		{wire.Scheduled, "Scheduled", "scheduled"},
		{wire.Scheduled, "Late", "scheduled"},
		{wire.Pending, "Pending", "queued"},
		{wire.Paused, "Paused", "deferred"},
		{wire.Running, "Running", "running"},
		{wire.Cancelling, "Cancelling", "running"},
		{wire.Completed, "Completed", "success"},
		{wire.Failed, "Failed", "failed"},
		{wire.Crashed, "Crashed", "failed"},
		{wire.Cancelled, "Cancelled", "skipped"},
	}
	for _, tc := range cases {
		got := TaskInstanceState(tc.t, tc.name)
		if got == nil || *got != tc.want {
			t.Errorf("TaskInstanceState(%s, %s) = %v, want %s", tc.t, tc.name, got, tc.want)
		}
	}
	if got := TaskInstanceState("", ""); got != nil {
		t.Errorf("no state = %v, want nil", *got)
	}
}

func TestDAGRunStateChange(t *testing.T) {
	cases := []struct {
		target  string
		current wire.StateType
		want    wire.StateType
	}{
		{"failed", wire.Scheduled, wire.Cancelling},
		{"failed", wire.Pending, wire.Cancelling},
		{"failed", wire.Running, wire.Cancelling},
		{"failed", wire.Paused, wire.Cancelling},
		{"failed", wire.Cancelling, wire.Cancelled},
		{"failed", wire.Completed, wire.Failed},
		{"failed", wire.Cancelled, wire.Failed},
		{"failed", wire.Crashed, wire.Failed},
		{"success", wire.Running, wire.Completed},
		{"success", wire.Failed, wire.Completed},
		{"queued", wire.Completed, wire.Scheduled},
		{"queued", wire.Running, wire.Scheduled},
	}
	for _, tc := range cases {
		got, err := DAGRunStateChange(tc.target, tc.current)
		if err != nil || got.Type != tc.want {
			t.Errorf("DAGRunStateChange(%s, %s) = %v, %v; want %s", tc.target, tc.current, got.Type, err, tc.want)
		}
		if got.StateDetails != nil || got.Name != "" {
			t.Errorf("DAGRunStateChange(%s, %s) sets name/details %+v: Prefect's defaults must apply", tc.target, tc.current, got)
		}
	}
	if _, err := DAGRunStateChange("running", wire.Scheduled); err == nil {
		t.Error("running is not a state a DAG run can be set to")
	}
}

func TestApplyState(t *testing.T) {
	t0, t1, t2 := tp("2024-01-01T00:00:00Z"), tp("2024-01-01T01:00:00Z"), tp("2024-01-01T02:00:00Z")
	cases := []struct {
		name             string
		run              wire.FlowRun
		state            wire.State
		wantStart, wantE *time.Time
	}{
		{"scheduled to running sets start", wire.FlowRun{StateType: st(wire.Scheduled)},
			wire.State{Type: wire.Running, Timestamp: t1}, t1, nil},
		{"running to completed sets end", wire.FlowRun{StateType: st(wire.Running), StartTime: t0},
			wire.State{Type: wire.Completed, Timestamp: t1}, t0, t1},
		{"cancelled before running sets both", wire.FlowRun{StateType: st(wire.Scheduled)},
			wire.State{Type: wire.Cancelled, Timestamp: t1}, t1, t1},
		{"final to final keeps the end", wire.FlowRun{StateType: st(wire.Failed), StartTime: t0, EndTime: t1},
			wire.State{Type: wire.Completed, Timestamp: t2}, t0, t1},
		{"re-queue clears the end", wire.FlowRun{StateType: st(wire.Completed), StartTime: t0, EndTime: t1},
			wire.State{Type: wire.Scheduled, Timestamp: t2}, t0, nil},
		{"cancelling keeps times", wire.FlowRun{StateType: st(wire.Running), StartTime: t0},
			wire.State{Type: wire.Cancelling, Timestamp: t2}, t0, nil},
	}
	for _, tc := range cases {
		got := ApplyState(tc.run, tc.state)
		if *got.StateType != tc.state.Type || !reflect.DeepEqual(got.StartTime, tc.wantStart) || !reflect.DeepEqual(got.EndTime, tc.wantE) {
			t.Errorf("%s: state %v start %v end %v; want %s %v %v", tc.name, *got.StateType, got.StartTime, got.EndTime, tc.state.Type, tc.wantStart, tc.wantE)
		}
	}
}

func TestFromPrefectFlowRun(t *testing.T) {
	run := wire.FlowRun{
		ID: "0190b1e4-0000-7000-8000-000000000001", Name: "manual__2024-05-01T00:00:00+00:00",
		ExpectedStartTime: tp("2024-05-01T00:00:00Z"),
		StartTime:         tp("2024-05-01T00:00:05.5Z"),
		Parameters:        json.RawMessage(`{"batch_size":100}`),
		StateType:         st(wire.Running),
		Labels: wire.FlowRunLabels{Note: "hello", DataIntervalStart: "2024-04-30T00:00:00+00:00",
			DataIntervalEnd: "2024-05-01T00:00:00Z"},
	}
	got := FromPrefectFlowRun(run, "etl.daily")
	want := DAGRun{
		DAGRunID: "manual__2024-05-01T00:00:00+00:00", DAGID: "etl.daily",
		LogicalDate: sp("2024-05-01T00:00:00+00:00"), ExecutionDate: sp("2024-05-01T00:00:00+00:00"),
		StartDate:         sp("2024-05-01T00:00:05.500000+00:00"),
		DataIntervalStart: sp("2024-04-30T00:00:00+00:00"), DataIntervalEnd: sp("2024-05-01T00:00:00+00:00"),
		RunType: "manual", State: "running", ExternalTrigger: true,
		Conf: json.RawMessage(`{"batch_size":100}`), Note: sp("hello"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromPrefectFlowRun:\n got %+v\nwant %+v", got, want)
	}

	// Every field is present, null where Prefect has no value.
	bare := FromPrefectFlowRun(wire.FlowRun{Name: "x", AutoScheduled: true, Labels: wire.FlowRunLabels{Note: ""}}, "d")
	raw, _ := json.Marshal(bare)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if len(m) != len(DAGRunFields) {
		t.Errorf("DAGRun JSON has %d fields, want %d: %s", len(m), len(DAGRunFields), raw)
	}
	for _, f := range DAGRunFields {
		if _, ok := m[f]; !ok {
			t.Errorf("field %s missing: %s", f, raw)
		}
	}
	for _, f := range []string{"logical_date", "start_date", "end_date", "note", "data_interval_start", "last_scheduling_decision"} {
		if m[f] != nil {
			t.Errorf("%s = %v, want null", f, m[f])
		}
	}
	if m["run_type"] != "scheduled" || m["external_trigger"] != false || m["state"] != "queued" {
		t.Errorf("auto-scheduled run: %s", raw)
	}
	if conf, ok := m["conf"].(map[string]any); !ok || len(conf) != 0 {
		t.Errorf("conf = %v, want {}", m["conf"])
	}
}

func TestParseTrigger(t *testing.T) {
	now := ts("2024-06-01T12:30:45.123456789Z")
	cases := []struct {
		name    string
		body    string
		want    TriggerRequest
		wantErr string
	}{
		{name: "empty object", body: `{}`, want: TriggerRequest{DAGRunID: "manual__2024-06-01T12:30:45.123456+00:00", GeneratedID: true,
			LogicalDate: ts("2024-06-01T12:30:45.123456Z")}},
		{name: "logical date", body: `{"logical_date":"2024-05-01T00:00:00+00:00"}`, want: TriggerRequest{
			DAGRunID: "manual__2024-05-01T00:00:00+00:00", GeneratedID: true, LogicalDate: ts("2024-05-01T00:00:00Z"), LogicalDateGiven: true}},
		{name: "execution date alone", body: `{"execution_date":"2024-05-01T02:00:00+02:00"}`, want: TriggerRequest{
			DAGRunID: "manual__2024-05-01T00:00:00+00:00", GeneratedID: true, LogicalDate: ts("2024-05-01T00:00:00Z"), LogicalDateGiven: true}},
		{name: "both equal", body: `{"execution_date":"2024-05-01T00:00:00Z","logical_date":"2024-05-01T00:00:00+00:00"}`, want: TriggerRequest{
			DAGRunID: "manual__2024-05-01T00:00:00+00:00", GeneratedID: true, LogicalDate: ts("2024-05-01T00:00:00Z"), LogicalDateGiven: true}},
		{name: "everything", body: `{"dag_run_id":"my-run_1:2","conf":{"a":1,"b":[true]},"note":"n",
			"data_interval_start":"2024-04-30T00:00:00Z","data_interval_end":"2024-05-01T00:00:00Z","logical_date":null}`,
			want: TriggerRequest{DAGRunID: "my-run_1:2", LogicalDate: ts("2024-06-01T12:30:45.123456Z"),
				Conf: map[string]any{"a": json.Number("1"), "b": []any{true}}, Note: sp("n"),
				DataIntervalStart: tp("2024-04-30T00:00:00Z"), DataIntervalEnd: tp("2024-05-01T00:00:00Z")}},
		{name: "null id is generated", body: `{"dag_run_id":null,"conf":null}`, want: TriggerRequest{DAGRunID: "manual__2024-06-01T12:30:45.123456+00:00",
			GeneratedID: true, LogicalDate: ts("2024-06-01T12:30:45.123456Z")}},
		{name: "conflicting dates", body: `{"execution_date":"2024-05-01T00:00:00Z","logical_date":"2024-05-02T00:00:00Z"}`, wantErr: "logical_date conflicts with execution_date"},
		{name: "naive date", body: `{"logical_date":"2024-05-01T00:00:00"}`, wantErr: "timezone"},
		{name: "bad date", body: `{"logical_date":"yesterday"}`, wantErr: "logical_date"},
		{name: "read-only field", body: `{"state":"running"}`, wantErr: "read-only field(s) cannot be set: 'state'"},
		{name: "unknown field", body: `{"bogus":1,"dag_id":"x"}`, wantErr: "'dag_id'; unknown field(s): 'bogus'"},
		{name: "conf not an object", body: `{"conf":[1]}`, wantErr: "conf"},
		{name: "conf a string", body: `{"conf":"{}"}`, wantErr: "conf"},
		{name: "half an interval", body: `{"data_interval_start":"2024-04-30T00:00:00Z"}`, wantErr: "must be specified together"},
		{name: "interval backwards", body: `{"data_interval_start":"2024-05-30T00:00:00Z","data_interval_end":"2024-05-01T00:00:00Z"}`, wantErr: "after"},
		{name: "bad run id", body: `{"dag_run_id":"has space"}`, wantErr: "does not match the pattern"},
		{name: "empty run id", body: `{"dag_run_id":""}`, wantErr: "does not match the pattern"},
		{name: "slash in run id", body: `{"dag_run_id":"a/b"}`, wantErr: "does not match the pattern"},
		{name: "long run id", body: `{"dag_run_id":"` + strings.Repeat("a", 251) + `"}`, wantErr: "at most 250"},
		{name: "id of wrong type", body: `{"dag_run_id":5}`, wantErr: "dag_run_id"},
		{name: "note of wrong type", body: `{"note":{}}`, wantErr: "note"},
		{name: "array body", body: `[]`, wantErr: "JSON object"},
		{name: "no body", body: ``, wantErr: "required"},
		{name: "not JSON", body: `{`, wantErr: "JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrigger([]byte(tc.body), now)
			if tc.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want an InputError containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTriggerFlowRunCreate(t *testing.T) {
	req, err := ParseTrigger([]byte(`{"dag_run_id":"r1","logical_date":"2024-05-01T00:00:00Z","conf":{"x":1},"note":"hi",
		"data_interval_start":"2024-04-30T00:00:00Z","data_interval_end":"2024-05-01T00:00:00Z"}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body := req.ToFlowRunCreate("dep-1")
	raw, _ := json.Marshal(body)
	want := `{"name":"r1","parameters":{"x":1},"state":{"type":"SCHEDULED","message":"Triggered through the Airflow API",` +
		`"state_details":{"scheduled_time":"2024-05-01T00:00:00Z"}},"idempotency_key":"airflow:dep-1:r1",` +
		`"labels":{"airflow.data_interval_end":"2024-05-01T00:00:00+00:00","airflow.data_interval_start":"2024-04-30T00:00:00+00:00",` +
		`"airflow.note":"hi","airflow.trigger":"` + req.Fingerprint() + `"}}`
	if string(raw) != want {
		t.Errorf("create body:\n got %s\nwant %s", raw, want)
	}

	// The fingerprint tells this request's own run from any other with the same id.
	own := wire.FlowRun{Name: "r1", Labels: wire.FlowRunLabels{TriggerFingerprint: wire.LabelValue(req.Fingerprint())}}
	if !req.CreatedBy(own) {
		t.Error("the run made by this request is not recognised")
	}
	other, _ := ParseTrigger([]byte(`{"dag_run_id":"r1","logical_date":"2024-05-01T00:00:00Z","conf":{"x":2},"note":"hi",
		"data_interval_start":"2024-04-30T00:00:00Z","data_interval_end":"2024-05-01T00:00:00Z"}`), time.Now())
	if other.Fingerprint() == req.Fingerprint() || other.CreatedBy(own) {
		t.Error("a different conf has the same fingerprint")
	}
	same, _ := ParseTrigger([]byte(`{"conf":{"x":1},"dag_run_id":"r1","note":"hi","logical_date":"2024-05-01T02:00:00+02:00",
		"data_interval_end":"2024-05-01T00:00:00Z","data_interval_start":"2024-04-30T00:00:00Z"}`), time.Now())
	if same.Fingerprint() != req.Fingerprint() {
		t.Error("the same request written differently has another fingerprint")
	}
	if req.CreatedBy(wire.FlowRun{Name: "r1"}) {
		t.Error("a run without a fingerprint (made by Prefect) counts as this request's")
	}
	if minimal := (TriggerRequest{DAGRunID: "x", LogicalDate: ts("2024-01-01T00:00:00Z")}).ToFlowRunCreate("d"); minimal.Parameters != nil ||
		len(minimal.Labels) != 1 {
		t.Errorf("minimal create body carries %+v", minimal)
	}
}

func TestPythonISOFormat(t *testing.T) {
	cases := map[string]string{
		"2024-05-01T00:00:00Z":             "2024-05-01T00:00:00+00:00",
		"2024-05-01T00:00:00.5Z":           "2024-05-01T00:00:00.500000+00:00",
		"2024-05-01T02:00:00.000001+02:00": "2024-05-01T00:00:00.000001+00:00",
		"2024-05-01T00:00:00.0000009Z":     "2024-05-01T00:00:00+00:00",
	}
	for in, want := range cases {
		if got := PythonISOFormat(ts(in)); got != want {
			t.Errorf("PythonISOFormat(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestValidateRunID(t *testing.T) {
	for _, ok := range []string{"a", "manual__2024-05-01T00:00:00+00:00", "x.y~z:1+2-3_4", "scheduled__2024-05-01T00:00:00+00:00"} {
		if err := ValidateRunID(ok); err != nil {
			t.Errorf("ValidateRunID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a/b", "ü", "a\n", "a%2F"} {
		if err := ValidateRunID(bad); err == nil {
			t.Errorf("ValidateRunID(%q) accepted", bad)
		}
	}
}

func TestParseDAGRunListQuery(t *testing.T) {
	cases := []struct {
		query   string
		max     int
		want    DAGRunQuery
		wantErr string
	}{
		{"", 100, DAGRunQuery{Page: Page{100, 0}, OrderBy: OrderBy{"id", false}}, ""},
		{"limit=500&offset=3&order_by=-execution_date", 100, DAGRunQuery{Page: Page{100, 3}, OrderBy: OrderBy{"execution_date", true}}, ""},
		{"limit=500", 1000, DAGRunQuery{Page: Page{500, 0}, OrderBy: OrderBy{"id", false}}, ""},
		{"state=running&state=failed", 100, DAGRunQuery{Page: Page{100, 0}, OrderBy: OrderBy{"id", false}, States: []string{"running", "failed"}}, ""},
		{"execution_date_gte=2024-01-01T00:00:00%2B00:00&start_date_lte=2024-02-01T00:00:00Z&end_date_gte=2024-01-01T00:00:00+00:00", 100,
			DAGRunQuery{Page: Page{100, 0}, OrderBy: OrderBy{"id", false}, ExecutionDate: TimeBounds{GTE: tp("2024-01-01T00:00:00Z")},
				StartDate: TimeBounds{LTE: tp("2024-02-01T00:00:00Z")}, EndDate: TimeBounds{GTE: tp("2024-01-01T00:00:00Z")}}, ""},
		{"fields=dag_run_id,state&fields=conf", 100, DAGRunQuery{Page: Page{100, 0}, OrderBy: OrderBy{"id", false},
			Fields: []string{"dag_run_id", "state", "conf"}}, ""},
		{"limit=-1", 100, DAGRunQuery{}, "positive"},
		{"order_by=bogus", 100, DAGRunQuery{}, "Ordering with 'bogus' is disallowed"},
		{"execution_date_gte=2024-01-01", 100, DAGRunQuery{}, "execution_date_gte"},
		{"updated_at_gte=2024-01-01T00:00:00Z", 100, DAGRunQuery{}, "updated_at"},
		{"bogus=1&other=2", 100, DAGRunQuery{}, "Extra query parameter(s) bogus, other not in spec"},
		{"fields=nope", 100, DAGRunQuery{}, "Invalid field"},
	}
	for _, tc := range cases {
		q, _ := url.ParseQuery(tc.query)
		got, err := ParseDAGRunListQuery(q, tc.max)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err = %v, want %q", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q = %+v, %v\nwant %+v", tc.query, got, err, tc.want)
		}
	}
}

func TestParseDAGRunListForm(t *testing.T) {
	cases := []struct {
		body    string
		want    DAGRunQuery
		wantErr string
	}{
		{`{}`, DAGRunQuery{Page: Page{100, 0}, OrderBy: OrderBy{"id", false}}, ""},
		{`{"page_limit":1000,"page_offset":20,"order_by":"-dag_run_id","dag_ids":["a","b"],"states":["queued"],
			"execution_date_gte":"2024-01-01T00:00:00Z","end_date_lte":"2024-02-01T00:00:00Z"}`,
			DAGRunQuery{Page: Page{1000, 20}, OrderBy: OrderBy{"dag_run_id", true}, DAGIDs: []string{"a", "b"}, States: []string{"queued"},
				ExecutionDate: TimeBounds{GTE: tp("2024-01-01T00:00:00Z")}, EndDate: TimeBounds{LTE: tp("2024-02-01T00:00:00Z")}}, ""},
		{`{"page_limit":0}`, DAGRunQuery{}, "minimum of 1"},
		{`{"page_offset":-1}`, DAGRunQuery{}, "minimum of 0"},
		{`{"page_limit":"10"}`, DAGRunQuery{}, "integer"},
		{`{"page_limit":1.5}`, DAGRunQuery{}, "integer"},
		{`{"dag_ids":"a"}`, DAGRunQuery{}, "dag_ids"},
		{`{"limit":10}`, DAGRunQuery{}, "unknown field(s): 'limit'"},
		{`{"order_by":"state"}`, DAGRunQuery{Page: Page{100, 0}, OrderBy: OrderBy{"state", false}}, ""},
		{`{"order_by":"nope"}`, DAGRunQuery{}, "Ordering with 'nope'"},
		{`{"updated_at_lte":"2024-01-01T00:00:00Z"}`, DAGRunQuery{}, "updated_at"},
		{`{"start_date_gte":"soon"}`, DAGRunQuery{}, "start_date_gte"},
		{`null`, DAGRunQuery{}, "JSON object"},
	}
	for _, tc := range cases {
		got, err := ParseDAGRunListForm([]byte(tc.body))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", tc.body, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %+v, %v\nwant %+v", tc.body, got, err, tc.want)
		}
	}
}

func TestPrefectQuery(t *testing.T) {
	gte, lte := tp("2024-01-01T00:00:00Z"), tp("2024-02-01T00:00:00Z")
	cases := []struct {
		name    string
		q       DAGRunQuery
		deps    []string
		want    string
		nothing bool
	}{
		{"one DAG", DAGRunQuery{}, []string{"d1"}, `{"flow_runs":{"deployment_id":{"any_":["d1"]}}}`, false},
		{"all DAGs", DAGRunQuery{}, nil, `{"flow_runs":{},"deployments":{"operator":"and_"}}`, false},
		{"no DAG", DAGRunQuery{}, []string{}, ``, true},
		{"states", DAGRunQuery{States: []string{"queued", "nope"}}, []string{"d1"},
			`{"flow_runs":{"deployment_id":{"any_":["d1"]},"state":{"type":{"any_":["SCHEDULED","PENDING","PAUSED"]}}}}`, false},
		{"only unknown states", DAGRunQuery{States: []string{"nope"}}, []string{"d1"}, ``, true},
		{"dates", DAGRunQuery{ExecutionDate: TimeBounds{GTE: gte, LTE: lte}, StartDate: TimeBounds{GTE: gte}, EndDate: TimeBounds{LTE: lte}}, []string{"d1", "d2"},
			`{"flow_runs":{"deployment_id":{"any_":["d1","d2"]},"start_time":{"after_":"2024-01-01T00:00:00Z","is_null_":false},` +
				`"end_time":{"before_":"2024-02-01T00:00:00Z"},"expected_start_time":{"before_":"2024-02-01T00:00:00Z","after_":"2024-01-01T00:00:00Z"}}}`, false},
	}
	for _, tc := range cases {
		got, nothing := tc.q.PrefectQuery(tc.deps)
		if nothing != tc.nothing {
			t.Errorf("%s: matchNothing = %v, want %v", tc.name, nothing, tc.nothing)
			continue
		}
		if nothing {
			continue
		}
		raw, _ := json.Marshal(got)
		if string(raw) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, raw, tc.want)
		}
	}
}

func TestDAGRunOrder(t *testing.T) {
	cases := []struct {
		order   string
		single  bool
		want    RunOrder
		wantErr bool
	}{
		{"id", false, RunOrder{"ID_DESC", true}, false},
		{"-id", false, RunOrder{"ID_DESC", false}, false},
		{"execution_date", false, RunOrder{"EXPECTED_START_TIME_ASC", false}, false},
		{"-execution_date", false, RunOrder{"EXPECTED_START_TIME_DESC", false}, false},
		{"dag_run_id", false, RunOrder{"NAME_ASC", false}, false},
		{"-dag_run_id", false, RunOrder{"NAME_DESC", false}, false},
		{"start_date", false, RunOrder{"START_TIME_ASC", false}, false},
		{"-start_date", false, RunOrder{"START_TIME_DESC", false}, false},
		{"end_date", false, RunOrder{"END_TIME_DESC", true}, false},
		{"-end_date", false, RunOrder{"END_TIME_DESC", false}, false},
		{"dag_id", true, RunOrder{"ID_DESC", true}, false},
		{"-dag_id", true, RunOrder{"ID_DESC", false}, false},
		{"dag_id", false, RunOrder{}, true},
		{"state", true, RunOrder{}, true},
		{"updated_at", true, RunOrder{}, true},
		{"external_trigger", true, RunOrder{}, true},
		{"conf", true, RunOrder{}, true},
	}
	for _, tc := range cases {
		o, err := ParseOrderBy(tc.order, "id", DAGRunOrderFields)
		if err != nil {
			t.Fatalf("%s is on Airflow's allow-list: %v", tc.order, err)
		}
		got, err := DAGRunOrder(o, tc.single)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("DAGRunOrder(%s, single=%v) = %+v, %v; want %+v, err=%v", tc.order, tc.single, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "Ordering with '"+o.Field+"' is disallowed") {
			t.Errorf("message %q is not Airflow's", err)
		}
	}
}

func TestPrefectWindows(t *testing.T) {
	fwd, rev := RunOrder{Sort: "NAME_ASC"}, RunOrder{Sort: "ID_DESC", Reverse: true}
	cases := []struct {
		name  string
		page  Page
		order RunOrder
		total int
		per   int
		want  []Window
	}{
		{"forward, total unknown", Page{100, 0}, fwd, -1, 200, []Window{{0, 100}}},
		{"forward, total known", Page{100, 240}, fwd, 250, 200, []Window{{240, 10}}},
		{"forward past the end", Page{100, 300}, fwd, 250, 200, nil},
		{"forward, big page", Page{450, 10}, fwd, -1, 200, []Window{{10, 200}, {210, 200}, {410, 50}}},
		{"reverse first page", Page{100, 0}, rev, 250, 200, []Window{{150, 100}}},
		{"reverse last partial page", Page{100, 200}, rev, 250, 200, []Window{{0, 50}}},
		{"reverse past the end", Page{100, 250}, rev, 250, 200, nil},
		{"reverse empty", Page{100, 0}, rev, 0, 200, nil},
		{"reverse big page", Page{300, 0}, rev, 250, 200, []Window{{0, 200}, {200, 50}}},
		{"reverse needs a total", Page{10, 0}, rev, -1, 200, nil},
	}
	for _, tc := range cases {
		got := PrefectWindows(tc.page, tc.order, tc.total, tc.per)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Reading every page of a reversed order through PrefectWindows yields each row exactly
// once, in ascending order, whatever the page size.
func TestPrefectWindowsReverseCoversAll(t *testing.T) {
	const total = 250
	desc := make([]int, total) // Prefect's ID_DESC order of ids 0..249
	for i := range desc {
		desc[i] = total - 1 - i
	}
	for _, limit := range []int{1, 7, 50, 100, 249, 250, 400} {
		var got []int
		for off := 0; off < total; off += limit {
			var page []int
			for _, w := range PrefectWindows(Page{Limit: limit, Offset: off}, RunOrder{Sort: "ID_DESC", Reverse: true}, total, 200) {
				page = append(page, desc[w.Offset:w.Offset+w.Limit]...)
			}
			for i := len(page) - 1; i >= 0; i-- {
				got = append(got, page[i])
			}
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("limit %d: position %d holds %d", limit, i, v)
			}
		}
		if len(got) != total {
			t.Fatalf("limit %d: %d rows, want %d", limit, len(got), total)
		}
	}
}

func TestBodies(t *testing.T) {
	stateCases := map[string]string{`{"state":"success"}`: "success", `{"state":"failed"}`: "failed", `{"state":"queued"}`: "queued"}
	for body, want := range stateCases {
		if got, err := ParseStatePatch([]byte(body)); err != nil || got != want {
			t.Errorf("ParseStatePatch(%s) = %q, %v", body, got, err)
		}
	}
	for _, bad := range []string{`{}`, `{"state":"running"}`, `{"state":1}`, `{"state":"success","note":"x"}`, ``} {
		if _, err := ParseStatePatch([]byte(bad)); err == nil {
			t.Errorf("ParseStatePatch(%s) accepted", bad)
		}
	}
	clearCases := map[string]bool{``: true, `{}`: true, `{"dry_run":null}`: true, `{"dry_run":false}`: false, `{"dry_run":true}`: true}
	for body, want := range clearCases {
		if got, err := ParseClear([]byte(body)); err != nil || got != want {
			t.Errorf("ParseClear(%s) = %v, %v", body, got, err)
		}
	}
	for _, bad := range []string{`{"dry_run":"no"}`, `{"reset_dag_runs":true}`, `[]`} {
		if _, err := ParseClear([]byte(bad)); err == nil {
			t.Errorf("ParseClear(%s) accepted", bad)
		}
	}
	if n, err := ParseNote([]byte(`{"note":"hi"}`)); err != nil || *n != "hi" {
		t.Errorf("ParseNote = %v, %v", n, err)
	}
	if n, err := ParseNote([]byte(`{"note":null}`)); err != nil || n != nil {
		t.Errorf("ParseNote(null) = %v, %v", n, err)
	}
	if _, err := ParseNote([]byte(`{"note":"` + strings.Repeat("é", 1000) + `"}`)); err != nil {
		t.Errorf("1000 characters refused: %v", err)
	}
	for _, bad := range []string{`{}`, `{"note":"` + strings.Repeat("a", 1001) + `"}`, `{"note":3}`, `{"note":"a","x":1}`} {
		if _, err := ParseNote([]byte(bad)); err == nil {
			t.Errorf("ParseNote(%.40s) accepted", bad)
		}
	}
	if got := NoteLabels(nil); got[LabelNote] != "" {
		t.Errorf("NoteLabels(nil) = %v", got)
	}
}

func TestTaskInstanceReferences(t *testing.T) {
	run := DAGRun{DAGID: "etl.daily", DAGRunID: "r1", LogicalDate: sp("2024-05-01T00:00:00+00:00")}
	got := TaskInstanceReferences([]wire.TaskRun{
		{TaskKey: "load", DynamicKey: "0"}, {TaskKey: "extract", DynamicKey: "1"}, {TaskKey: "extract", DynamicKey: "0"},
	}, run)
	want := []TaskInstanceReference{
		{"extract", "etl.daily", "2024-05-01T00:00:00+00:00", "r1"},
		{"extract", "etl.daily", "2024-05-01T00:00:00+00:00", "r1"},
		{"load", "etl.daily", "2024-05-01T00:00:00+00:00", "r1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
	if got := TaskInstanceReferences(nil, run); got == nil || len(got) != 0 {
		t.Errorf("no task runs = %#v, want an empty list (JSON [])", got)
	}
}

// FuzzDAGRunListQuery: whatever the query, parsing never panics, and a parsed query
// always becomes a Prefect filter that is valid JSON with in-range paging.
func FuzzDAGRunListQuery(f *testing.F) {
	for _, s := range []string{"", "limit=5&offset=3&order_by=-execution_date", "state=queued&state=bogus",
		"execution_date_gte=2024-01-01T00:00:00%2B00:00&end_date_lte=2024-01-02T00:00:00Z", "order_by=-end_date&limit=1000",
		"fields=conf,state", "start_date_gte=2024-01-01T00:00:00 00:00", "%zz", "limit=99999999999999999999"} {
		f.Add(s, 100)
	}
	f.Fuzz(func(t *testing.T, raw string, maxLimit int) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := ParseDAGRunListQuery(q, maxLimit)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		capTo := maxLimit
		if capTo <= 0 {
			capTo = DefaultPageLimit
		}
		if req.Page.Limit < 1 || req.Page.Limit > capTo || req.Page.Offset < 0 {
			t.Fatalf("page %+v out of bounds", req.Page)
		}
		order, err := DAGRunOrder(req.OrderBy, true)
		if err != nil {
			return
		}
		query, nothing := req.PrefectQuery([]string{"dep"})
		if nothing {
			return
		}
		if _, err := json.Marshal(query); err != nil {
			t.Fatalf("filter does not encode: %v", err)
		}
		for _, total := range []int{-1, 0, 1, 250} {
			covered := 0
			for _, w := range PrefectWindows(req.Page, order, total, 200) {
				if w.Limit < 1 || w.Limit > 200 || w.Offset < 0 {
					t.Fatalf("window %+v out of Prefect's bounds", w)
				}
				covered += w.Limit
			}
			if covered > req.Page.Limit {
				t.Fatalf("windows cover %d rows for a page of %d", covered, req.Page.Limit)
			}
		}
	})
}

// FuzzParseTrigger: any body either parses into a request Prefect can take (an id that
// passes Airflow's pattern, a UTC logical date) or is an InputError; never a panic.
func FuzzParseTrigger(f *testing.F) {
	for _, s := range []string{`{}`, `{"dag_run_id":"x","conf":{"a":1}}`, `{"logical_date":"2024-05-01T00:00:00Z","execution_date":"2024-05-01T00:00:00+00:00"}`,
		`{"data_interval_start":"2024-01-01T00:00:00Z","data_interval_end":"2024-01-02T00:00:00Z"}`, `{"state":"x"}`, `[`, `{"conf":1e400}`} {
		f.Add([]byte(s))
	}
	now := ts("2024-06-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseTrigger(body, now)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		if err := ValidateRunID(req.DAGRunID); err != nil {
			t.Fatalf("accepted run id %q fails validation: %v", req.DAGRunID, err)
		}
		if req.LogicalDate.Location() != time.UTC {
			t.Fatalf("logical date %v not in UTC", req.LogicalDate)
		}
		if _, err := json.Marshal(req.ToFlowRunCreate("dep")); err != nil {
			t.Fatalf("create body does not encode: %v", err)
		}
	})
}

// The label keys wire.FlowRunLabels decodes are the ones the gateway writes.
func TestFlowRunLabelKeysAreTheGatewaysLabels(t *testing.T) {
	want := map[string]string{"Note": LabelNote, "DataIntervalStart": LabelDataIntervalStart,
		"DataIntervalEnd": LabelDataIntervalEnd, "TriggerFingerprint": LabelTrigger}
	typ := reflect.TypeOf(wire.FlowRunLabels{})
	for field, key := range want {
		f, ok := typ.FieldByName(field)
		if !ok || strings.Split(f.Tag.Get("json"), ",")[0] != key {
			t.Errorf("wire.FlowRunLabels.%s reads %q, want %q", field, f.Tag.Get("json"), key)
		}
	}
}
