package translate

import (
	"encoding/json"
	"testing"
)

// Expected values are what CPython 3.11 prints (repr of a str; str of json.loads).
func TestPyRepr(t *testing.T) {
	strs := []struct{ in, want string }{
		{"plain", "'plain'"}, {"it's", `"it's"`}, {`say "hi"`, `'say "hi"'`}, {`both ' and "`, `'both \' and "'`},
		{"tab\tnl\ncr\rbs\\", `'tab\tnl\ncr\rbs\\'`}, {"\x00\x1f\x7f", `'\x00\x1f\x7f'`}, {"é ü 日本", "'é ü 日本'"},
		{"\u200b\u2028", `'\u200b\u2028'`}, {"\U0001F600", "'\U0001F600'"}, {"\ud7ff", `'\ud7ff'`},
	}
	for _, tc := range strs {
		if got := string(AppendPyStr(nil, tc.in, PyQuote(tc.in))); got != tc.want {
			t.Errorf("repr(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	vals := []struct{ in, want string }{
		{`{"a": 1, "b": [1.5, 2.0, 1e16, 1e-05, 0.0001, 123456789012345678901234567890, true, false, null], "c'": "x'y"}`,
			`{'a': 1, 'b': [1.5, 2.0, 1e+16, 1e-05, 0.0001, 123456789012345678901234567890, True, False, None], "c'": "x'y"}`},
		{"42", "42"}, {`"text"`, "text"}, {"3.14", "3.14"}, {"[]", "[]"}, {"{}", "{}"}, {"-0.0", "-0.0"}, {"1E400", "inf"},
	}
	for _, tc := range vals {
		got, err := PyStr(json.RawMessage(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("str(json.loads(%s)) = %s (%v), want %s", tc.in, got, err, tc.want)
		}
	}
}

func FuzzPyStr(f *testing.F) {
	f.Add(`{"a": [1, "x", null]}`)
	f.Add(`"é"`)
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		_, _ = PyStr(json.RawMessage(s)) // never panics on valid JSON
	})
}
