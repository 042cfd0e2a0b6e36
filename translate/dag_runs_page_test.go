package translate

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	gojson "github.com/goccy/go-json"

	"airflow-prefect-gateway/prefect/wire"
)

// testdata/prefect_flow_runs_filter.json was recorded from a real Prefect 3.8.8 server
// (POST /flow_runs/filter): a running run with parameters, labels of every kind (a number
// among them) and a full state, and a scheduled one with no labels of the gateway's.

var errUnknownDAG = errors.New("a run of a deployment dagOf does not know")

// ordinaryPage is the way AppendDAGRunPage must match: decode the runs as the Prefect client
// does (go-json), translate each, write the collection.
func ordinaryPage(runs []byte, dagOf dagMap, set DAGRunFieldSet, total int, reverse bool) ([]byte, error) {
	var decoded []wire.FlowRun
	if err := gojson.Unmarshal(runs, &decoded); err != nil {
		return nil, err
	}
	if reverse {
		slices.Reverse(decoded)
	}
	return ordinaryCollection(decoded, dagOf, set, total)
}

// ordinaryAnswer is ordinaryPage for a whole /flow_runs/paginate answer.
func ordinaryAnswer(answer []byte, dagOf dagMap, set DAGRunFieldSet) ([]byte, error) {
	var page struct {
		Results []wire.FlowRun `json:"results"`
		Count   int            `json:"count"`
	}
	if err := gojson.Unmarshal(answer, &page); err != nil {
		return nil, err
	}
	return ordinaryCollection(page.Results, dagOf, set, page.Count)
}

// ordinaryCollection is what the gateway's ordinary path does with decoded runs.
func ordinaryCollection(runs []wire.FlowRun, dagOf dagMap, set DAGRunFieldSet, total int) ([]byte, error) {
	out := make([]DAGRun, 0, len(runs))
	for _, r := range runs {
		if r.DeploymentID == nil {
			continue
		}
		dagID, ok := dagOf[*r.DeploymentID]
		if !ok {
			return nil, errUnknownDAG
		}
		out = append(out, FromPrefectFlowRun(r, dagID))
	}
	return AppendDAGRunCollection(nil, out, set, total), nil
}

// dagMap names the DAG of each known deployment.
type dagMap map[string]string

func knownDAGs(ids map[string]string) dagMap { return ids }

// of is the dagOf AppendDAGRunPageAnswer takes.
func (m dagMap) of(id []byte) (string, bool) { d, ok := m[string(id)]; return d, ok }

func TestAppendDAGRunPageMatchesTheOrdinaryWay(t *testing.T) {
	recorded, err := os.ReadFile("testdata/prefect_flow_runs_filter.json")
	if err != nil {
		t.Fatal(err)
	}
	dagOf := knownDAGs(map[string]string{"68717d21-fac2-4dea-a2ce-6c8533744e4a": "etl.daily", "d1": "etl.daily"})
	cases := []struct {
		name string
		runs string
		set  DAGRunFieldSet
	}{
		{"recorded from Prefect", string(recorded), 0},
		{"recorded, projected", string(recorded), DAGRunFieldsOf([]string{"conf", "note", "state"})},
		{"empty", `[]`, 0},
		{"null", `null`, 0},
		{"runs without a deployment are left out", `[{"name":"a"},null,{"name":"b","deployment_id":"d1"}]`, 0},
		{"state from the state object when state_type is null",
			`[{"deployment_id":"d1","state_type":null,"state":{"type":"FAILED","name":"Failed"}}]`, 0},
		{"the last of repeated keys wins; null keeps a string",
			`[{"deployment_id":"d1","name":"a","name":null,"auto_scheduled":true,"auto_scheduled":null,"state":{"type":"RUNNING"},"state":{"name":"x"}}]`, 0},
		{"escapes, HTML and non-ASCII in strings",
			`[{"deployment_id":"d1","name":"a\"b\\u00e9<&>\u2028","labels":{"airflow.note":"n\u00f6te\n"},"parameters":{"k" : [1, "<"]}}]`, 0},
		{"label values of every kind",
			`[{"deployment_id":"d1","labels":{"airflow.note":12.5,"airflow.data_interval_start":"2024-04-30 00:00:00+02:00","airflow.data_interval_end":"bogus"}}]`, 0},
		{"conf that is not an object", `[{"deployment_id":"d1","parameters":[1]},{"deployment_id":"d1","parameters":null}]`, 0},
		{"an escaped key", `[{"deployment_id":"d1","n\u0061me":"x"}]`, 0},
		{"zero and offset times", `[{"deployment_id":"d1","expected_start_time":"0001-01-01T00:00:00Z","start_time":"2024-05-01T02:00:00.123456789+02:00"}]`, 0},
		{"Prefect's two forms of a time, copied; the zero time in either is null",
			`[{"deployment_id":"d1","expected_start_time":"0001-01-01T00:00:00.000000Z","start_time":"2024-05-01T02:00:00.000100Z","end_time":"9999-12-31T23:59:59Z"},` +
				`{"deployment_id":"d1","expected_start_time":"0000-01-01T00:00:00Z","start_time":"2024-05-01T02:00:00.5Z","end_time":"2024-02-29T23:59:59.999999Z"}]`, 0},
	}
	for _, tc := range cases {
		want, err := ordinaryPage([]byte(tc.runs), dagOf, tc.set, 42, false)
		if err != nil {
			t.Fatalf("%s: the ordinary way failed: %v", tc.name, err)
		}
		// The runs as /flow_runs/filter answers them, forward and reversed.
		for _, reverse := range []bool{false, true} {
			want, _ := ordinaryPage([]byte(tc.runs), dagOf, tc.set, 42, reverse)
			got, ok := AppendDAGRunArrayAnswer([]byte("prefix"), []byte(tc.runs), dagOf.of, tc.set, 42, reverse)
			if tc.runs == "null" {
				if ok || string(got) != "prefix" {
					t.Errorf("%s, as an array: ok=%v, wrote %s", tc.name, ok, got)
				}
				continue
			}
			if !ok || string(got) != "prefix"+string(want) {
				t.Errorf("%s, as an array (reverse=%v, ok=%v):\n got %s\nwant prefix%s", tc.name, reverse, ok, got, want)
			}
		}
		// The page inside /paginate's answer, its count after or before the runs.
		for _, answer := range []string{`{"results":` + tc.runs + `,"count":42,"limit":25,"pages":2,"page":1}`,
			` { "count" : 42 , "page":1, "results" : ` + tc.runs + ` } `} {
			got, ok := AppendDAGRunPageAnswer([]byte("prefix"), []byte(answer), dagOf.of, tc.set)
			if !ok || string(got) != "prefix"+string(want) {
				t.Errorf("%s, as an answer (ok=%v):\n got %s\nwant prefix%s", tc.name, ok, got, want)
			}
		}
	}
}

