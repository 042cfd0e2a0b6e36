package wire

import (
	"encoding/json"
	"testing"

	gojson "github.com/goccy/go-json"
)

func TestFlowRunLabelsKeepOnlyTheGatewaysKeys(t *testing.T) {
	raw := []byte(`{"labels":{"prefect.flow.id":"f1","airflow.note":"checked","airflow.data_interval_start":"2024-04-30T00:00:00+00:00",` +
		`"airflow.data_interval_end":"2024-05-01T00:00:00+00:00","airflow.trigger":"fp","airflow-prefect-gateway.trigger":"stamp"}}`)
	want := FlowRunLabels{Note: "checked", DataIntervalStart: "2024-04-30T00:00:00+00:00",
		DataIntervalEnd: "2024-05-01T00:00:00+00:00", TriggerFingerprint: "fp", TriggerStamp: "stamp"}
	// The client decodes with go-json; tests and fakes with encoding/json: both must agree.
	for name, unmarshal := range map[string]func([]byte, any) error{"encoding/json": json.Unmarshal, "go-json": gojson.Unmarshal} {
		var run FlowRun
		if err := unmarshal(raw, &run); err != nil || run.Labels != want {
			t.Errorf("%s: labels %+v (%v), want %+v", name, run.Labels, err, want)
		}
	}
}

func TestLabelValueReadsAnyScalar(t *testing.T) {
	cases := []struct {
		raw  string
		want LabelValue
	}{
		{`"text"`, "text"},
		{`"esc\"aped \u00e9"`, `esc"aped é`},
		{`"plain é <&>"`, "plain é <&>"},
		{"\"not UTF-8 \xff\"", "not UTF-8 \ufffd"},
		{`""`, ""},
		{`42`, "42"},
		{`-1.5`, "-1.5"},
		{`true`, "true"},
		{`false`, "false"},
		{`null`, ""},
		{`{"a":1}`, ""},
		{`[1]`, ""},
	}
	for _, tc := range cases {
		for name, unmarshal := range map[string]func([]byte, any) error{"encoding/json": json.Unmarshal, "go-json": gojson.Unmarshal} {
			var l FlowRunLabels
			if err := unmarshal([]byte(`{"airflow.note":`+tc.raw+`}`), &l); err != nil || l.Note != tc.want {
				t.Errorf("%s: %s read as %q (%v), want %q", name, tc.raw, l.Note, err, tc.want)
			}
		}
	}
}

func TestFlowRunLabelsWriteOnlyWhatIsSet(t *testing.T) {
	raw, err := json.Marshal(FlowRunLabels{Note: "n"})
	if err != nil || string(raw) != `{"airflow.note":"n"}` {
		t.Errorf("labels written as %s (%v)", raw, err)
	}
}
