package translate

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

var t0 = time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)

func at(sec float64) *time.Time {
	t := t0.Add(time.Duration(sec * float64(time.Second)))
	return &t
}

// taskRun is a task run made sec seconds after t0, in flow-run attempt 1.
func taskRun(id, key string, sec float64, state wire.StateType, name string) wire.TaskRun {
	return wire.TaskRun{ID: id, TaskKey: key, Name: strings.Split(key, "-")[0] + "-" + id[:3], DynamicKey: id + "-dyn",
		ExpectedStartTime: at(sec), Created: at(sec + 0.5), StateType: st(state), StateName: sp(name), RunCount: 1,
		FlowRunRunCount: 1, EmpiricalPolicy: map[string]any{"retries": 2.0}}
}

func TestGroupTaskRuns(t *testing.T) {
	type want struct {
		task    string
		mapIdx  int
		run     string
		earlier []string
		tries   int
	}
	rerun := taskRun("e2a", "extract-1a2b3c4d", 100, wire.Completed, "Completed")
	rerun.FlowRunRunCount = 2
	retried := taskRun("fff", "load-9f8e7d6c", 5, wire.Completed, "Completed")
	retried.RunCount = 3
	cases := []struct {
		name string
		runs []wire.TaskRun
		want []want
	}{
		{"unmapped tasks in the order they first ran", []wire.TaskRun{
			taskRun("ccc", "load-9f8e7d6c", 3, wire.Completed, "Completed"),
			taskRun("aaa", "extract-1a2b3c4d", 1, wire.Completed, "Completed"),
			taskRun("bbb", "transform-5e6f7a8b", 2, wire.Running, "Running"),
		}, []want{{"extract-1a2b3c4d", -1, "aaa", nil, 1}, {"transform-5e6f7a8b", -1, "bbb", nil, 1}, {"load-9f8e7d6c", -1, "ccc", nil, 1}}},
		{"a mapped task counts its task runs in creation order, not id order", []wire.TaskRun{
			taskRun("zzz", "double-145a02dc", 1.0, wire.Completed, "Completed"),
			taskRun("aaa", "double-145a02dc", 1.2, wire.Completed, "Completed"),
			taskRun("mmm", "double-145a02dc", 1.1, wire.Failed, "Failed"),
		}, []want{{"double-145a02dc", 0, "zzz", nil, 1}, {"double-145a02dc", 1, "mmm", nil, 1}, {"double-145a02dc", 2, "aaa", nil, 1}}},
		{"UUIDv7 ids keep the order .map() made the task runs in, whenever they started", []wire.TaskRun{
			taskRun("01a230fe-9d79-7cea-8750-000000000003", "square-34ba00b2", 1.0, wire.Completed, "Completed"),
			taskRun("01a230fe-9d79-7cea-8750-000000000001", "square-34ba00b2", 1.2, wire.Completed, "Completed"),
			taskRun("01a230fe-9d79-7cea-8750-000000000002", "square-34ba00b2", 1.1, wire.Completed, "Completed"),
		}, []want{{"square-34ba00b2", 0, "01a230fe-9d79-7cea-8750-000000000001", nil, 1},
			{"square-34ba00b2", 1, "01a230fe-9d79-7cea-8750-000000000002", nil, 1},
			{"square-34ba00b2", 2, "01a230fe-9d79-7cea-8750-000000000003", nil, 1}}},
		{"a re-run of the flow run makes later tries", []wire.TaskRun{
			taskRun("e1a", "extract-1a2b3c4d", 1, wire.Failed, "Failed"), rerun,
		}, []want{{"extract-1a2b3c4d", -1, "e2a", []string{"e1a"}, 2}}},
		{"retries inside a task run are tries", []wire.TaskRun{retried}, []want{{"load-9f8e7d6c", -1, "fff", nil, 3}}},
		{"task runs without a key are left out", []wire.TaskRun{{ID: "x", RunCount: 1}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := GroupTaskRuns(tc.runs)
			if len(got) != len(tc.want) {
				t.Fatalf("%d entries, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				e := got[i]
				var earlier []string
				for _, r := range e.Earlier {
					earlier = append(earlier, r.ID)
				}
				if e.TaskID != w.task || e.MapIndex != w.mapIdx || e.Run.ID != w.run || !reflect.DeepEqual(earlier, w.earlier) || e.TryNumber() != w.tries {
					t.Errorf("entry %d: %s[%d] run %s earlier %v tries %d, want %+v", i, e.TaskID, e.MapIndex, e.Run.ID, earlier, e.TryNumber(), w)
				}
				if e.Retries != 2 {
					t.Errorf("entry %d: retries %d, want 2", i, e.Retries)
				}
			}
		})
	}
}

func TestTaskInstanceOf(t *testing.T) {
	tr := taskRun("aaa", "extract-1a2b3c4d", 1, wire.Completed, "Completed")
	tr.StartTime, tr.EndTime = at(2), at(4.5)
	pool, queue, pid := "k8s", "default", "host-1:4242"
	run := wire.FlowRunDetail{FlowRun: wire.FlowRun{ID: "fr1", Name: "manual__x", ExpectedStartTime: &t0, WorkPoolName: &pool, WorkQueueName: &queue},
		InfrastructurePID: &pid, AllLabels: map[string]wire.LabelValue{TaskNoteLabel("extract-1a2b3c4d", -1): "checked"}}
	rc := RunContextOf(run, "etl.daily")
	ti := TaskInstanceOf(GroupTaskRuns([]wire.TaskRun{tr})[0], rc)
	if ti.TaskID != "extract-1a2b3c4d" || ti.TaskDisplayName != "extract" || ti.DAGID != "etl.daily" || ti.DAGRunID != "manual__x" ||
		ti.ExecutionDate != FormatTime(t0) || *ti.StartDate != FormatTime(*at(2)) ||
		*ti.Duration != 2.5 || *ti.State != "success" || ti.TryNumber != 1 || ti.MapIndex != -1 || ti.MaxTries != 2 ||
		ti.Hostname != "host-1" || *ti.PID != 4242 || ti.Pool != "k8s" || *ti.Queue != "default" || *ti.Note != "checked" ||
		ti.ExecutorConfig != "{}" || ti.RenderedFields == nil || *ti.Operator != "Task" {
		t.Errorf("task instance %+v", ti)
	}
	raw, _ := json.Marshal(ti)
	for _, f := range []string{`"sla_miss":null`, `"trigger":null`, `"triggerer_job":null`, `"queued_when":null`, `"executor":null`, `"rendered_fields":{}`} {
		if !strings.Contains(string(raw), f) {
			t.Errorf("JSON lacks %s: %s", f, raw)
		}
	}
	// A task of the DAG that has not run in this run: no state, no host.
	none := TaskInstanceOf(EntriesFromTasks([]Task{{TaskID: "load-9f8e7d6c", TaskDisplayName: "load", Retries: 1}})[0], rc)
	if none.State != nil || none.TryNumber != 0 || none.StartDate != nil || none.Hostname != "" || none.PID != nil || none.MaxTries != 1 || none.Pool != "k8s" {
		t.Errorf("unrun task instance %+v", none)
	}
}

func TestTaskInstanceStates(t *testing.T) {
	cases := []struct {
		t    wire.StateType
		name string
		want any
	}{
		{wire.Pending, "Pending", "queued"}, {wire.Pending, "Submitting", "queued"}, {wire.Pending, "InfrastructurePending", "queued"},
		{wire.Pending, "NotReady", "upstream_failed"}, {wire.Scheduled, "AwaitingRetry", "up_for_retry"},
		{wire.Scheduled, "AwaitingConcurrencySlot", "scheduled"}, {wire.Running, "Retrying", "running"},
		{wire.Completed, "Cached", "success"}, {wire.Crashed, "Crashed", "failed"}, {wire.Cancelled, "Cancelled", "skipped"},
		{wire.Paused, "Suspended", "deferred"}, {"", "", nil},
	}
	for _, tc := range cases {
		got := TaskInstanceState(tc.t, tc.name)
		if (got == nil) != (tc.want == nil) || got != nil && *got != tc.want {
			t.Errorf("%s/%s: %v, want %v", tc.t, tc.name, got, tc.want)
		}
		if got != nil && tc.t != "" {
			found := false
			for _, ty := range prefectTaskStateTypes(*got) {
				found = found || ty == tc.t
			}
			if !found {
				t.Errorf("%s: its inverse %v lacks %s", *got, prefectTaskStateTypes(*got), tc.t)
			}
		}
	}
}

func TestSplitInfrastructurePID(t *testing.T) {
	for v, want := range map[string][2]any{"4242": {"", 4242}, "host:17": {"host", 17}, "ns/job-abc": {"", nil}, "host:x": {"", nil}, "": {"", nil}} {
		host, pid := splitInfrastructurePID(v)
		if host != want[0] || (pid == nil) != (want[1] == nil) || pid != nil && *pid != want[1] {
			t.Errorf("%q: %q %v, want %v", v, host, pid, want)
		}
	}
}

func TestTryWindows(t *testing.T) {
	h := []wire.State{{Type: wire.Pending, Timestamp: at(0)}, {Type: wire.Running, Name: "Running", Timestamp: at(1)},
		{Type: wire.Scheduled, Name: "AwaitingRetry", Timestamp: at(2)}, {Type: wire.Running, Name: "Retrying", Timestamp: at(5)},
		{Type: wire.Completed, Timestamp: at(7)}}
	got := TryWindows(h, 2)
	if !got[0].Start.Equal(*at(1)) || !got[0].End.Equal(*at(2)) || !got[1].Start.Equal(*at(5)) || got[1].End != nil {
		t.Errorf("windows %+v", got)
	}
	// A history that lost a try's start leaves that try without a window.
	got = TryWindows(h[3:], 2)
	if got[0].Start != nil || !got[1].Start.Equal(*at(5)) {
		t.Errorf("windows %+v", got)
	}
	tr := taskRun("aaa", "load-9f8e7d6c", 0, wire.Completed, "Completed")
	tr.RunCount, tr.StartTime, tr.EndTime = 2, at(1), at(7)
	e := GroupTaskRuns([]wire.TaskRun{tr})[0]
	w := TryWindows(h, 2)
	first := TryInstance(e, RunContext{}, tr, 1, 1, w[0])
	last := TryInstance(e, RunContext{}, tr, 1, 2, w[1])
	if *first.State != "failed" || first.TryNumber != 1 || *first.Duration != 1 || *last.State != "success" || last.TryNumber != 2 ||
		*last.StartDate != FormatTime(*at(5)) || *last.Duration != 2 {
		t.Errorf("tries %+v / %+v", first, last)
	}
}

func TestParseTIListQuery(t *testing.T) {
	cases := []struct {
		query   string
		mapped  bool
		wantErr string
	}{
		{"limit=5&offset=10&state=running&state=none&pool=default_pool&duration_gte=1.5&updated_at_gte=2024-05-01T00:00:00Z", false, ""},
		{"order_by=-start_date", true, ""},
		{"order_by=task_id", true, "Ordering with 'task_id' is not supported"},
		{"order_by=state", false, "Extra query parameter(s) order_by not in spec"},
		{"duration_gte=long", false, "Wrong type, expected 'number' for query parameter 'duration_gte'"},
		{"start_date_gte=2024-05-01T00:00:00", false, "start_date_gte"},
		{"limit=-1", false, "Page limit must be a positive integer"},
	}
	for _, tc := range cases {
		v, _ := url.ParseQuery(tc.query)
		q, err := ParseTIListQuery(v, 100, tc.mapped)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.query, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: %v, want %q (%+v)", tc.query, err, tc.wantErr, q)
		}
	}
	v, _ := url.ParseQuery("limit=500&state=none&state=failed&duration_lte=3")
	q, _ := ParseTIListQuery(v, 100, false)
	if q.Page.Limit != 100 || len(q.States) != 2 || q.States[0] != nil || *q.States[1] != "failed" || *q.DurationLTE != 3 {
		t.Errorf("parsed %+v", q)
	}
}

