package translate

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseTime: any string either parses into a UTC instant that survives a round trip
// through Airflow's own format, or is refused; never a panic.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-05-01T00:00:00+00:00", "2024-05-01T00:00:00Z", "2024-05-01 12:30:00.123456+02:00",
		"2024-05-01T00:00:00 00:00", "2024-05-01T00:00:00", "2024-13-01T00:00:00Z", "", " ", "0000-01-01T00:00:00-23:59",
		"9999-12-31T23:59:59.999999999+14:00", "2024-05-01T00:00:00+0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTime(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		if ts.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) = %v, not in UTC", s, ts)
		}
		back, err := ParseTime(FormatTime(ts))
		if err != nil {
			t.Fatalf("FormatTime(%v) = %q does not parse back: %v", ts, FormatTime(ts), err)
		}
		// Airflow's format keeps microseconds.
		if !back.Equal(ts.Truncate(time.Microsecond)) {
			t.Fatalf("round trip of %q: %v became %v", s, ts, back)
		}
	})
}

// FuzzParseOrderBy: only allow-listed fields come out, with the direction the "-" says, and a
// refusal names the field in Airflow's words.
func FuzzParseOrderBy(f *testing.F) {
	for _, s := range []string{"", "id", "-id", "--id", "-", " -start_date ", "conf", "-updated_at", "dag_run_id; drop", "\x00", "ÿ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		o, err := ParseOrderBy(v, "id", DAGRunOrderFields)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Ordering with '") {
				t.Fatalf("refusal %q is not Airflow's message", err)
			}
			return
		}
		allowed := false
		for _, a := range DAGRunOrderFields {
			allowed = allowed || a == o.Field
		}
		if !allowed {
			t.Fatalf("ParseOrderBy(%q) let %q through", v, o.Field)
		}
		trimmed := strings.TrimSpace(v)
		if trimmed != "" && o.Desc != strings.HasPrefix(trimmed, "-") {
			t.Fatalf("ParseOrderBy(%q) desc=%v", v, o.Desc)
		}
	})
}

// FuzzParseDAGRunListForm: any body of POST /dags/~/dagRuns/list parses into in-range paging
// or is an input error; never a panic.
func FuzzParseDAGRunListForm(f *testing.F) {
	for _, s := range []string{`{}`, `{"page_limit":5,"page_offset":10,"order_by":"-start_date","dag_ids":["a.b"],"states":["queued"]}`,
		`{"page_limit":0}`, `{"page_limit":-1}`, `{"execution_date_gte":"2024-01-01T00:00:00Z"}`, `{"dag_ids":"a"}`, `[]`, `{"x":1}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		q, err := ParseDAGRunListForm(body)
		if err != nil {
			if !utf8.ValidString(err.Error()) && utf8.Valid(body) {
				t.Fatalf("error message is not UTF-8: %q", err)
			}
			return
		}
		if q.Page.Limit < 1 || q.Page.Offset < 0 {
			t.Fatalf("page %+v out of range", q.Page)
		}
	})
}