func TestAppendDAGRunPageGivesUp(t *testing.T) {
	dagOf := knownDAGs(map[string]string{"d1": "etl.daily"})
	for name, runs := range map[string]string{
		"an unknown deployment":                `[{"deployment_id":"d2"}]`,
		"a key differing only in case":         `[{"deployment_id":"d1","NAME":"x"}]`,
		"a label key differing only in case":   `[{"deployment_id":"d1","labels":{"Airflow.Note":"x"}}]`,
		"a long key differing only in case":    `[{"deployment_id":"d1","expected_start_timE":"2024-05-01T00:00:00Z"}]`,
		"a key with a letter folding to ASCII": `[{"deployment_id":"d1","ſtate_type":"RUNNING"}]`,
		"a number for a string":                `[{"deployment_id":"d1","name":5}]`,
		"a string for a bool":                  `[{"deployment_id":"d1","auto_scheduled":"yes"}]`,
		"a time that is not RFC 3339":          `[{"deployment_id":"d1","start_time":"yesterday"}]`,
		"an escaped time":                      `[{"deployment_id":"d1","start_time":"2024-05-01T00:00:00\u005a"}]`,
		"an object, not a list":                `{"detail":"x"}`,
		"not JSON":                             `[{"name":`,
		"a state that is not an object":        `[{"deployment_id":"d1","state":"RUNNING"}]`,
	} {
		got, ok := AppendDAGRunPageAnswer([]byte("keep"), []byte(`{"results":`+runs+`,"count":1}`), dagOf.of, 0)
		if ok || string(got) != "keep" {
			t.Errorf("%s: ok=%v, wrote %s", name, ok, got)
		}
	}
}

func TestAppendDAGRunPageAnswerGivesUp(t *testing.T) {
	dagOf := knownDAGs(map[string]string{"d1": "etl.daily"})
	for name, answer := range map[string]string{
		"no results":                        `{"count":1}`,
		"no count":                          `{"results":[]}`,
		"a count that is not an integer":    `{"results":[],"count":1.5}`,
		"a null count":                      `{"results":[],"count":null}`,
		"repeated results":                  `{"results":[],"results":[],"count":0}`,
		"a key differing only in case":      `{"Results":[],"results":[],"count":0}`,
		"not an object":                     `[]`,
		"not JSON after the answer":         `{"results":[],"count":0} x`,
		"not JSON in a skipped key":         `{"results":[],"count":0,"limit":01}`,
		"a bad escape in a skipped run key": `{"results":[{"deployment_id":"d1","context":"\x"}],"count":1}`,
	} {
		got, ok := AppendDAGRunPageAnswer([]byte("keep"), []byte(answer), dagOf.of, 0)
		if ok || string(got) != "keep" {
			t.Errorf("%s: ok=%v, wrote %s", name, ok, got)
		}
	}
}

