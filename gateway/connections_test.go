package gateway

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestConnectionCRUD(t *testing.T) {
	e := newRunsEnv(t)
	body := `{"connection_id":"postgres_default","conn_type":"postgres","host":"db","login":"u","password":"s3cret",` +
		`"schema":"wh","port":5432,"extra":"{\"sslmode\":\"require\",\"api_key\":\"k\"}","description":"main"}`
	a := e.do(http.MethodPost, "/connections", body)
	if a.status != 200 {
		t.Fatalf("post: %d %s", a.status, a.body)
	}
	got := a.object(t)
	if got["connection_id"] != "postgres_default" || got["port"] != float64(5432) || got["host"] != "db" {
		t.Errorf("post answer %v", got)
	}
	if _, ok := got["password"]; ok || strings.Contains(string(a.body), "s3cret") {
		t.Errorf("the answer holds the password: %s", a.body)
	}
	// Secret values of extra read ***, in Python's json.dumps spelling, as Airflow shows them.
	if got["extra"] != `{"sslmode": "require", "api_key": "***"}` {
		t.Errorf("extra %v", got["extra"])
	}
	// In Prefect: the password is a secret field of the block, stored but never shown.
	if s := e.fake.blockSecret("airflow-postgres-5fdefault", "password"); s != `"s3cret"` {
		t.Errorf("stored password %s", s)
	}
	if a = e.do(http.MethodPost, "/connections", body); a.status != 409 || a.problem(t).Detail != "Connection already exist. ID: postgres_default" {
		t.Errorf("duplicate: %d %s", a.status, a.body)
	}
	// PATCH with a mask writes that field only; the password stays.
	a = e.do(http.MethodPatch, "/connections/postgres_default?update_mask=host", `{"connection_id":"postgres_default","conn_type":"x","host":"db2"}`)
	if got := a.object(t); a.status != 200 || got["host"] != "db2" || got["conn_type"] != "postgres" || got["login"] != "u" {
		t.Fatalf("patch: %d %s", a.status, a.body)
	}
	if s := e.fake.blockSecret("airflow-postgres-5fdefault", "password"); s != `"s3cret"` {
		t.Errorf("password after patch %s", s)
	}
	// Without a mask: every field the body names.
	a = e.do(http.MethodPatch, "/connections/postgres_default", `{"connection_id":"postgres_default","conn_type":"postgresql","port":null,"password":"new"}`)
	if got := a.object(t); a.status != 200 || got["conn_type"] != "postgresql" || got["port"] != nil || got["host"] != "db2" {
		t.Fatalf("patch without mask: %d %s", a.status, a.body)
	}
	if s := e.fake.blockSecret("airflow-postgres-5fdefault", "password"); s != `"new"` {
		t.Errorf("password after the second patch %s", s)
	}
	a = e.do(http.MethodGet, "/connections", "")
	if l := a.object(t); l["total_entries"] != float64(1) || strings.Contains(string(a.body), "extra") {
		t.Errorf("list: %s", a.body)
	}
	if a = e.do(http.MethodDelete, "/connections/postgres_default", ""); a.status != 204 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodGet, "/connections/postgres_default", "")
	if p := a.problem(t); a.status != 404 || p.Title != "Connection not found" || p.Detail != "The Connection with connection_id: `postgres_default` was not found" {
		t.Errorf("get after delete: %d %+v", a.status, p)
	}
}

