package wire

import (
	"encoding/json"
	"testing"

	gojson "github.com/goccy/go-json"
)

func TestFlowRunDetailKeepsEveryLabel(t *testing.T) {
	raw := []byte(`{"id":"r1","name":"run","infrastructure_pid":"host:42","run_count":2,` +
		`"labels":{"prefect.flow.id":"f1","airflow.note":"checked","airflow.task_note.-1.extract":"ok","n":3}}`)
	for name, unmarshal := range map[string]func([]byte, any) error{"encoding/json": json.Unmarshal, "go-json": gojson.Unmarshal} {
		var d FlowRunDetail
		if err := unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d = d.WithLabels()
		if d.ID != "r1" || d.Name != "run" || d.RunCount != 2 || d.InfrastructurePID == nil || *d.InfrastructurePID != "host:42" {
			t.Errorf("%s: %+v", name, d)
		}
		if d.AllLabels["airflow.task_note.-1.extract"] != "ok" || d.AllLabels["n"] != "3" || d.Labels.Note != "checked" {
			t.Errorf("%s: labels %v / %+v", name, d.AllLabels, d.Labels)
		}
	}
}

func TestResultRecordMetadataSerializerType(t *testing.T) {
	for raw, want := range map[string]string{
		`{"storage_key":"/s/k","serializer":{"type":"json"}}`:                             "json",
		`{"storage_key":"/s/k","serializer":{"type":"pickle","picklelib":"cloudpickle"}}`: "pickle",
		`{"storage_key":"/s/k"}`: "",
	} {
		var m ResultRecordMetadata
		if err := json.Unmarshal([]byte(raw), &m); err != nil || m.SerializerType() != want {
			t.Errorf("%s: %q (%v), want %q", raw, m.SerializerType(), err, want)
		}
	}
}
