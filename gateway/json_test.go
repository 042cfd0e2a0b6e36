package gateway

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"airflow-prefect-gateway/prefect"
)

// Every kind of answer leaves through the one writer: c.JSON (a DAG), a page written from
// Prefect's bytes (runs), a problem. In the default format each is Airflow's text; compact
// keeps the handlers' own bytes.
func TestJSONFormat(t *testing.T) {
	p := newDAGsPrefect(t)
	p.add("etl", "daily", false, "warehouse")
	tests := []struct {
		name, format, path string
		status             int
		contentType, want  string // want: a line of the body, or its start
	}{
		{"c.JSON, airflow", "", "/api/v1/dags/etl.daily?fields=dag_id,is_paused", 200, "application/json",
			"{\n  \"dag_id\": \"etl.daily\",\n  \"is_paused\": false\n}\n"},
		{"c.JSON, compact", "compact", "/api/v1/dags/etl.daily?fields=is_paused,dag_id", 200, "application/json",
			`{"dag_id":"etl.daily","is_paused":false}`},
		{"problem, airflow", "airflow", "/api/v1/dags/nope", 404, "application/problem+json",
			"{\n  \"detail\": "},
		{"problem, compact", "compact", "/api/v1/dags/nope", 404, "application/problem+json", `{"detail":"The DAG with dag_id: nope was not found","status":404,`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newDAGsServer(t, p, func(o *Options) { o.JSONFormat = tt.format })
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				req, rec := newRecorded(method, tt.path)
				s.Handler().ServeHTTP(rec, req)
				body := rec.Body.String()
				if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.contentType {
					t.Fatalf("%s: %d %q: %s", method, rec.Code, rec.Header().Get("Content-Type"), body)
				}
				if method == http.MethodHead {
					if body != "" {
						t.Errorf("HEAD has a body: %q", body)
					}
					continue
				}
				if !strings.HasPrefix(body, tt.want) {
					t.Errorf("body %q, want it to start with %q", body, tt.want)
				}
				if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(body)) {
					t.Errorf("Content-Length %s for %d bytes", got, len(body))
				}
			}
		})
	}
	if _, err := New(Options{Prefect: mustClient(t, p.srv.URL), JSONFormat: "pretty"}); err == nil {
		t.Error("an unknown JSON format was accepted")
	}
}

func newRecorded(method, path string) (*http.Request, *httptest.ResponseRecorder) {
	return httptest.NewRequest(method, path, nil), httptest.NewRecorder()
}

func mustClient(t *testing.T, url string) *prefect.Client {
	t.Helper()
	c, err := prefect.New(prefect.Options{BaseURL: url + "/api", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