func TestConnectionErrorsWriteNothing(t *testing.T) {
	e := newRunsEnv(t)
	if a := e.do(http.MethodPost, "/connections", `{"connection_id":"kept","conn_type":"http"}`); a.status != 200 {
		t.Fatalf("seed: %d %s", a.status, a.body)
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		detail                   string
	}{
		{"missing fields", "POST", "/connections", `{"host":"h"}`, 400,
			"{'connection_id': ['Missing data for field.'], 'conn_type': ['Missing data for field.']}"},
		{"unknown field", "POST", "/connections", `{"connection_id":"c","conn_type":"t","bogus":1}`, 400, "{'bogus': ['Unknown field.']}"},
		{"bad id", "POST", "/connections", `{"connection_id":"a b","conn_type":"t"}`, 400,
			"The key 'a b' has to be made of alphanumeric characters, dashes, dots and underscores exclusively"},
		{"renaming patch", "PATCH", "/connections/kept", `{"connection_id":"other"}`, 400, "The connection_id cannot be updated."},
		{"mask on a field the body lacks", "PATCH", "/connections/kept?update_mask=host", `{"login":"l"}`, 400, "'host' is unknown or cannot be updated."},
		{"mask on the id", "PATCH", "/connections/kept?update_mask=connection_id", `{"connection_id":"kept"}`, 400,
			"'connection_id' is unknown or cannot be updated."},
		{"patch of a missing connection", "PATCH", "/connections/nope", `{"host":"h"}`, 404, "The Connection with connection_id: `nope` was not found"},
	}
	for _, tc := range cases {
		a := e.do(tc.method, tc.path, tc.body)
		if a.status != tc.status || a.problem(t).Detail != tc.detail {
			t.Errorf("%s: %d %s, want %d %q", tc.name, a.status, a.body, tc.status, tc.detail)
		}
	}
	if a := e.do(http.MethodGet, "/connections", ""); a.object(t)["total_entries"] != float64(1) {
		t.Errorf("a refused request wrote: %s", a.body)
	}
	if a := e.do(http.MethodGet, "/connections/kept", ""); a.object(t)["host"] != nil {
		t.Errorf("kept changed: %s", a.body)
	}
}

func TestTestConnection(t *testing.T) {
	e := newRunsEnv(t)
	// Airflow's own answer: plain text, not a problem; nothing reaches Prefect.
	e.fake.takeCalls()
	res, err := http.Post(e.url+"/connections/test", "application/json", strings.NewReader(`{"connection_id":"c","conn_type":"http"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || string(raw) != testConnectionDisabled || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("disabled: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), raw)
	}
	if calls := e.fake.takeCalls(); len(calls) != 0 {
		t.Errorf("disabled test called Prefect: %v", calls)
	}
	var a runsAnswer
	on := newRunsEnv(t, func(o *Options) { o.TestConnection = "enabled" })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	a = on.do(http.MethodPost, "/connections/test", `{"connection_id":"c","conn_type":"http","host":"127.0.0.1","port":`+strconv.Itoa(port)+`}`)
	if got := a.object(t); a.status != 200 || got["status"] != true {
		t.Errorf("reachable: %d %s", a.status, a.body)
	}
	ln.Close()
	a = on.do(http.MethodPost, "/connections/test", `{"connection_id":"c","conn_type":"http","host":"127.0.0.1","port":`+strconv.Itoa(port)+`}`)
	if got := a.object(t); a.status != 200 || got["status"] != false {
		t.Errorf("unreachable: %d %s", a.status, a.body)
	}
	if a := on.do(http.MethodPost, "/connections/test", `{"conn_type":"http"}`); a.status != 400 {
		t.Errorf("bad body: %d %s", a.status, a.body)
	}
}

func TestConnectionCallBudget(t *testing.T) {
	e := newRunsEnv(t)
	cases := []struct {
		name, method, path, body string
		status                   int
		calls                    []string
	}{
		{"first create registers the block type", "POST", "/connections", `{"connection_id":"c1","conn_type":"http"}`, 200,
			[]string{"GET /block_types/slug/airflow-connection", "POST /block_types/", "POST /block_schemas/", "POST /block_documents/"}},
		{"create", "POST", "/connections", `{"connection_id":"c2","conn_type":"http"}`, 200, []string{"POST /block_documents/"}},
		{"list", "GET", "/connections", "", 200, []string{"POST /block_documents/filter"}},
		{"get", "GET", "/connections/c1", "", 200, []string{"GET /block_types/slug/airflow-connection/block_documents/name/c1"}},
		{"patch", "PATCH", "/connections/c1", `{"host":"h"}`, 200,
			[]string{"GET /block_types/slug/airflow-connection/block_documents/name/c1", "PATCH /block_documents/{id}"}},
		{"delete", "DELETE", "/connections/c1", "", 204,
			[]string{"GET /block_types/slug/airflow-connection/block_documents/name/c1", "DELETE /block_documents/{id}"}},
		{"refused body", "POST", "/connections", `{}`, 400, nil},
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
