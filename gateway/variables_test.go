package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type variableJSON struct {
	Key         string  `json:"key"`
	Value       string  `json:"value"`
	Description *string `json:"description"`
}

func (a runsAnswer) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not a JSON object (%v): %s", err, a.body)
	}
	return m
}

func TestVariableCRUD(t *testing.T) {
	e := newRunsEnv(t)
	// Create: a key outside Prefect's alphabet is stored encoded.
	a := e.do(http.MethodPost, "/variables", `{"key":"MY_VAR","value":"{\"a\": 1}","description":"d"}`)
	if a.status != 200 {
		t.Fatalf("post: %d %s", a.status, a.body)
	}
	if got := a.object(t); got["key"] != "MY_VAR" || got["value"] != `{"a": 1}` || got["description"] != "d" {
		t.Errorf("post answer %v", got)
	}
	pv := e.fake.prefectVariable("airflow--4d-59_-56-41-52")
	if pv == nil || string(pv.Value) != `"{\"a\": 1}"` || len(pv.Tags) != 1 || pv.Tags[0] != "airflow-description:d" {
		t.Fatalf("stored as %+v", pv)
	}
	// Read back exactly.
	var v variableJSON
	a = e.do(http.MethodGet, "/variables/MY_VAR", "")
	if err := json.Unmarshal(a.body, &v); err != nil || a.status != 200 || v.Value != `{"a": 1}` || v.Description == nil || *v.Description != "d" {
		t.Fatalf("get: %d %s", a.status, a.body)
	}
	// A POST without a description keeps no description in the answer (Airflow dumps the
	// loaded body) and clears the stored one (Airflow's Variable.set replaces the row).
	a = e.do(http.MethodPost, "/variables", `{"key":"MY_VAR","value":"2"}`)
	if got := a.object(t); a.status != 200 || len(got) != 2 {
		t.Fatalf("overwrite: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodGet, "/variables/MY_VAR", "")
	if got := a.object(t); got["value"] != "2" || got["description"] != nil {
		t.Errorf("after overwrite: %s", a.body)
	}
	// PATCH with a mask writes only what the mask names.
	a = e.do(http.MethodPatch, "/variables/MY_VAR?update_mask=description", `{"key":"MY_VAR","value":"ignored","description":"new"}`)
	if got := a.object(t); a.status != 200 || got["value"] != "2" || got["description"] != "new" {
		t.Fatalf("patch description: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodPatch, "/variables/MY_VAR?update_mask=val", `{"key":"MY_VAR","value":"3"}`)
	if got := a.object(t); a.status != 200 || got["value"] != "3" || got["description"] != "new" {
		t.Fatalf("patch val: %d %s", a.status, a.body)
	}
	// Without a mask: value and (when named) description.
	a = e.do(http.MethodPatch, "/variables/MY_VAR", `{"key":"MY_VAR","value":"4"}`)
	if got := a.object(t); a.status != 200 || got["value"] != "4" || got["description"] != "new" {
		t.Fatalf("patch: %d %s", a.status, a.body)
	}
	if a = e.do(http.MethodDelete, "/variables/MY_VAR", ""); a.status != 204 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a = e.do(http.MethodGet, "/variables/MY_VAR", ""); a.status != 404 {
		t.Fatalf("get after delete: %d", a.status)
	}
	if p := a.problem(t); p.Title != "Variable not found" || p.Detail != "Variable does not exist" {
		t.Errorf("404: %+v", p)
	}
}

func TestVariableErrorsWriteNothing(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.addVariable("kept", `"v"`)
	cases := []struct {
		name, method, path, body string
		status                   int
		title, detail            string
	}{
		{"missing key and value", "POST", "/variables", `{}`, 400, "Invalid Variable schema",
			"{'key': ['Missing data for field.'], 'value': ['Missing data for field.']}"},
		{"unknown field", "POST", "/variables", `{"key":"k","value":"v","bogus":1}`, 400, "Invalid Variable schema",
			"{'bogus': ['Unknown field.']}"},
		{"null description", "POST", "/variables", `{"key":"k","value":"v","description":null}`, 400, "Invalid Variable schema",
			"{'description': ['Field may not be null.']}"},
		{"key too long for Prefect", "POST", "/variables", `{"key":"` + strings.Repeat("A", 100) + `","value":"v"}`, 400, "Bad Request", ""},
		{"patch of another key", "PATCH", "/variables/kept", `{"key":"other","value":"v"}`, 400, "Invalid post body",
			"key from request body doesn't match uri parameter"},
		{"mask naming value (Airflow 2.10 wants val)", "PATCH", "/variables/kept?update_mask=value", `{"key":"kept","value":"x"}`, 400,
			"Bad Request", "'value' is unknown or cannot be updated."},
		{"mask naming key", "PATCH", "/variables/kept?update_mask=key", `{"key":"kept","value":"x"}`, 400,
			"Bad Request", "'key' is unknown or cannot be updated."},
		{"patch of a missing variable", "PATCH", "/variables/nope", `{"key":"nope","value":"x"}`, 404,
			"Variable not found", "Variable does not exist"},
		{"delete of a missing variable", "DELETE", "/variables/nope", ``, 404, "Variable not found", ""},
		{"value of the wrong type", "POST", "/variables", `{"key":"k","value":1}`, 400, "Bad Request", ""},
		{"order_by outside the list", "GET", "/variables?order_by=description", ``, 400, "Bad Request",
			"Ordering with 'description' is disallowed or the attribute does not exist on the model"},
	}
	for _, tc := range cases {
		a := e.do(tc.method, tc.path, tc.body)
		if a.status != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.name, a.status, tc.status, a.body)
			continue
		}
		p := a.problem(t)
		if p.Title != tc.title || (tc.detail != "" && p.Detail != tc.detail) {
			t.Errorf("%s: %q / %q, want %q / %q", tc.name, p.Title, p.Detail, tc.title, tc.detail)
		}
	}
	if v := e.fake.prefectVariable("kept"); v == nil || string(v.Value) != `"v"` {
		t.Errorf("kept changed: %+v", v)
	}
	if e.fake.prefectVariable("k") != nil {
		t.Error("a refused create wrote a variable")
	}
}

func TestVariableListing(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.addVariable("b_plain", `"x"`)
	e.fake.addVariable("a_password", `"hunter2"`) // secret-looking: masked in the listing
	e.fake.addVariable("c_json", `{"n":1}`)       // made in Prefect: its JSON text
	e.fake.addVariable("airflow-env-2eprod", `"p"`, "team", "airflow-description:prod env")

	list := func(query string) (keys, values []string, total int) {
		t.Helper()
		a := e.do(http.MethodGet, "/variables"+query, "")
		var c struct {
			Variables []variableJSON `json:"variables"`
			Total     int            `json:"total_entries"`
		}
		if err := json.Unmarshal(a.body, &c); err != nil || a.status != 200 {
			t.Fatalf("list %s: %d %s", query, a.status, a.body)
		}
		for _, v := range c.Variables {
			keys, values = append(keys, v.Key), append(values, v.Value)
		}
		return keys, values, c.Total
	}
	keys, values, total := list("")
	if want := "b_plain a_password c_json env.prod"; strings.Join(keys, " ") != want || total != 4 {
		t.Errorf("default (id) order %v total %d, want %s", keys, total, want)
	}
	if strings.Join(values, " ") != `x *** {"n":1} p` {
		t.Errorf("values %v", values)
	}
	if keys, _, _ := list("?order_by=-key&limit=2&offset=1"); strings.Join(keys, " ") != "c_json b_plain" {
		t.Errorf("-key page %v", keys)
	}
	// One variable read by key shows its value.
	if a := e.do(http.MethodGet, "/variables/a_password", ""); !strings.Contains(string(a.body), "hunter2") {
		t.Errorf("get a_password: %s", a.body)
	}
	// A Prefect JSON value keeps its type when written with JSON; tags other than the
	// description's survive.
	if a := e.do(http.MethodPatch, "/variables/c_json", `{"key":"c_json","value":"{\"n\": 2}"}`); a.status != 200 {
		t.Fatalf("patch c_json: %d %s", a.status, a.body)
	}
	if v := e.fake.prefectVariable("c_json"); string(v.Value) != `{"n":2}` {
		t.Errorf("c_json stored as %s", v.Value)
	}
	if a := e.do(http.MethodPatch, "/variables/env.prod?update_mask=description", `{"key":"env.prod","value":"p","description":"d2"}`); a.status != 200 {
		t.Fatalf("patch env.prod: %d %s", a.status, a.body)
	}
	if v := e.fake.prefectVariable("airflow-env-2eprod"); strings.Join(v.Tags, ",") != "team,airflow-description:d2" {
		t.Errorf("tags %v", v.Tags)
	}
}

func TestVariableCallBudget(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.addVariable("v1", `"x"`)
	cases := []struct {
		name, method, path, body string
		status                   int
		calls                    []string
	}{
		{"list", "GET", "/variables", "", 200, []string{"POST /variables/filter"}},
		{"get", "GET", "/variables/v1", "", 200, []string{"GET /variables/name/v1"}},
		{"create", "POST", "/variables", `{"key":"v2","value":"y"}`, 200, []string{"POST /variables/"}},
		{"overwrite", "POST", "/variables", `{"key":"v2","value":"z"}`, 200,
			[]string{"POST /variables/", "GET /variables/name/v2", "PATCH /variables/name/v2"}},
		{"patch", "PATCH", "/variables/v1", `{"key":"v1","value":"w"}`, 200,
			[]string{"GET /variables/name/v1", "PATCH /variables/name/v1"}},
		{"patch with a bad mask (read first, as Airflow)", "PATCH", "/variables/v1?update_mask=value", `{"key":"v1","value":"w"}`, 400,
			[]string{"GET /variables/name/v1"}},
		{"refused body", "POST", "/variables", `{"key":"v3"}`, 400, nil},
		{"delete", "DELETE", "/variables/v1", "", 204, []string{"DELETE /variables/name/v1"}},
	}
	for _, tc := range cases {
		e.fake.takeCalls()
		a := e.do(tc.method, tc.path, tc.body)
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, a.status, tc.status, a.body)
			continue
		}
		if got := normalizeCalls(e.fake.takeCalls()); !sameMultiset(got, tc.calls) {
			t.Errorf("%s: Prefect calls %v, budget %v", tc.name, got, tc.calls)
		}
	}
}
