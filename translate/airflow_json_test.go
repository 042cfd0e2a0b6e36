package translate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// The expected texts are Python 3.11's json.dumps(json.loads(in), indent=2, sort_keys=True)
// and, for compact, separators=(",", ":").
func TestAppendPythonJSON(t *testing.T) {
	tests := []struct {
		name, in, indented, compact string
	}{
		{"empty object", `{}`, `{}`, `{}`},
		{"empty array", ` [ ] `, `[]`, `[]`},
		{"nested, unsorted", `{"b":1,"a":[1,2,{}],"c":{"z":null,"y":true}}`,
			"{\n  \"a\": [\n    1,\n    2,\n    {}\n  ],\n  \"b\": 1,\n  \"c\": {\n    \"y\": true,\n    \"z\": null\n  }\n}",
			`{"a":[1,2,{}],"b":1,"c":{"y":true,"z":null}}`},
		{"escapes as ensure_ascii", `"caf\u00e9 <&> \u2028 \ud83d\ude00 \u007f / \t\"\\"`,
			`"caf\u00e9 <&> \u2028 \ud83d\ude00 \u007f / \t\"\\"`, `"caf\u00e9 <&> \u2028 \ud83d\ude00 \u007f / \t\"\\"`},
		{"raw UTF-8 and Go's HTML escapes", `"café \u003c😀"`, `"caf\u00e9 <\ud83d\ude00"`, `"caf\u00e9 <\ud83d\ude00"`},
		{"numbers verbatim", `{"conf":{"x":1.0,"big":12345678901234567890,"e":1e+21},"empty":[],"n":[[]]}`,
			"{\n  \"conf\": {\n    \"big\": 12345678901234567890,\n    \"e\": 1e+21,\n    \"x\": 1.0\n  },\n  \"empty\": [],\n  \"n\": [\n    []\n  ]\n}",
			`{"conf":{"big":12345678901234567890,"e":1e+21,"x":1.0},"empty":[],"n":[[]]}`},
		{"keys by code point, escaped keys decoded", `{"\u00e9":1,"e":2,"Z":3,"a":4}`,
			"{\n  \"Z\": 3,\n  \"a\": 4,\n  \"e\": 2,\n  \"\\u00e9\": 1\n}", `{"Z":3,"a":4,"e":2,"\u00e9":1}`},
		{"control bytes", `"a\u0001b\u001f\r\n\b\f"`, `"a\u0001b\u001f\r\n\b\f"`, `"a\u0001b\u001f\r\n\b\f"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendPythonJSON(nil, []byte(tt.in), true)
			if err != nil || string(got) != tt.indented {
				t.Errorf("indented = %q, %v; want %q", got, err, tt.indented)
			}
			got, err = AppendPythonJSON([]byte("x"), []byte(tt.in), false)
			if err != nil || string(got) != "x"+tt.compact {
				t.Errorf("compact = %q, %v; want %q", got, err, "x"+tt.compact)
			}
		})
	}
}

func TestAppendAirflowJSONNewlineAndErrors(t *testing.T) {
	got, err := AppendAirflowJSON(nil, []byte(`{"state":"success"}`))
	if err != nil || string(got) != "{\n  \"state\": \"success\"\n}\n" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{``, `{`, `{"a":}`, `[1,]`, `{} {}`, `"\x01"`, `nul`} {
		got, err := AppendPythonJSON([]byte("keep"), []byte(bad), true)
		if err == nil || string(got) != "keep" {
			t.Errorf("%q: got %q, %v; want ErrNotJSON and dst untouched", bad, got, err)
		}
	}
}

func FuzzAppendPythonJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"b":[1,{"d":2,"c":"é"}],"a":null}`, `"\ud83d\ude00<"`, `[1.5e3,-0,true]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, indent := range []bool{true, false} {
			out, err := AppendPythonJSON(nil, in, indent)
			if !json.Valid(in) {
				if err == nil {
					t.Fatalf("accepted invalid JSON %q", in)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused valid JSON %q", in)
			}
			for _, c := range out {
				if c >= 0x7f || (c < 0x20 && c != '\n') {
					t.Fatalf("non-ASCII or control byte %#x in %q", c, out)
				}
			}
			var a, b any
			da, db := json.NewDecoder(bytes.NewReader(in)), json.NewDecoder(bytes.NewReader(out))
			da.UseNumber()
			db.UseNumber()
			if da.Decode(&a) != nil || db.Decode(&b) != nil {
				t.Fatalf("output %q does not decode", out)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("value changed: %q → %q", in, out)
			}
			again, err := AppendPythonJSON(nil, out, indent)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("not idempotent: %q → %q", out, again)
			}
		}
	})
}