func TestParseTIListForm(t *testing.T) {
	q, err := ParseTIListForm([]byte(`{"dag_ids":["a"],"dag_run_ids":["r"],"task_ids":["t"],"state":["success",null],"page_limit":500,` +
		`"page_offset":2,"duration_gte":1,"execution_date_gte":"2024-05-01T00:00:00+00:00"}`))
	if err != nil || q.Page.Limit != 500 || q.Page.Offset != 2 || len(q.States) != 2 || q.States[1] != nil || q.DAGRunIDs[0] != "r" ||
		*q.DurationGTE != 1 || q.ExecutionDate.GTE == nil {
		t.Errorf("%+v %v", q, err)
	}
	for body, want := range map[string]string{
		`{"states":["success"]}`: "unknown field(s): 'states'",
		`{"page_limit":0}`:       "page_limit: 0 is less than the minimum of 1",
		`{"state":"success"}`:    "state: Not a valid list of strings.",
		`[]`:                     "must be a JSON object",
	} {
		if _, err := ParseTIListForm([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

func TestTIQueryMatch(t *testing.T) {
	d := 3.0
	queue := "q1"
	ti := TaskInstance{DAGID: "etl.daily", DAGRunID: "r1", TaskID: "extract", State: sp("success"), Duration: &d,
		StartDate: sp(FormatTime(*at(10))), EndDate: sp(FormatTime(*at(13))), Pool: "default_pool", Queue: &queue}
	v := func(s string) url.Values { q, _ := url.ParseQuery(s); return q }
	parse := func(s string) TIQuery { q, err := ParseTIListQuery(v(s), 100, false); must(t, err); return q }
	cases := []struct {
		q    TIQuery
		want bool
	}{
		{parse(""), true},
		{parse("state=success&state=failed"), true},
		{parse("state=none"), false},
		{parse("duration_gte=3&duration_lte=3"), true},
		{parse("duration_gte=3.5"), false},
		{parse("pool=default_pool&queue=q1"), true},
		{parse("queue=q2"), false},
		{parse("executor=LocalExecutor"), false},
		{parse("start_date_gte=" + url.QueryEscape(FormatTime(*at(10)))), true},
		{parse("end_date_lte=" + url.QueryEscape(FormatTime(*at(12)))), false},
		{parse("execution_date_lte=" + url.QueryEscape(FormatTime(t0))), true},
		{parse("updated_at_gte=" + url.QueryEscape(FormatTime(*at(1)))), true},
		{TIQuery{TaskIDs: []string{"load"}}, false},
		{TIQuery{DAGRunIDs: []string{"r1", "r2"}, DAGIDs: []string{"etl.daily"}}, true},
	}
	for i, tc := range cases {
		if got := tc.q.Match(ti, t0, at(2)); got != tc.want {
			t.Errorf("case %d (%+v): %v, want %v", i, tc.q, got, tc.want)
		}
	}
	none := TaskInstance{Pool: "default_pool"}
	if !parse("state=none").Match(none, t0, nil) || parse("updated_at_gte="+url.QueryEscape(FormatTime(t0))).Match(none, t0, nil) {
		t.Error("an instance without a task run: state none matches, updated_at never does")
	}
}

func TestTIQueryRunFilter(t *testing.T) {
	q, _ := ParseTIListQuery(url.Values{"state": {"up_for_retry", "success"}, "start_date_gte": {"2024-05-01T00:00:00Z"}}, 100, false)
	runs, trs := q.RunFilter()
	if runs.ExpectedStartTime != nil || trs == nil || trs.StartTime == nil || trs.State == nil ||
		!reflect.DeepEqual(trs.State.Type.Any, []string{"SCHEDULED", "COMPLETED"}) {
		t.Errorf("%+v %+v", runs, trs)
	}
	q, _ = ParseTIListQuery(url.Values{"state": {"none", "success"}}, 100, false)
	if _, trs := q.RunFilter(); trs != nil {
		t.Errorf("a query for instances without a state cannot join task runs: %+v", trs)
	}
	q, _ = ParseTIListQuery(url.Values{"state": {"removed", "restarting"}}, 100, false)
	if !q.MatchesNothing() {
		t.Error("states Prefect never reports match nothing")
	}
}

func TestSortMapped(t *testing.T) {
	d1, d2 := 1.0, 2.0
	items := []ListedTI{
		{TI: TaskInstance{MapIndex: 0, State: sp("success"), Duration: &d2}},
		{TI: TaskInstance{MapIndex: 1, State: sp("failed"), Duration: &d1}},
		{TI: TaskInstance{MapIndex: 2}},
	}
	order := func(field string, desc bool) []int {
		c := append([]ListedTI(nil), items...)
		SortMapped(c, OrderBy{Field: field, Desc: desc})
		var out []int
		for _, it := range c {
			out = append(out, it.TI.MapIndex)
		}
		return out
	}
	for _, tc := range []struct {
		field string
		desc  bool
		want  []int
	}{{"map_index", false, []int{0, 1, 2}}, {"map_index", true, []int{2, 1, 0}}, {"state", false, []int{2, 1, 0}},
		{"duration", true, []int{0, 1, 2}}, {"start_date", false, []int{0, 1, 2}}} {
		if got := order(tc.field, tc.desc); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s desc=%v: %v, want %v", tc.field, tc.desc, got, tc.want)
		}
	}
	if got := PageItems([]int{1, 2, 3}, Page{Limit: 2, Offset: 2}); !reflect.DeepEqual(got, []int{3}) {
		t.Errorf("page %v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
