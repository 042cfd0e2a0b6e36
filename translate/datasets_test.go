package translate

import (
	"net/url"
	"testing"

	"airflow-prefect-gateway/prefect/wire"
)

func TestDatasetID(t *testing.T) {
	a, b := DatasetID("s3://b/orders"), DatasetID("s3://b/pay")
	if a <= 0 || a > 1<<31-1 || a == b || a != DatasetID("s3://b/orders") {
		t.Errorf("ids %d %d", a, b)
	}
}

func TestAssetConsumers(t *testing.T) {
	dep := "d1"
	run := []wire.AutomationAction{{Type: "run-deployment", Source: "selected", DeploymentID: &dep}}
	for _, tc := range []struct {
		name    string
		trigger wire.AutomationTrigger
		actions []wire.AutomationAction
		enabled bool
		want    int
	}{
		{"exact", wire.AutomationTrigger{Type: "event", Match: map[string]any{"prefect.resource.id": "s3://b/k"}, Expect: []string{AssetMaterialized}}, run, true, 1},
		{"prefix in a list", wire.AutomationTrigger{Match: map[string]any{"prefect.resource.id": []any{"x", "s3://b/*"}}}, run, true, 1},
		{"nested", wire.AutomationTrigger{Type: "sequence", Triggers: []wire.AutomationTrigger{{Type: "event", Match: map[string]any{"prefect.resource.id": "s3://b/k"}}}}, run, true, 1},
		{"disabled", wire.AutomationTrigger{Match: map[string]any{"prefect.resource.id": "s3://b/k"}}, run, false, 0},
		{"another asset", wire.AutomationTrigger{Match: map[string]any{"prefect.resource.id": "s3://b/kk"}}, run, true, 0},
		{"other events", wire.AutomationTrigger{Match: map[string]any{"prefect.resource.id": "s3://b/k"}, Expect: []string{"prefect.flow-run.Failed"}}, run, true, 0},
		{"another action", wire.AutomationTrigger{Match: map[string]any{"prefect.resource.id": "s3://b/k"}}, []wire.AutomationAction{{Type: "cancel-flow-run"}}, true, 0},
		{"the inferred deployment", wire.AutomationTrigger{Match: map[string]any{"prefect.resource.id": "s3://b/k"}}, []wire.AutomationAction{{Type: "run-deployment", Source: "inferred"}}, true, 0},
	} {
		got := AssetConsumers([]wire.Automation{{Enabled: tc.enabled, Trigger: tc.trigger, Actions: tc.actions}}, "s3://b/k")
		if len(got) != tc.want {
			t.Errorf("%s: %d consumers, want %d", tc.name, len(got), tc.want)
		}
	}
}

func TestParseCreateDatasetEvent(t *testing.T) {
	got, err := ParseCreateDatasetEvent([]byte(`{"dataset_uri":"s3://b/k","extra":{"a":1}}`))
	if err != nil || got.URI != "s3://b/k" || got.Extra["a"] != float64(1) || got.Extra["from_rest_api"] != true {
		t.Errorf("%+v %v", got, err)
	}
	for _, bad := range []string{`[]`, `{"extra":{}}`, `{"dataset_uri":1}`, `{"dataset_uri":"x","extra":"y"}`, `{"dataset_uri":"x","z":1}`, `nul`} {
		if _, err := ParseCreateDatasetEvent([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestParseDatasetEventQuery(t *testing.T) {
	q, err := ParseDatasetEventQuery(url.Values{"dataset_id": {"7"}, "order_by": {"-timestamp"}, "source_map_index": {"0"}}, 100)
	if err != nil || q.DatasetID != 7 || !q.Desc || q.Nothing {
		t.Errorf("%+v %v", q, err)
	}
	for _, bad := range []url.Values{{"order_by": {"source_dag_id"}}, {"source_task_id": {"t"}}, {"dataset_id": {"x"}}, {"source_run_id": {"a?"}}} {
		if _, err := ParseDatasetEventQuery(bad, 100); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if q, _ := ParseDatasetEventQuery(url.Values{"source_map_index": {"2"}}, 100); !q.Nothing {
		t.Error("a non-zero source_map_index must match nothing")
	}
}

func FuzzCreateDatasetEvent(f *testing.F) {
	f.Add([]byte(`{"dataset_uri":"s3://b/k","extra":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ParseCreateDatasetEvent(body)
		if err == nil && (got.URI == "" || got.Extra["from_rest_api"] != true) {
			t.Fatalf("accepted %q as %+v", body, got)
		}
	})
}