// FuzzAppendDAGRunPageAnswer: whenever the ordinary way reads a /paginate answer, the one-pass
// writer writes the same bytes or gives up, and it never accepts what is not JSON.
func FuzzAppendDAGRunPageAnswer(f *testing.F) {
	if recorded, err := os.ReadFile("testdata/prefect_flow_runs_filter.json"); err == nil {
		f.Add(`{"results":` + string(recorded) + `,"count":2,"limit":25,"pages":1,"page":1}`)
	}
	for _, s := range []string{`{"results":[],"count":0}`, `{"count":3,"results":null}`,
		`{"results":[{"deployment_id":"d1","name":"a","labels":{"airflow.note":"n"}}],"count":1,"pages":1}`} {
		f.Add(s)
	}
	dagOf := knownDAGs(map[string]string{"d1": "etl.daily", "68717d21-fac2-4dea-a2ce-6c8533744e4a": "etl.daily"})
	f.Fuzz(func(t *testing.T, answer string) {
		got, ok := AppendDAGRunPageAnswer(nil, []byte(answer), dagOf.of, 0)
		if ok && !json.Valid([]byte(answer)) {
			t.Fatalf("accepted what is not JSON: %q", answer)
		}
		want, err := ordinaryAnswer([]byte(answer), dagOf, 0)
		if err != nil || !ok {
			return
		}
		if string(got) != string(want) {
			t.Fatalf("%s\n got %s\nwant %s", answer, got, want)
		}
	})
}

// FuzzAppendDAGRunPage: whenever the ordinary way reads a page of runs, AppendDAGRunPageAnswer
// writes the same bytes for it (inside an answer) or gives up.
func FuzzAppendDAGRunPage(f *testing.F) {
	if recorded, err := os.ReadFile("testdata/prefect_flow_runs_filter.json"); err == nil {
		f.Add(string(recorded), uint16(0))
	}
	for _, s := range []string{`[]`, `null`, `[{"deployment_id":"d1","name":"a"}]`,
		`[{"deployment_id":"d1","labels":{"airflow.note":true,"team":7},"state":{"type":"RUNNING"}}]`,
		`[{"deployment_id":"d1","name":"\u00e9\"","parameters":{"a":[1,{"b":null}]},"auto_scheduled":true}]`,
		`[{"deployment_id":"d1","expected_start_time":"2024-05-01T00:00:00+02:00","state_type":"SCHEDULED"}]`,
		`[{"deployment_id":"d1","expected_start_time":"0001-01-01T00:00:00.000000Z","start_time":"2024-05-01T02:00:00.000100Z","end_time":"2024-05-01T03:00:00Z"}]`} {
		f.Add(s, uint16(1<<12|1<<10))
	}
	dagOf := knownDAGs(map[string]string{"d1": "etl.daily", "68717d21-fac2-4dea-a2ce-6c8533744e4a": "etl.daily"})
	f.Fuzz(func(t *testing.T, runs string, set uint16) {
		fields := DAGRunFieldSet(set) & (1<<len(DAGRunFields) - 1)
		if want, err := ordinaryPage([]byte(runs), dagOf, fields, 7, true); err == nil {
			if got, ok := AppendDAGRunArrayAnswer(nil, []byte(runs), dagOf.of, fields, 7, true); ok && string(got) != string(want) {
				t.Fatalf("%s reversed\n got %s\nwant %s", runs, got, want)
			}
		} else if _, ok := AppendDAGRunArrayAnswer(nil, []byte(runs), dagOf.of, fields, 7, true); ok && !json.Valid([]byte(runs)) {
			t.Fatalf("accepted what is not JSON: %q", runs)
		}
		want, err := ordinaryPage([]byte(runs), dagOf, fields, 7, false)
		answer := `{"results":` + runs + `,"count":7}`
		got, ok := AppendDAGRunPageAnswer(nil, []byte(answer), dagOf.of, fields)
		if ok && !json.Valid([]byte(answer)) {
			t.Fatalf("accepted what is not JSON: %q", runs)
		}
		if err != nil || !ok {
			return // the ordinary way refuses it, or the fast way gave up
		}
		if string(got) != string(want) {
			t.Fatalf("%s\n got %s\nwant %s", runs, got, want)
		}
		if !strings.HasPrefix(string(got), `{"dag_runs":[`) {
			t.Fatalf("not a collection: %s", got)
		}
	})
}

// TestMayBeRunKey: every key read passes the filter; the usual others of a run do not.
func TestMayBeRunKey(t *testing.T) {
	for _, k := range pageRunKeys {
		if len(k) >= 32 || !mayBeRunKey([]byte(k)) {
			t.Errorf("%q does not pass (len %d)", k, len(k))
		}
	}
	for _, k := range []string{"", "id", "created", "flow_id", "state_id", "work_queue_name", "tags", "run_count",
		"empirical_policy", "next_scheduled_start_time", "total_run_time", "work_pool_name", "job_variables",
		"NAME", strings.Repeat("n", 40)} {
		if mayBeRunKey([]byte(k)) {
			t.Errorf("%q passes", k)
		}
	}
}
