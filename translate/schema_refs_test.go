package translate

import (
	"encoding/json"
	"strings"
	"testing"
)

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// DAG details' params carry each parameter's schema with its references resolved (issue 21).
func TestParamsResolveSchemaReferences(t *testing.T) {
	schema := decodeJSON(t, `{
	  "type": "object",
	  "properties": {
	    "config": {"$ref": "#/definitions/Config", "description": "how to run", "default": {"size": 1}},
	    "mode": {"allOf": [{"$ref": "#/definitions/Mode"}], "title": "Mode"},
	    "tree": {"$ref": "#/$defs/Node"},
	    "remote": {"$ref": "https://example.com/schema.json", "type": "string"},
	    "plain": {"type": "integer", "default": 3}
	  },
	  "definitions": {
	    "Config": {"type": "object", "title": "Config", "properties": {"size": {"type": "integer"}, "mode": {"$ref": "#/definitions/Mode"}}},
	    "Mode": {"type": "string", "enum": ["fast", "safe"], "title": "Mode"}
	  },
	  "$defs": {
	    "Node": {"type": "object", "title": "Node", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
	  }
	}`)
	got := Params(nil, schema)
	raw, _ := json.Marshal(got)
	if strings.Contains(string(raw), "$ref") {
		t.Errorf("a reference is left in params: %s", raw)
	}
	want := map[string]string{
		"config": `{"default":{"size":1},"description":"how to run","properties":{"mode":{"enum":["fast","safe"],"title":"Mode","type":"string"},"size":{"type":"integer"}},"title":"Config","type":"object"}`,
		"mode":   `{"allOf":[{"enum":["fast","safe"],"title":"Mode","type":"string"}],"title":"Mode"}`,
		"tree":   `{"properties":{"children":{"items":{"title":"Node","type":"object"},"type":"array"}},"title":"Node","type":"object"}`,
		"remote": `{"type":"string"}`,
		"plain":  `{"default":3,"type":"integer"}`,
	}
	for name, w := range want {
		p := got[name].(map[string]any)
		s, _ := json.Marshal(p["schema"])
		if string(s) != w {
			t.Errorf("%s: schema %s\nwant %s", name, s, w)
		}
	}
	if d := got["config"].(map[string]any)["description"]; d != "how to run" {
		t.Errorf("config's description = %v", d)
	}
	if v, _ := json.Marshal(got["config"].(map[string]any)["value"]); string(v) != `{"size":1}` {
		t.Errorf("config's value = %s", v)
	}
}

// Definitions that refer to each other many times over stay bounded.
func TestParamsSchemaReferencesAreBounded(t *testing.T) {
	defs := map[string]any{}
	for i := 0; i < 40; i++ { // D0 → 2× D1 → 4× D2 ...: 2^40 nodes if expanded naively
		next := map[string]any{"$ref": "#/definitions/D" + itoa(i+1)}
		defs["D"+itoa(i)] = map[string]any{"type": "object", "properties": map[string]any{"a": next, "b": next}}
	}
	schema := map[string]any{"properties": map[string]any{"p": map[string]any{"$ref": "#/definitions/D0"}}, "definitions": defs}
	raw, _ := json.Marshal(Params(nil, schema))
	if len(raw) > 2<<20 {
		t.Errorf("params of a self-multiplying schema are %d bytes", len(raw))
	}
	if strings.Contains(string(raw), "$ref") {
		t.Error("a reference is left")
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
