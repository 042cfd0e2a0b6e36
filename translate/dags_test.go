package translate

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"airflow-prefect-gateway/prefect/wire"
)

func dagRef[T any](v T) *T { return &v }

func dagTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func dagZones(name string) (*time.Location, error) { return time.LoadLocation(name) }

// dagNow is a fixed "current time" for the schedule tests: Wednesday 2024-05-01 10:20:30 UTC.
var dagNow = time.Date(2024, 5, 1, 10, 20, 30, 0, time.UTC)

func TestTimeDeltaOf(t *testing.T) {
	cases := []struct {
		seconds float64
		want    TimeDelta
	}{
		{0, TimeDelta{"TimeDelta", 0, 0, 0}},
		{-5, TimeDelta{"TimeDelta", 0, 0, 0}},
		{3600, TimeDelta{"TimeDelta", 0, 3600, 0}},
		{86400, TimeDelta{"TimeDelta", 1, 0, 0}},
		{90061.5, TimeDelta{"TimeDelta", 1, 3661, 500000}},
		{0.000001, TimeDelta{"TimeDelta", 0, 0, 1}},
		{7 * 86400, TimeDelta{"TimeDelta", 7, 0, 0}},
	}
	for _, tc := range cases {
		if got := TimeDeltaOf(tc.seconds); got != tc.want {
			t.Errorf("TimeDeltaOf(%v) = %+v; want %+v", tc.seconds, got, tc.want)
		}
	}
}

