package translate

import "testing"

func TestSensitiveNames(t *testing.T) {
	s := NewSensitive([]string{" dsn ", ""})
	for name, want := range map[string]bool{
		"password": true, "DB_PASSWORD": true, " My_Api_Key": true, "aws_secret_access_key": true,
		"slack_token": true, "host": false, "dsn_url": true, "login": false, "": false,
	} {
		if got := s.Hides(name); got != want {
			t.Errorf("Hides(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRedactJSONText(t *testing.T) {
	s := NewSensitive(nil)
	cases := []struct{ in, want string }{
		{`{"a":1,"password":"p","nested":{"api_key":"k","x":"y"}}`, `{"a": 1, "password": "***", "nested": {"api_key": "***", "x": "y"}}`},
		{`{"token":{"inner":"v","n":3},"list":["a",{"secret":"s"}]}`, `{"token": {"inner": "***", "n": 3}, "list": ["a", {"secret": "***"}]}`},
		{`{"password":123,"passwd":null}`, `{"password": 123, "passwd": null}`},
		{`{"f":1.5,"g":1e20,"h":0.00001,"i":100.0,"j":-0}`, `{"f": 1.5, "g": 1e+20, "h": 1e-05, "i": 100.0, "j": 0}`},
		{`{"u":"é€😀","q":"a\"b\\c\n"}`, `{"u": "\u00e9\u20ac\ud83d\ude00", "q": "a\"b\\c\n"}`},
		{`{"a":1,"a":2,"b":3}`, `{"a": 2, "b": 3}`},
		{`not json`, `not json`},
		{`{"a":1} trailing`, `{"a":1} trailing`},
		{`[]`, `[]`},
	}
	for _, tc := range cases {
		if got := s.RedactJSONText(tc.in); got != tc.want {
			t.Errorf("RedactJSONText(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestPyJSONIndent(t *testing.T) {
	v := PyObject{{"sections", []any{PyObject{{"name", "core"}, {"options", []any{PyObject{{"key", "k"}, {"value", "é"}}}}}}}}
	want := "{\n    \"sections\": [\n        {\n            \"name\": \"core\",\n            \"options\": [\n" +
		"                {\n                    \"key\": \"k\",\n                    \"value\": \"\\u00e9\"\n                }\n" +
		"            ]\n        }\n    ]\n}"
	if got := PyJSONIndent(v, 4); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := PyJSONIndent(PyObject{{"sections", []any{}}}, 4); got != "{\n    \"sections\": []\n}" {
		t.Errorf("empty list: %q", got)
	}
}
