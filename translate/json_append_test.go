package translate

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// plainDAGRun has DAGRun's fields without its MarshalJSON: encoding/json's reflection
// encoding, the reference the hand-written one must match byte for byte.
type plainDAGRun DAGRun

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "<script>&amp;</script>", "line\u2028sep\u2029para", "snow ☃ and 🚀",
		"bad \xff utf8 \xc3", "manual__2024-05-01T00:00:00+00:00", strings.Repeat("é", 40)} {
		want, _ := json.Marshal(s)
		if got := AppendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendTimeMatchesLayout(t *testing.T) {
	paris := time.FixedZone("CEST", 2*3600)
	for _, tm := range []time.Time{
		time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 999999999, time.UTC), // truncated, not rounded
		time.Date(2024, 5, 1, 2, 30, 0, 123456000, paris),        // written in UTC
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // outside four digits: time.Format's way
	} {
		want := isoformat(tm)
		if got := string(AppendTime(nil, tm)); got != want {
			t.Errorf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
		if got := FormatTime(tm); got != want {
			t.Errorf("FormatTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestDAGRunJSONMatchesEncodingJSON(t *testing.T) {
	full := DAGRun{DAGRunID: "manual__2024-05-01T00:00:00+00:00", DAGID: "etl.daily",
		LogicalDate: sp("2024-05-01T00:00:00+00:00"), ExecutionDate: sp("2024-05-01T00:00:00+00:00"),
		StartDate: sp("2024-05-01T00:00:05.500000+00:00"), EndDate: sp("2024-05-01T00:01:00+00:00"),
		DataIntervalStart: sp("2024-04-30T00:00:00+00:00"), DataIntervalEnd: sp("2024-05-01T00:00:00+00:00"),
		LastSchedulingDecision: sp("2024-05-01T00:00:00+00:00"),
		RunType:                "manual", State: "success", ExternalTrigger: true,
		Conf: json.RawMessage(`{"batch_size":100,"nested":{"a":[1,2.5,"x",null,true]}}`), Note: sp(`say "hi" <b>`)}
	bare := DAGRun{DAGRunID: "x", DAGID: "d", RunType: "scheduled", State: "queued", Conf: json.RawMessage(`{}`)}
	for _, r := range []DAGRun{full, bare} {
		want, err := json.Marshal(plainDAGRun(r))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON(nil, 0); string(got) != string(want) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
		if got, _ := json.Marshal(r); string(got) != string(want) {
			t.Errorf("json.Marshal\n got %s\nwant %s", got, want)
		}
	}
}

func TestDAGRunJSONConfIsAlwaysAnObject(t *testing.T) {
	for _, conf := range []json.RawMessage{nil, json.RawMessage("null"), json.RawMessage(`[1]`), json.RawMessage(`"s"`)} {
		got := string(DAGRun{Conf: conf}.AppendJSON(nil, DAGRunFieldsOf([]string{"conf"})))
		if got != `{"conf":{}}` {
			t.Errorf("conf %s written as %s, want {}", conf, got)
		}
	}
	if got := string(DAGRun{Conf: json.RawMessage(" {\"a\":1}")}.AppendJSON(nil, DAGRunFieldsOf([]string{"conf"}))); got != `{"conf": {"a":1}}` {
		t.Errorf("an object conf is written verbatim: %s", got)
	}
}

func TestDAGRunProjection(t *testing.T) {
	run := DAGRun{DAGRunID: "r", DAGID: "d", State: "success", RunType: "manual", Conf: json.RawMessage(`{}`)}
	cases := []struct {
		fields []string
		want   string
	}{
		{[]string{"state", "dag_run_id", "note"}, `{"dag_run_id":"r","state":"success","note":null}`},
		{[]string{"conf"}, `{"conf":{}}`},
		{[]string{"external_trigger", "external_trigger"}, `{"external_trigger":false}`},
	}
	for _, tc := range cases {
		if got := string(run.AppendJSON(nil, DAGRunFieldsOf(tc.fields))); got != tc.want {
			t.Errorf("fields %v: %s, want %s", tc.fields, got, tc.want)
		}
	}
	var all map[string]any
	if err := json.Unmarshal(run.AppendJSON(nil, DAGRunFieldsOf(nil)), &all); err != nil || len(all) != len(DAGRunFields) {
		t.Errorf("no fields keeps all %d: %v %v", len(DAGRunFields), all, err)
	}
}

func TestAppendDAGRunCollection(t *testing.T) {
	runs := []DAGRun{{DAGRunID: "a", Conf: json.RawMessage(`{}`)}, {DAGRunID: "b", Conf: json.RawMessage(`{"k":1}`)}}
	got := string(AppendDAGRunCollection(nil, runs, DAGRunFieldsOf([]string{"dag_run_id", "conf"}), 7))
	want := `{"dag_runs":[{"dag_run_id":"a","conf":{}},{"dag_run_id":"b","conf":{"k":1}}],"total_entries":7}`
	if got != want {
		t.Errorf("collection\n got %s\nwant %s", got, want)
	}
	if got := string(AppendDAGRunCollection(nil, nil, 0, 0)); got != `{"dag_runs":[],"total_entries":0}` {
		t.Errorf("empty collection %s", got)
	}
}

// FuzzAppendJSONString: any string encodes exactly as encoding/json encodes it.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "<&>", "\u2028", "\xff\xfe", "\x00\x1f", "☃🚀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// isoformat is Python's datetime.isoformat() of tm in UTC, through time.Format.
func isoformat(tm time.Time) string {
	if tm.Nanosecond()/1000 == 0 {
		return tm.UTC().Format(AirflowWholeSecondLayout)
	}
	return tm.UTC().Format(AirflowTimeLayout)
}

func TestAppendTimeIsoformat(t *testing.T) {
	// Python: datetime(2024,5,1,6,tzinfo=timezone.utc).isoformat() and with microsecond=120.
	for tm, want := range map[time.Time]string{
		time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC):      "2024-05-01T06:00:00+00:00",
		time.Date(2024, 5, 1, 6, 0, 0, 999, time.UTC):    "2024-05-01T06:00:00+00:00",
		time.Date(2024, 5, 1, 6, 0, 0, 120000, time.UTC): "2024-05-01T06:00:00.000120+00:00",
	} {
		if got := FormatTime(tm); got != want {
			t.Errorf("FormatTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// FuzzAppendTime: any instant is written as time.Format writes it with Airflow's layouts.
func FuzzAppendTime(f *testing.F) {
	for _, ns := range []int64{0, 1714521600123456789, -62135596800000000000 / 1000, 253402300799999999999 / 1000} {
		f.Add(ns, int32(0))
	}
	f.Fuzz(func(t *testing.T, unixNano int64, offsetSeconds int32) {
		tm := time.Unix(0, unixNano).In(time.FixedZone("z", int(offsetSeconds%86400)))
		if got, want := string(AppendTime(nil, tm)), isoformat(tm); got != want {
			t.Fatalf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
	})
}