func TestSummarizeSchedules(t *testing.T) {
	cron := func(expr string, tz *string, active *bool) wire.DeploymentSchedule {
		return wire.DeploymentSchedule{Schedule: wire.Schedule{Cron: expr, Timezone: tz}, Active: active}
	}
	interval := func(seconds float64, anchor *time.Time) wire.DeploymentSchedule {
		return wire.DeploymentSchedule{Schedule: wire.Schedule{Interval: &seconds, AnchorDate: anchor}, Active: dagRef(true)}
	}
	rrule := wire.DeploymentSchedule{Schedule: wire.Schedule{RRule: "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9", Timezone: dagRef("UTC")}, Active: dagRef(true)}
	type want struct {
		interval                  any
		description, timezone     string
		next, start, end, created string // "" = null
		startDate                 string
	}
	cases := []struct {
		name      string
		schedules []wire.DeploymentSchedule
		want      want
	}{
		{"none", nil, want{description: "Never, external triggers only", timezone: "UTC"}},
		{"daily cron: the interval ends at the run",
			[]wire.DeploymentSchedule{cron("0 6 * * *", dagRef("UTC"), dagRef(true))},
			want{CronExpression{"CronExpression", "0 6 * * *"}, "At 06:00", "UTC",
				"2024-05-02T06:00:00Z", "2024-05-01T06:00:00Z", "2024-05-02T06:00:00Z", "2024-05-02T06:00:00Z", ""}},
		{"cron in a time zone",
			[]wire.DeploymentSchedule{cron("0 6 * * *", dagRef("America/New_York"), nil)},
			want{CronExpression{"CronExpression", "0 6 * * *"}, "At 06:00 (America/New_York)", "America/New_York",
				// 10:20 UTC is 06:20 in New York: today's 06:00 has passed.
				"2024-05-02T10:00:00Z", "2024-05-01T10:00:00Z", "2024-05-02T10:00:00Z", "2024-05-02T10:00:00Z", ""}},
		{"hourly interval from an anchor",
			[]wire.DeploymentSchedule{interval(3600, dagTime("2024-01-01T00:15:00Z"))},
			want{TimeDelta{"TimeDelta", 0, 3600, 0}, "Every 1 hour", "UTC",
				"2024-05-01T11:15:00Z", "2024-05-01T10:15:00Z", "2024-05-01T11:15:00Z", "2024-05-01T11:15:00Z", "2024-01-01T00:15:00Z"}},
		{"interval whose anchor is ahead",
			[]wire.DeploymentSchedule{interval(86400*2, dagTime("2024-06-01T00:00:00Z"))},
			want{TimeDelta{"TimeDelta", 2, 0, 0}, "Every 2 days", "UTC",
				"2024-06-01T00:00:00Z", "2024-05-30T00:00:00Z", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z"}},
		{"interval without anchor uses Prefect's 2020-01-01",
			[]wire.DeploymentSchedule{interval(1800, nil)},
			want{TimeDelta{"TimeDelta", 0, 1800, 0}, "Every 30 minutes", "UTC",
				"2024-05-01T10:30:00Z", "2024-05-01T10:00:00Z", "2024-05-01T10:30:00Z", "2024-05-01T10:30:00Z", ""}},
		{"rrule: no Airflow variant, the rule as description, its next occurrence",
			[]wire.DeploymentSchedule{rrule},
			// Wednesday 10:20: the next Monday-or-Wednesday 09:00 is Monday's, after today's.
			want{nil, "RRule FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9", "UTC",
				"2024-05-06T09:00:00Z", "2024-05-01T09:00:00Z", "2024-05-06T09:00:00Z", "2024-05-06T09:00:00Z", ""}},
		{"rrule the gateway cannot evaluate: no next run rather than a wrong one",
			[]wire.DeploymentSchedule{{Schedule: wire.Schedule{RRule: "FREQ=MONTHLY;BYDAY=1MO"}}},
			want{nil, "RRule FREQ=MONTHLY;BYDAY=1MO", "UTC", "", "", "", "", ""}},
		{"rrule's first occurrence: an empty data interval",
			[]wire.DeploymentSchedule{{Schedule: wire.Schedule{RRule: "DTSTART:20240601T120000\nRRULE:FREQ=DAILY"}}},
			want{nil, "RRule DTSTART:20240601T120000 RRULE:FREQ=DAILY", "UTC",
				"2024-06-01T12:00:00Z", "2024-06-01T12:00:00Z", "2024-06-01T12:00:00Z", "2024-06-01T12:00:00Z", ""}},
		{"inactive schedules are skipped",
			[]wire.DeploymentSchedule{cron("0 1 * * *", nil, dagRef(false)), cron("0 6 * * *", nil, dagRef(true))},
			want{CronExpression{"CronExpression", "0 6 * * *"}, "At 06:00", "UTC",
				"2024-05-02T06:00:00Z", "2024-05-01T06:00:00Z", "2024-05-02T06:00:00Z", "2024-05-02T06:00:00Z", ""}},
		{"only inactive schedules",
			[]wire.DeploymentSchedule{cron("0 1 * * *", nil, dagRef(false))},
			want{description: "Never, external triggers only", timezone: "UTC"}},
		{"several: first gives the interval, earliest gives the next run",
			[]wire.DeploymentSchedule{cron("0 6 * * *", nil, dagRef(true)), interval(3600, dagTime("2024-01-01T00:00:00Z")), rrule},
			want{CronExpression{"CronExpression", "0 6 * * *"}, "At 06:00; Every 1 hour; RRule FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9", "UTC",
				"2024-05-01T11:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "2024-05-01T11:00:00Z", ""}},
		{"unknown time zone: no next run rather than a wrong one",
			[]wire.DeploymentSchedule{cron("0 6 * * *", dagRef("Mars/Olympus"), nil)},
			want{CronExpression{"CronExpression", "0 6 * * *"}, "At 06:00 (Mars/Olympus)", "Mars/Olympus", "", "", "", "", ""}},
		{"unparsable cron is kept and described verbatim",
			[]wire.DeploymentSchedule{cron("0 0 * * * * 2030", nil, nil)},
			want{CronExpression{"CronExpression", "0 0 * * * * 2030"}, "Cron 0 0 * * * * 2030", "UTC", "", "", "", "", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := SummarizeSchedules(tc.schedules, dagNow, dagZones)
			if !reflect.DeepEqual(got.Interval, tc.want.interval) {
				t.Errorf("interval = %#v; want %#v", got.Interval, tc.want.interval)
			}
			if got.Description != tc.want.description || got.Timezone != tc.want.timezone {
				t.Errorf("description, timezone = %q, %q; want %q, %q", got.Description, got.Timezone, tc.want.description, tc.want.timezone)
			}
			for _, f := range []struct {
				name string
				got  *time.Time
				want string
			}{
				{"next", got.Next.LogicalDate, tc.want.next},
				{"interval start", got.Next.IntervalStart, tc.want.start},
				{"interval end", got.Next.IntervalEnd, tc.want.end},
				{"create after", got.Next.CreateAfter, tc.want.created},
				{"start date", got.StartDate, tc.want.startDate},
			} {
				switch {
				case f.want == "" && f.got != nil:
					t.Errorf("%s = %s; want null", f.name, f.got)
				case f.want != "" && (f.got == nil || !f.got.Equal(*dagTime(f.want))):
					t.Errorf("%s = %v; want %s", f.name, f.got, f.want)
				}
			}
		})
	}
}

func TestDescribeInterval(t *testing.T) {
	cases := map[float64]string{
		60: "Every 1 minute", 3600: "Every 1 hour", 5400: "Every 1 hour, 30 minutes", 86400: "Every 1 day",
		93784.25: "Every 1 day, 2 hours, 3 minutes, 4 seconds, 250000 microseconds", 0: "Every 0 seconds", 2: "Every 2 seconds",
	}
	for in, want := range cases {
		if got := DescribeInterval(in); got != want {
			t.Errorf("DescribeInterval(%v) = %q; want %q", in, got, want)
		}
	}
}

// demoDeployment is the README's demo: etl/daily with a daily cron, tags and a parameter
// schema.
func demoDeployment() wire.Deployment {
	return wire.Deployment{
		ID:          "5f0c3f5e-6a43-4d3e-9f7e-3d1b7b2c9a10",
		Created:     dagTime("2024-04-01T08:00:00Z"),
		Updated:     dagTime("2024-04-02T09:30:00.123456Z"),
		Name:        "daily",
		Description: dagRef("Loads yesterday's orders."),
		FlowID:      "0b8e2b53-35cf-4ab0-93f1-4f3c5f0f1f11",
		Paused:      true,
		Schedules:   []wire.DeploymentSchedule{{Schedule: wire.Schedule{Cron: "0 6 * * *", Timezone: dagRef("UTC")}, Active: dagRef(true)}},
		GlobalConcurrencyLimit: &wire.GlobalConcurrencyLimit{
			ID: "c1", Name: "deployment:5f0c", Limit: 3, Active: true,
		},
		Parameters: map[string]any{"batch_size": 500.0, "extra": "x"},
		ParameterSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"batch_size": map[string]any{"type": "integer", "title": "batch_size", "default": 100.0, "description": "Rows per batch"},
				"output_dir": map[string]any{"type": "string", "default": "/tmp/results"},
			},
		},
		Tags:       []string{"demo", "owner:data-team", "warehouse", "airflow-dag-id:etl_daily", "owner:ops"},
		Entrypoint: dagRef("flows/etl.py:etl"),
	}
}

func TestToDAG(t *testing.T) {
	src := DAGSource{DAGID: "etl_daily", FlowName: "etl", Deployment: demoDeployment()}
	got := ToDAG(src, DAGEnv{Now: dagNow, Zones: dagZones})
	raw, _ := json.Marshal(got)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	want := map[string]any{
		"dag_id":                          "etl_daily",
		"dag_display_name":                "etl_daily",
		"root_dag_id":                     nil,
		"is_paused":                       true,
		"is_active":                       true,
		"is_subdag":                       false,
		"last_parsed_time":                "2024-04-02T09:30:00.123456+00:00",
		"last_pickled":                    nil,
		"last_expired":                    nil,
		"scheduler_lock":                  nil,
		"pickle_id":                       nil,
		"default_view":                    "grid",
		"fileloc":                         "flows/etl.py:etl",
		"file_token":                      "5f0c3f5e-6a43-4d3e-9f7e-3d1b7b2c9a10",
		"owners":                          []any{"data-team", "ops"},
		"description":                     "Loads yesterday's orders.",
		"schedule_interval":               map[string]any{"__type": "CronExpression", "value": "0 6 * * *"},
		"timetable_description":           "At 06:00",
		"tags":                            []any{map[string]any{"name": "demo"}, map[string]any{"name": "warehouse"}},
		"max_active_tasks":                nil,
		"max_active_runs":                 3.0,
		"has_task_concurrency_limits":     false,
		"has_import_errors":               false,
		"next_dagrun":                     "2024-05-02T06:00:00+00:00",
		"next_dagrun_data_interval_start": "2024-05-01T06:00:00+00:00",
		"next_dagrun_data_interval_end":   "2024-05-02T06:00:00+00:00",
		"next_dagrun_create_after":        "2024-05-02T06:00:00+00:00",
		"max_consecutive_failed_dag_runs": 0.0,
	}
	if !reflect.DeepEqual(m, want) {
		for k := range want {
			if !reflect.DeepEqual(m[k], want[k]) {
				t.Errorf("%s = %#v; want %#v", k, m[k], want[k])
			}
		}
		for k := range m {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected field %s", k)
			}
		}
	}
}

func TestToDAGDefaults(t *testing.T) {
	// A bare deployment: no schedule, description, entrypoint, tags or limit.
	d := wire.Deployment{ID: "d1", Name: "adhoc", Created: dagTime("2024-01-01T00:00:00Z")}
	dag := ToDAG(DAGSource{DAGID: "f.adhoc", FlowName: "f", Deployment: d}, DAGEnv{Now: dagNow})
	if dag.ScheduleInterval != nil || *dag.TimetableDescription != NoScheduleDescription || dag.NextDagrun != nil {
		t.Errorf("schedule fields = %v, %q, %v", dag.ScheduleInterval, *dag.TimetableDescription, dag.NextDagrun)
	}
	if dag.Description != nil || dag.Fileloc != "" || dag.MaxActiveRuns != nil {
		t.Errorf("description %v, fileloc %q, max_active_runs %v; want null, empty, null", dag.Description, dag.Fileloc, dag.MaxActiveRuns)
	}
	raw, _ := json.Marshal(dag)
	if !strings.Contains(string(raw), `"owners":[]`) || !strings.Contains(string(raw), `"tags":[]`) {
		t.Errorf("owners and tags must be empty lists, not null: %s", raw)
	}
	// Configured owners win over owner: tags.
	d.Tags = []string{"owner:tagged"}
	dag = ToDAG(DAGSource{DAGID: "f.adhoc", Deployment: d, Owners: []string{"alice", "bob"}}, DAGEnv{Now: dagNow})
	if !reflect.DeepEqual(dag.Owners, []string{"alice", "bob"}) {
		t.Errorf("owners = %v; want the configured ones", dag.Owners)
	}
	// Prefect's deprecated concurrency_limit still counts when the limit object is absent.
	d.ConcurrencyLimit = dagRef(2)
	if got := ToDAG(DAGSource{DAGID: "x", Deployment: d}, DAGEnv{Now: dagNow}).MaxActiveRuns; got == nil || *got != 2 {
		t.Errorf("max_active_runs = %v; want 2", got)
	}
}

func TestToDAGDetail(t *testing.T) {
	src := DAGSource{DAGID: "etl_daily", FlowName: "etl", Deployment: demoDeployment()}
	got := ToDAGDetail(src, DAGEnv{Now: dagNow, Zones: dagZones})
	if got.DAGID != "etl_daily" || got.Timezone != "UTC" || got.Catchup || got.Orientation != "LR" {
		t.Errorf("detail = %+v", got)
	}
	if got.StartDate == nil || *got.StartDate != "2024-04-01T08:00:00+00:00" {
		t.Errorf("start_date = %v; want the deployment's creation (cron schedule)", got.StartDate)
	}
	if got.LastParsed == nil || *got.LastParsed != "2024-04-02T09:30:00.123456+00:00" {
		t.Errorf("last_parsed = %v", got.LastParsed)
	}
	wantParams := map[string]any{
		"batch_size": map[string]any{"__class": "airflow.models.param.Param", "value": 500.0, "description": "Rows per batch",
			"schema": map[string]any{"type": "integer", "title": "batch_size", "default": 100.0, "description": "Rows per batch"}},
		"output_dir": map[string]any{"__class": "airflow.models.param.Param", "value": "/tmp/results", "description": nil,
			"schema": map[string]any{"type": "string", "default": "/tmp/results"}},
		"extra": map[string]any{"__class": "airflow.models.param.Param", "value": "x", "description": nil, "schema": map[string]any{}},
	}
	if !reflect.DeepEqual(got.Params, wantParams) {
		t.Errorf("params = %#v\nwant %#v", got.Params, wantParams)
	}
	// Interval schedules start at their anchor.
	d := demoDeployment()
	every := 3600.0
	d.Schedules = []wire.DeploymentSchedule{{Schedule: wire.Schedule{Interval: &every, AnchorDate: dagTime("2023-07-01T00:00:00Z"), Timezone: dagRef("Europe/Berlin")}}}
	got = ToDAGDetail(DAGSource{DAGID: "x", Deployment: d}, DAGEnv{Now: dagNow, Zones: dagZones})
	if got.StartDate == nil || *got.StartDate != "2023-07-01T00:00:00+00:00" || got.Timezone != "Europe/Berlin" {
		t.Errorf("start_date, timezone = %v, %q", got.StartDate, got.Timezone)
	}
	raw, _ := json.Marshal(got)
	for _, f := range DAGDetailFields {
		if !strings.Contains(string(raw), `"`+f+`":`) {
			t.Errorf("DAGDetail JSON lacks %s", f)
		}
	}
}

func TestFields(t *testing.T) {
	if len(DAGFields) != 28 || DAGFields[0] != "dag_id" || !contains(DAGDetailFields, "params") || !contains(DAGDetailFields, "dag_id") {
		t.Fatalf("DAGFields = %v, DAGDetailFields = %v", DAGFields, DAGDetailFields)
	}
	cases := []struct {
		in      []string
		want    []string
		wantErr string
	}{
		{nil, nil, ""},
		{[]string{"dag_id,is_paused"}, []string{"dag_id", "is_paused"}, ""},
		{[]string{"dag_id", "tags", "dag_id"}, []string{"dag_id", "tags"}, ""},
		{[]string{" dag_id , ,owners"}, []string{"dag_id", "owners"}, ""},
		{[]string{"dag_id,nope", "params"}, nil, "Invalid fields: nope, params."},
	}
	for _, tc := range cases {
		got, err := ParseFields(tc.in, DAGFields)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseFields(%q) error = %v; want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFields(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	dag := ToDAG(DAGSource{DAGID: "a.b", Deployment: wire.Deployment{Paused: true}}, DAGEnv{Now: dagNow})
	sel, err := SelectFields(dag, []string{"dag_id", "is_paused", "next_dagrun"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(sel)
	if string(raw) != `{"dag_id":"a.b","is_paused":true,"next_dagrun":null}` {
		t.Errorf("selected = %s", raw)
	}
	whole, _ := SelectFields(dag, nil)
	if !reflect.DeepEqual(whole, dag) {
		t.Errorf("no fields must keep the object whole")
	}
}

func TestParseDAGListQuery(t *testing.T) {
	cases := []struct {
		query   string
		want    DAGListQuery
		wantErr string
	}{
		{"", DAGListQuery{Page: Page{100, 0}, OrderBy: OrderBy{"dag_id", false}}, ""},
		{"limit=7&offset=14&order_by=-dag_id&tags=a&tags=b&paused=false&only_active=false&dag_id_pattern=Etl&fields=dag_id",
			DAGListQuery{DAGFilter: DAGFilter{Tags: []string{"a", "b"}, Paused: dagRef(false), Pattern: "Etl"},
				Page: Page{7, 14}, OrderBy: OrderBy{"dag_id", true}, Fields: []string{"dag_id"}}, ""},
		{"paused=TRUE", DAGListQuery{DAGFilter: DAGFilter{Paused: dagRef(true)}, Page: Page{100, 0}, OrderBy: OrderBy{"dag_id", false}}, ""},
		{"limit=1000", DAGListQuery{Page: Page{100, 0}, OrderBy: OrderBy{"dag_id", false}}, ""},
		{"order_by=owners", DAGListQuery{}, "Ordering with 'owners' is disallowed or the attribute does not exist on the model"},
		{"paused=maybe", DAGListQuery{}, `paused "maybe" is not a boolean (true or false)`},
		{"only_active=2", DAGListQuery{}, `only_active "2" is not a boolean (true or false)`},
		{"limit=-1", DAGListQuery{}, "Page limit must be a positive integer"},
		{"fields=dag_id,timezone", DAGListQuery{}, "Invalid fields: timezone."},
	}
	for _, tc := range cases {
		q, _ := url.ParseQuery(tc.query)
		got, err := ParseDAGListQuery(q, 100)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: error = %v; want %q", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q = %+v, %v; want %+v", tc.query, got, err, tc.want)
		}
	}
}

func TestParseDAGBulkQuery(t *testing.T) {
	cases := []struct {
		query   string
		want    DAGBulkQuery
		wantErr string
	}{
		{"dag_id_pattern=~", DAGBulkQuery{Page: Page{100, 0}}, ""},
		{"dag_id_pattern=etl&limit=2&offset=1&tags=x&update_mask=is_paused",
			DAGBulkQuery{DAGFilter: DAGFilter{Tags: []string{"x"}, Pattern: "etl"}, Page: Page{2, 1}, UpdateMask: []string{"is_paused"}}, ""},
		{"dag_id_pattern=", DAGBulkQuery{Page: Page{100, 0}}, ""},
		{"limit=2", DAGBulkQuery{}, "Missing query parameter 'dag_id_pattern'"},
		{"dag_id_pattern=~&offset=-1", DAGBulkQuery{}, "offset -1 must be 0 or more"},
	}
	for _, tc := range cases {
		q, _ := url.ParseQuery(tc.query)
		got, err := ParseDAGBulkQuery(q, 100)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: error = %v; want %q", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q = %+v, %v; want %+v", tc.query, got, err, tc.want)
		}
	}
	if got := ParseUpdateMask([]string{"is_paused, description", "", "tags"}); !reflect.DeepEqual(got, []string{"is_paused", "description", "tags"}) {
		t.Errorf("ParseUpdateMask = %v", got)
	}
}

func TestPrefectDeploymentFilter(t *testing.T) {
	cases := []struct {
		filter   DAGFilter
		wantJSON string // "" = no filter body
		wantNone bool
	}{
		{DAGFilter{}, "", false},
		{DAGFilter{Pattern: "etl"}, "", false},
		{DAGFilter{Paused: dagRef(true)}, `{"paused":{"eq_":true}}`, false},
		{DAGFilter{Paused: dagRef(false), Tags: []string{"a", "owner:x", "b"}}, `{"paused":{"eq_":false},"tags":{"any_":["a","b"]}}`, false},
		{DAGFilter{Tags: []string{"owner:x", "airflow-dag-id:y"}}, "", true},
	}
	for _, tc := range cases {
		f, none := tc.filter.PrefectDeploymentFilter()
		got := ""
		if f != nil {
			raw, _ := json.Marshal(f)
			got = string(raw)
		}
		if got != tc.wantJSON || none != tc.wantNone {
			t.Errorf("%+v → %s, none=%v; want %s, none=%v", tc.filter, got, none, tc.wantJSON, tc.wantNone)
		}
	}
}

func TestDAGFilterMatches(t *testing.T) {
	cases := []struct {
		filter DAGFilter
		dagID  string
		paused bool
		tags   []string
		want   bool
	}{
		{DAGFilter{}, "a.b", false, nil, true},
		{DAGFilter{Paused: dagRef(true)}, "a.b", false, nil, false},
		{DAGFilter{Paused: dagRef(false)}, "a.b", false, nil, true},
		{DAGFilter{Tags: []string{"x", "y"}}, "a.b", false, []string{"y"}, true},
		{DAGFilter{Tags: []string{"x"}}, "a.b", false, []string{"y"}, false},
		{DAGFilter{Tags: []string{"owner:me"}}, "a.b", false, []string{"owner:me"}, false},
		{DAGFilter{Pattern: "ETL"}, "sales_etl.daily", false, nil, true},
		{DAGFilter{Pattern: "etl", Tags: []string{"x"}}, "sales_etl.daily", false, []string{"x"}, true},
		{DAGFilter{Pattern: "etl", Tags: []string{"x"}}, "sales.daily", false, []string{"x"}, false},
	}
	for _, tc := range cases {
		if got := tc.filter.Matches(tc.dagID, tc.paused, tc.tags); got != tc.want {
			t.Errorf("%+v.Matches(%q, %v, %v) = %v; want %v", tc.filter, tc.dagID, tc.paused, tc.tags, got, tc.want)
		}
	}
}

func TestMatchDAGIDPattern(t *testing.T) {
	cases := []struct {
		pattern, dagID string
		want           bool
	}{
		{"", "anything", true},
		{"etl", "etl.daily", true},
		{"ETL", "sales_etl.daily", true},
		{"Daily", "etl.DAILY", true},
		{"etl.daily", "etl.daily", true},
		{"etl.daily.x", "etl.daily", false},
		{"xyz", "etl.daily", false},
		{"e_l", "etl.daily", true},  // '_' is any one character
		{"e_l", "el.daily", false},  // ...but exactly one
		{"e%y", "etl.daily", true},  // '%' is any run
		{"e%z", "etl.daily", false}, // ...that still needs the rest
		{"%", "x", true},
		{`e\_l`, "etl", false}, // escaped: a literal underscore
		{`e\_l`, "e_l.daily", true},
		{`100\%`, "load_100%", true},
		{"ÉTL", "étl.x", true},
		{"a%b%c", "axxbyyc", true},
		{"a%b%c", "axxbyy", false},
		{"__", "a", false},
		{"__", "ab", true},
	}
	for _, tc := range cases {
		if got := MatchDAGIDPattern(tc.pattern, tc.dagID); got != tc.want {
			t.Errorf("MatchDAGIDPattern(%q, %q) = %v; want %v", tc.pattern, tc.dagID, got, tc.want)
		}
	}
}

func TestSortDAGOrderAndPageBounds(t *testing.T) {
	type item struct{ dag, id string }
	items := []item{{"b", "2"}, {"a", "9"}, {"c", "1"}, {"a", "3"}}
	key := func(i item) DAGOrder { return DAGOrder{DAGID: i.dag, TieID: i.id} }
	SortDAGOrder(items, key, false)
	if want := []item{{"a", "3"}, {"a", "9"}, {"b", "2"}, {"c", "1"}}; !reflect.DeepEqual(items, want) {
		t.Errorf("ascending = %v; want %v", items, want)
	}
	SortDAGOrder(items, key, true)
	if want := []item{{"c", "1"}, {"b", "2"}, {"a", "9"}, {"a", "3"}}; !reflect.DeepEqual(items, want) {
		t.Errorf("descending = %v; want %v", items, want)
	}
	for _, tc := range []struct {
		n      int
		page   Page
		lo, hi int
	}{
		{10, Page{3, 0}, 0, 3}, {10, Page{3, 9}, 9, 10}, {10, Page{3, 10}, 10, 10}, {10, Page{3, 50}, 10, 10}, {0, Page{100, 0}, 0, 0},
	} {
		if lo, hi := PageBounds(tc.n, tc.page); lo != tc.lo || hi != tc.hi {
			t.Errorf("PageBounds(%d, %+v) = %d, %d; want %d, %d", tc.n, tc.page, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestParseDAGPatch(t *testing.T) {
	cases := []struct {
		body    string
		mask    []string
		want    bool
		wantErr string
	}{
		{`{"is_paused": true}`, nil, true, ""},
		{`{"is_paused": false}`, []string{"is_paused"}, false, ""},
		{`{"is_paused": true}`, []string{"description"}, false, "Only `is_paused` field can be updated through the REST API"},
		{`{"is_paused": true}`, []string{"is_paused", "tags"}, false, "Only `is_paused` field can be updated through the REST API"},
		{`{}`, []string{"is_paused"}, false, "The request body has no `is_paused`"},
		{`{"is_paused": null}`, nil, false, "`is_paused` must be true or false, not null"},
		{`{"is_paused": "yes"}`, nil, false, "`is_paused` must be true or false, not \"yes\""},
		{`{"is_paused": true, "dag_id": "x"}`, nil, false, "Unknown or read-only field(s) \"dag_id\": only `is_paused` can be updated"},
		{``, nil, false, "The request body is empty: send {\"is_paused\": true} or {\"is_paused\": false}"},
		{`[true]`, nil, false, "The request body is not a JSON object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
	}
	for _, tc := range cases {
		got, err := ParseDAGPatch([]byte(tc.body), tc.mask)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseDAGPatch(%s, %v) error = %v; want %q", tc.body, tc.mask, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDAGPatch(%s, %v) = %v, %v; want %v", tc.body, tc.mask, got, err, tc.want)
		}
	}
}

func TestTasksFromTaskRuns(t *testing.T) {
	run := func(id, key, dyn, name string, policy map[string]any, inputs map[string][]wire.TaskInput) wire.TaskRun {
		return wire.TaskRun{ID: id, TaskKey: key, DynamicKey: dyn, Name: name, EmpiricalPolicy: policy, TaskInputs: inputs}
	}
	runs := []wire.TaskRun{
		run("r1", "extract-1a2b3c4d", "0", "extract-0", map[string]any{"retries": 2.0, "retry_delay": 30.0}, nil),
		run("r2", "transform-5e6f7a8b", "0", "transform-0", map[string]any{"retry_delay": []any{10.0, 20.0, 40.0}, "retries": 3.0},
			map[string][]wire.TaskInput{"rows": {{InputType: "task_run", ID: "r1"}}, "limit": {{InputType: "parameter", Name: "limit"}}}),
		run("r3", "transform-5e6f7a8b", "1", "transform-1", nil,
			map[string][]wire.TaskInput{"rows": {{InputType: "task_run", ID: "r1"}}}),
		run("r4", "load-9c0d1e2f", "0", "Load to warehouse-0", nil,
			map[string][]wire.TaskInput{"a": {{InputType: "task_run", ID: "r2"}, {InputType: "task_run", ID: "r3"}, {InputType: "task_run", ID: "gone"}}}),
		run("r5", "custom-key", "abcdef", "renamed run", nil, nil),
		run("r7", "seeded-0a0b0c0d", "0", "seeded-0a0b0c0d-0", nil, nil),
		run("r6", "", "0", "no key", nil, nil),
	}
	queue := "default"
	tasks := TasksFromTaskRuns(runs, DefaultTaskDefaults([]string{"data-team", "ops"}, dagRef("process-pool"), &queue))
	type brief struct {
		id, display string
		mapped      bool
		retries     int
		delay       TimeDelta
		backoff     bool
		down        []string
	}
	var got []brief
	for _, tk := range tasks {
		got = append(got, brief{tk.TaskID, tk.TaskDisplayName, tk.IsMapped, tk.Retries, tk.RetryDelay, tk.RetryExponentialBackoff, tk.DownstreamTaskIDs})
		if tk.Owner != "data-team, ops" || tk.Pool != "process-pool" || tk.Queue == nil || *tk.Queue != "default" ||
			tk.TriggerRule != "all_success" || tk.UIColor != "#fff" || tk.ClassRef.ClassName != "Task" || tk.PoolSlots != 1 {
			t.Errorf("task %s defaults = %+v", tk.TaskID, tk)
		}
	}
	zero := TimeDeltaOf(0)
	want := []brief{
		{"custom-key", "custom-key", false, 0, zero, false, []string{}},
		{"extract-1a2b3c4d", "extract", false, 2, TimeDeltaOf(30), false, []string{"transform-5e6f7a8b"}},
		{"load-9c0d1e2f", "Load to warehouse", false, 0, zero, false, []string{}},
		{"seeded-0a0b0c0d", "seeded", false, 0, zero, false, []string{}},
		{"transform-5e6f7a8b", "transform", true, 3, TimeDeltaOf(10), true, []string{"load-9c0d1e2f"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tasks =\n%+v\nwant\n%+v", got, want)
	}
	if d := DefaultTaskDefaults(nil, nil, nil); d.Owner != "airflow" || d.Pool != "default_pool" || d.Queue != nil {
		t.Errorf("defaults = %+v", d)
	}
	if got := TasksFromTaskRuns(nil, DefaultTaskDefaults(nil, nil, nil)); got == nil || len(got) != 0 {
		t.Errorf("no runs = %#v; want an empty, non-nil list", got)
	}
}

func TestSortTasks(t *testing.T) {
	tasks := []Task{{TaskID: "b", Retries: 1}, {TaskID: "a", Retries: 10}, {TaskID: "c", Retries: 2}}
	ids := func() string {
		var s []string
		for _, t := range tasks {
			s = append(s, t.TaskID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ orderBy, want string }{
		{"", "a,b,c"}, {"-task_id", "c,b,a"}, {"retries", "b,c,a"}, {"-retries", "a,c,b"},
	} {
		o, err := ParseTaskOrderBy(tc.orderBy)
		if err != nil {
			t.Fatal(err)
		}
		SortTasks(tasks, o)
		if got := ids(); got != tc.want {
			t.Errorf("order_by=%q → %s; want %s", tc.orderBy, got, tc.want)
		}
	}
	if _, err := ParseTaskOrderBy("-nope"); err == nil || err.Error() != "'Task' object has no attribute 'nope'" {
		t.Errorf("error = %v", err)
	}
}

// --- fuzz targets ---

func FuzzMatchDAGIDPattern(f *testing.F) {
	for _, s := range [][2]string{{"etl", "etl.daily"}, {"e%y", "etl.daily"}, {"_", ""}, {`\`, `\`}, {"%%__%", "abc"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, dagID string) {
		got := MatchDAGIDPattern(pattern, dagID)
		if !utf8.ValidString(pattern) || !utf8.ValidString(dagID) {
			return
		}
		if !strings.ContainsAny(pattern, `%_\`) {
			// Without wildcards it is a plain case-insensitive substring test.
			if want := strings.Contains(strings.ToLower(dagID), strings.ToLower(pattern)); got != want {
				t.Fatalf("MatchDAGIDPattern(%q, %q) = %v; substring says %v", pattern, dagID, got, want)
			}
		}
		// A dag_id with its wildcards escaped always finds itself.
		escaped := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(dagID)
		if !MatchDAGIDPattern(escaped, dagID) {
			t.Fatalf("MatchDAGIDPattern(%q, %q) = false", escaped, dagID)
		}
	})
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 6 * * *", "*/5 * * * *", "0 0 L * *", "0 9 * * 5#2", "@daily", "0 0 * * * 30", "1-5/2 * 1,15 jan-mar mon"} {
		f.Add(s, int64(1714558830))
	}
	f.Fuzz(func(t *testing.T, expr string, unix int64) {
		c, err := ParseCron(expr)
		if err != nil {
			return
		}
		_ = c.Describe()
		if unix < 0 || unix > 4102444800 { // keep to 1970..2100
			return
		}
		at := time.Unix(unix, 0).UTC()
		next, ok := c.Next(at, time.UTC)
		if !ok {
			return
		}
		if !next.After(at) {
			t.Fatalf("%q: Next(%s) = %s is not after it", expr, at, next)
		}
		prev, ok := c.Prev(next, time.UTC)
		if !ok || !prev.Before(next) {
			t.Fatalf("%q: Prev(%s) = %s, %v", expr, next, prev, ok)
		}
		if prev.After(at) {
			t.Fatalf("%q: a tick at %s lies between %s and Next = %s", expr, prev, at, next)
		}
		if again, ok := c.Next(prev, time.UTC); !ok || !again.Equal(next) {
			t.Fatalf("%q: Next(Prev(%s)) = %s; want %s", expr, next, again, next)
		}
	})
}

func FuzzParseDAGPatch(f *testing.F) {
	for _, s := range []string{`{"is_paused":true}`, `{"is_paused":null}`, `{}`, `[`, `{"is_paused":true,"x":1}`} {
		f.Add([]byte(s), "is_paused")
	}
	f.Fuzz(func(t *testing.T, body []byte, mask string) {
		paused, err := ParseDAGPatch(body, ParseUpdateMask([]string{mask}))
		if err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || len(m) != 1 || m["is_paused"] != paused {
			t.Fatalf("ParseDAGPatch(%q, %q) accepted %v", body, mask, paused)
		}
	})
}

func FuzzParseDAGListQuery(f *testing.F) {
	for _, s := range []string{"limit=5&offset=2", "order_by=-dag_id&tags=a", "paused=true&fields=dag_id,tags", "limit=-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := ParseDAGListQuery(q, 100)
		if err != nil {
			return
		}
		if got.Page.Limit < 1 || got.Page.Limit > 100 || got.Page.Offset < 0 || got.OrderBy.Field != "dag_id" {
			t.Fatalf("%q → %+v", raw, got)
		}
		for _, field := range got.Fields {
			if !contains(DAGFields, field) {
				t.Fatalf("%q → unknown field %q", raw, field)
			}
		}
	})
}

func BenchmarkToDAG(b *testing.B) {
	src := DAGSource{DAGID: "etl_daily", FlowName: "etl", Deployment: demoDeployment()}
	env := DAGEnv{Now: dagNow, Zones: dagZones}
	b.ReportAllocs()
	for b.Loop() {
		ToDAG(src, env)
	}
}
