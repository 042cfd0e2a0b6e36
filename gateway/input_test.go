package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// Nothing a client sends is dropped or repaired: an undecodable query or a body that is not
// exact UTF-8 JSON is a 400, before any Prefect call (issue 12, items 5 and 6).
func TestUndecodableQueryIsRefused(t *testing.T) {
	p := newDAGsPrefect(t)
	p.add("etl", "daily", false, "warehouse")
	p.add("etl", "hourly", false)
	s := newDAGsServer(t, p)
	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		{"bulk pause with a broken limit", "PATCH", "/api/v1/dags?dag_id_pattern=~&limit=1%zz", `{"is_paused": true}`, 400},
		{"bulk pause with a broken tag", "PATCH", "/api/v1/dags?dag_id_pattern=~&tags=nomatch%zz", `{"is_paused": true}`, 400},
		{"list with a broken tag", "GET", "/api/v1/dags?tags=nomatch%zz", "", 400},
		{"a broken parameter name", "GET", "/api/v1/dags?%zz=1", "", 400},
		{"a value that is not UTF-8", "GET", "/api/v1/dags?dag_id_pattern=%c3%28", "", 400},
		{"a broken query on an open route", "GET", "/api/v1/health?x=%", "", 400},
	}
	for _, tc := range cases {
		p.resetCalls()
		a := dagsDo(s, tc.method, tc.path, tc.body)
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, a.status, tc.status, a.body)
			continue
		}
		if pr := a.problem(t); !strings.Contains(pr.Detail, "query string") {
			t.Errorf("%s: detail %q does not say what was wrong", tc.name, pr.Detail)
		}
		if n := p.totalCalls(); n != 0 {
			t.Errorf("%s: %d Prefect calls, want none", tc.name, n)
		}
	}
	for _, d := range p.deployments {
		if p.paused(d.ID) {
			t.Errorf("deployment %s was paused by a refused request", d.Name)
		}
	}
	// A ';' is part of the value, as in Airflow: this pattern matches nothing, and is not
	// dropped to match everything.
	a := dagsDo(s, "GET", "/api/v1/dags?dag_id_pattern=etl;x", "")
	var page dagsPage
	a.decode(t, &page)
	if a.status != 200 || page.TotalEntries != 0 {
		t.Errorf("dag_id_pattern=etl;x: %d, %d DAGs, want 200 and none: %s", a.status, page.TotalEntries, a.body)
	}
}

func TestBodyThatIsNotExactUTF8IsRefused(t *testing.T) {
	e := newRunsEnv(t)
	cases := []struct {
		name, body string
		status     int
	}{
		{"invalid UTF-8", "{\"conf\":{\"k\":\"\xc3\x28\"}}", 400},
		{"a lone high surrogate escape", `{"conf":{"k":"\ud800"}}`, 400},
		{"a lone low surrogate escape", `{"conf":{"k":"x\udc00y"}}`, 400},
		{"a high surrogate before another escape", `{"conf":{"k":"\ud800\u0041"}}`, 400},
		{"a surrogate pair", `{"dag_run_id":"pair","conf":{"k":"\ud83d\ude00"}}`, 200},
		{"an escaped backslash before u", `{"dag_run_id":"bs","conf":{"k":"\\ud800"}}`, 200},
	}
	for _, tc := range cases {
		e.fake.takeCalls()
		a := e.do(http.MethodPost, "/dags/etl.daily/dagRuns", tc.body)
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, a.status, tc.status, a.body)
		}
		if tc.status == 400 {
			if calls := e.fake.takeCalls(); len(calls) != 0 {
				t.Errorf("%s: Prefect was called: %v", tc.name, calls)
			}
		}
	}
	if n := e.fake.runCount(); n != 2 {
		t.Errorf("%d runs made, want the 2 valid ones", n)
	}
}

func TestInvalidJSONText(t *testing.T) {
	cases := []struct {
		in string
		at int
	}{
		{`{"a":"b"}`, -1},
		{"{\"a\":\"\xff\"}", 6},
		{`{"a":"\ud800"}`, 6},
		{`{"a":"\udfff"}`, 6},
		{`{"a":"\ud800\udc00"}`, -1},
		{`{"a":"\\ud800"}`, -1},
		{`{"a":"\\\ud800"}`, 8},
		{`{"a":"\u00e9"}`, -1},
		{`"\ud800`, 1},
	}
	for _, tc := range cases {
		if at, _ := invalidJSONText([]byte(tc.in)); at != tc.at {
			t.Errorf("invalidJSONText(%q) = %d, want %d", tc.in, at, tc.at)
		}
	}
}
