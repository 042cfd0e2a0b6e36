package gateway

import (
	"encoding/json"
	"github.com/getkin/kin-openapi/openapi3"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"

	"airflow-prefect-gateway/spec"
)

// echoed is what the stub handlers answer: what reached them after validation.
type echoed struct {
	Route    string `json:"route"`
	RawQuery string `json:"raw_query"`
	Body     string `json:"body"`
}

// validationApp routes every operation of the document to a stub handler behind the
// validation middleware, as s.route does (auth is not part of this test).
func validationApp(t testing.TB) *echo.Echo {
	t.Helper()
	s := &Server{log: zap.NewNop()}
	e := echo.New()
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.BodyLimit("1K"))
	ops, err := spec.Operations()
	if err != nil {
		t.Fatal(err)
	}
	stub := func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, echoed{Route: c.Path(), RawQuery: c.Request().URL.RawQuery, Body: string(b)})
	}
	for _, op := range ops {
		e.Add(op.Method, apiPrefix+EchoPath(op.Path), stub, s.validateRequest)
	}
	// A route outside the document passes through untouched.
	e.Add(http.MethodGet, apiPrefix+"/not-in-spec", stub, s.validateRequest)
	return e
}

const jsonCT = "application/json"

func TestValidateRequest(t *testing.T) {
	e := validationApp(t)
	tests := []struct {
		name         string
		method, url  string
		contentType  string
		body         string
		wantStatus   int
		wantDetail   string // exact, for failures
		wantContains string // substring of the detail, when the exact text is not the point
	}{
		// Valid requests reach the handler unchanged.
		{name: "list dags, no query", method: "GET", url: "/api/v1/dags", wantStatus: 200},
		{name: "list dags, every parameter", method: "GET",
			url:        "/api/v1/dags?limit=10&offset=0&order_by=-dag_id&tags=a&tags=b&only_active=True&paused=false&fields=dag_id&fields=tags&dag_id_pattern=etl",
			wantStatus: 200},
		{name: "run filters", method: "GET",
			url:        "/api/v1/dags/~/dagRuns?execution_date_gte=2024-05-01T00:00:00%2B00:00&end_date_lte=2024-05-01T00:00:00.123456Z&state=running&state=failed&order_by=id",
			wantStatus: 200},
		{name: "order_by is a path-item parameter of get_tasks", method: "GET", url: "/api/v1/dags/etl.daily/tasks?order_by=task_id", wantStatus: 200},
		{name: "comma-separated update_mask", method: "PATCH", url: "/api/v1/dags/etl.daily?update_mask=is_paused,tags",
			contentType: jsonCT, body: `{"is_paused": true}`, wantStatus: 200},
		{name: "is_paused is nullable", method: "PATCH", url: "/api/v1/dags/etl.daily", contentType: jsonCT, body: `{"is_paused": null}`, wantStatus: 200},
		{name: "bulk patch", method: "PATCH", url: "/api/v1/dags?dag_id_pattern=~&update_mask=is_paused", contentType: jsonCT,
			body: `{"is_paused": false}`, wantStatus: 200},
		{name: "trigger", method: "POST", url: "/api/v1/dags/etl.daily/dagRuns", contentType: "application/json; charset=utf-8",
			body: `{"dag_run_id": "r1", "logical_date": "2024-05-01T00:00:00+00:00", "conf": {"a": [1, 2]}, "note": "hi"}`, wantStatus: 200},
		{name: "trigger with nulls", method: "POST", url: "/api/v1/dags/etl.daily/dagRuns", contentType: jsonCT,
			body: `{"dag_run_id": null, "logical_date": null, "note": null}`, wantStatus: 200},
		{name: "batch", method: "POST", url: "/api/v1/dags/~/dagRuns/list", contentType: jsonCT,
			body: `{"dag_ids": ["a", "b"], "states": ["failed"], "page_limit": 5, "page_offset": 0, "start_date_gte": "2024-05-01T00:00:00Z"}`, wantStatus: 200},
		{name: "clear with an empty object", method: "POST", url: "/api/v1/dags/d/dagRuns/r/clear", contentType: jsonCT, body: `{}`, wantStatus: 200},
		{name: "problem+json style body type", method: "PATCH", url: "/api/v1/dags/d/dagRuns/r/setNote", contentType: "application/merge-patch+json",
			body: `{"note": "n"}`, wantStatus: 200},
		{name: "delete", method: "DELETE", url: "/api/v1/dags/d/dagRuns/r", wantStatus: 200},
		{name: "route outside the document", method: "GET", url: "/api/v1/not-in-spec?anything=1", wantStatus: 200},

		// Unknown query parameters, worded as Airflow does.
		{name: "extra query parameter", method: "GET", url: "/api/v1/dags?foo=1", wantStatus: 400,
			wantDetail: "Extra query parameter(s) foo not in spec"},
		{name: "extra query parameters, sorted", method: "GET", url: "/api/v1/dags?zeta=1&limit=5&alpha=2", wantStatus: 400,
			wantDetail: "Extra query parameter(s) alpha, zeta not in spec"},
		{name: "limit is not a tasks parameter", method: "GET", url: "/api/v1/dags/d/tasks?limit=1", wantStatus: 400,
			wantDetail: "Extra query parameter(s) limit not in spec"},
		{name: "order_by is not a get_dag_run parameter", method: "GET", url: "/api/v1/dags/d/dagRuns/r?order_by=id", wantStatus: 400,
			wantDetail: "Extra query parameter(s) order_by not in spec"},
		{name: "query on delete", method: "DELETE", url: "/api/v1/dags/d/dagRuns/r?force=true", wantStatus: 400,
			wantDetail: "Extra query parameter(s) force not in spec"},

		// Wrong types, missing required parameters, schema failures in the query.
		{name: "limit not an integer", method: "GET", url: "/api/v1/dags?limit=abc", wantStatus: 400,
			wantDetail: "Wrong type, expected 'integer' for query parameter 'limit'"},
		{name: "limit empty", method: "GET", url: "/api/v1/dags?limit=", wantStatus: 400,
			wantDetail: "Wrong type, expected 'integer' for query parameter 'limit'"},
		{name: "limit fractional", method: "GET", url: "/api/v1/dags/d/dagRuns?limit=1.5", wantStatus: 400,
			wantDetail: "Wrong type, expected 'integer' for query parameter 'limit'"},
		{name: "paused not a boolean", method: "GET", url: "/api/v1/dags?paused=maybe", wantStatus: 400,
			wantDetail: "Wrong type, expected 'boolean' for query parameter 'paused'"},
		{name: "offset below minimum", method: "GET", url: "/api/v1/dags?offset=-1", wantStatus: 400,
			wantDetail: "Invalid query parameter 'offset': -1 is less than the minimum of 0"},
		{name: "date without offset", method: "GET", url: "/api/v1/dags/d/dagRuns?start_date_gte=2024-05-01T00:00:00", wantStatus: 400,
			wantDetail: `Invalid query parameter 'start_date_gte': "2024-05-01T00:00:00" is not a 'date-time'`},
		{name: "date not a date", method: "GET", url: "/api/v1/dags/~/dagRuns?updated_at_lte=yesterday", wantStatus: 400,
			wantDetail: `Invalid query parameter 'updated_at_lte': "yesterday" is not a 'date-time'`},
		{name: "required dag_id_pattern missing", method: "PATCH", url: "/api/v1/dags", contentType: jsonCT, body: `{"is_paused": true}`,
			wantStatus: 400, wantDetail: "Missing query parameter 'dag_id_pattern'"},
		{name: "required dag_id_pattern missing among others", method: "PATCH", url: "/api/v1/dags?limit=2", contentType: jsonCT,
			body: `{"is_paused": true}`, wantStatus: 400, wantDetail: "Missing query parameter 'dag_id_pattern'"},

		// Bodies.
		{name: "malformed JSON", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT, body: `{"conf": `, wantStatus: 400,
			wantContains: "Request body is not valid JSON"},
		{name: "trailing garbage", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT, body: `{} {}`, wantStatus: 400,
			wantContains: "Request body is not valid JSON"},
		{name: "missing body", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT, wantStatus: 400,
			wantDetail: "Request body is required: a JSON DAGRun object."},
		{name: "body not JSON-typed", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: "text/plain", body: `{}`, wantStatus: 415,
			wantDetail: "Invalid Content-type (text/plain), expected JSON data"},
		{name: "body without a content type", method: "PATCH", url: "/api/v1/dags/d", body: `{"is_paused": true}`, wantStatus: 415,
			wantDetail: "Invalid Content-type (), expected JSON data"},
		{name: "form-encoded body (curl -d)", method: "POST", url: "/api/v1/dags/~/dagRuns/list", contentType: "application/x-www-form-urlencoded",
			body: `{"dag_ids": []}`, wantStatus: 415, wantDetail: "Invalid Content-type (application/x-www-form-urlencoded), expected JSON data"},
		{name: "body is not an object", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT, body: `[1]`, wantStatus: 400,
			wantDetail: "[1] is not of type 'object'"},
		{name: "conf not an object", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT, body: `{"conf": "x"}`, wantStatus: 400,
			wantDetail: `"x" is not of type 'object' - 'conf'`},
		{name: "read-only dag_id in a trigger", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT, body: `{"dag_id": "d"}`,
			wantStatus: 400, wantDetail: "'dag_id' is read-only and cannot be set - 'dag_id'"},
		{name: "read-only state in a trigger", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT, body: `{"state": "queued"}`,
			wantStatus: 400, wantDetail: "'state' is read-only and cannot be set - 'state'"},
		{name: "naive logical_date", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT, body: `{"logical_date": "2024-05-01T00:00:00"}`,
			wantStatus: 400, wantDetail: `"2024-05-01T00:00:00" is not a 'date-time' - 'logical_date'`},
		{name: "bad state enum", method: "PATCH", url: "/api/v1/dags/d/dagRuns/r", contentType: jsonCT, body: `{"state": "running"}`,
			wantStatus: 400, wantDetail: `"running" is not one of ["success","failed","queued"] - 'state'`},
		{name: "state null", method: "PATCH", url: "/api/v1/dags/d/dagRuns/r", contentType: jsonCT, body: `{"state": null}`,
			wantStatus: 400, wantDetail: `null is not one of ["success","failed","queued"] - 'state'`},
		{name: "page_limit below minimum", method: "POST", url: "/api/v1/dags/~/dagRuns/list", contentType: jsonCT, body: `{"page_limit": 0}`,
			wantStatus: 400, wantDetail: "0 is less than the minimum of 1 - 'page_limit'"},
		{name: "page_offset not an integer", method: "POST", url: "/api/v1/dags/~/dagRuns/list", contentType: jsonCT, body: `{"page_offset": 1.5}`,
			wantStatus: 400, wantDetail: "1.5 is not of type 'integer' - 'page_offset'"},
		{name: "dag_ids not an array", method: "POST", url: "/api/v1/dags/~/dagRuns/list", contentType: jsonCT, body: `{"dag_ids": "a"}`,
			wantStatus: 400, wantDetail: `"a" is not of type 'array' - 'dag_ids'`},
		{name: "dag_ids item not a string", method: "POST", url: "/api/v1/dags/~/dagRuns/list", contentType: jsonCT, body: `{"dag_ids": ["a", 1]}`,
			wantStatus: 400, wantDetail: `1 is not of type 'string' - 'dag_ids.1'`},
		{name: "dry_run not a boolean", method: "POST", url: "/api/v1/dags/d/dagRuns/r/clear", contentType: jsonCT, body: `{"dry_run": "yes"}`,
			wantStatus: 400, wantDetail: `"yes" is not of type 'boolean' - 'dry_run'`},
		{name: "note not a string", method: "PATCH", url: "/api/v1/dags/d/dagRuns/r/setNote", contentType: jsonCT, body: `{"note": 5}`,
			wantStatus: 400, wantDetail: `5 is not of type 'string' - 'note'`},
		{name: "is_paused not a boolean", method: "PATCH", url: "/api/v1/dags/d?update_mask=is_paused", contentType: jsonCT, body: `{"is_paused": "yes"}`,
			wantStatus: 400, wantDetail: `"yes" is not of type 'boolean' - 'is_paused'`},
		{name: "read-only field in a DAG patch", method: "PATCH", url: "/api/v1/dags/d", contentType: jsonCT, body: `{"is_paused": true, "fileloc": "/x"}`,
			wantStatus: 400, wantDetail: "'fileloc' is read-only and cannot be set - 'fileloc'"},
		{name: "query checked before the body", method: "PATCH", url: "/api/v1/dags/d?bogus=1", contentType: jsonCT, body: `{`,
			wantStatus: 400, wantDetail: "Extra query parameter(s) bogus not in spec"},
		{name: "body over the limit", method: "POST", url: "/api/v1/dags/d/dagRuns", contentType: jsonCT,
			body: `{"note": "` + strings.Repeat("x", 2000) + `"}`, wantStatus: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if tc.wantStatus == http.StatusOK {
				var got echoed
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				// The handler sees the request as sent: body readable and unchanged (no
				// defaults written in), query untouched.
				if got.Body != tc.body {
					t.Errorf("handler read body %q, want %q", got.Body, tc.body)
				}
				if want := req.URL.RawQuery; got.RawQuery != want {
					t.Errorf("handler saw query %q, want %q", got.RawQuery, want)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != problemContentType {
				t.Errorf("Content-Type %q, want %s", ct, problemContentType)
			}
			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("not a problem: %v: %s", err, rec.Body)
			}
			untitled := strings.HasPrefix(p.Detail, "Extra query parameter(s)") // null, as connexion has it
			if p.Status != tc.wantStatus || (p.Title == "") != untitled || !strings.HasPrefix(p.Type, problemTypeBase) {
				t.Errorf("problem %+v: want status %d, a title and Airflow's type", p, tc.wantStatus)
			}
			if tc.wantDetail != "" && p.Detail != tc.wantDetail {
				t.Errorf("detail %q\n          want %q", p.Detail, tc.wantDetail)
			}
			if tc.wantContains != "" && !strings.Contains(p.Detail, tc.wantContains) {
				t.Errorf("detail %q does not contain %q", p.Detail, tc.wantContains)
			}
		})
	}
}

// Every operation of the document has checks keyed by its Echo route, and only query and
// JSON body inputs exist (buildChecks rejects anything else).
func TestValidationCoversEveryOperation(t *testing.T) {
	checks := specChecks()
	ops, err := spec.Operations()
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != len(ops) {
		t.Errorf("%d checks for %d operations", len(checks), len(ops))
	}
	for _, op := range ops {
		chk := checks[routeKey{op.Method, apiPrefix + EchoPath(op.Path)}]
		if chk == nil {
			t.Errorf("%s %s: no checks", op.Method, op.Path)
			continue
		}
		if chk.op != op {
			t.Errorf("%s %s: checks belong to %v", op.Method, op.Path, chk.op)
		}
		// Airflow's only constrained path parameters are integers (map_index, try numbers,
		// event log and import error ids): a text parameter here would be a misread schema.
		for _, p := range chk.pathParams {
			if !p.Schema.Value.Type.Is(openapi3.TypeInteger) {
				t.Errorf("%s %s: path parameter %s is constrained but not an integer", op.Method, op.Path, p.Name)
			}
		}
	}
}

// Only parameters that accept any value skip the validator.
func TestFreeQueryParameters(t *testing.T) {
	chk := specChecks()[routeKey{http.MethodGet, apiPrefix + "/dags/:dag_id/dagRuns"}]
	free := map[string]bool{}
	for i, p := range chk.query {
		free[p.Name] = chk.free[i]
	}
	want := map[string]bool{
		"limit": false, "offset": false, "order_by": true, "state": true, "fields": true,
		"execution_date_gte": false, "execution_date_lte": false, "start_date_gte": false, "start_date_lte": false,
		"end_date_gte": false, "end_date_lte": false, "updated_at_gte": false, "updated_at_lte": false,
	}
	if !reflect.DeepEqual(free, want) {
		t.Errorf("free parameters of get_dag_runs: %v, want %v", free, want)
	}
	chk = specChecks()[routeKey{http.MethodPatch, apiPrefix + "/dags"}]
	for i, p := range chk.query {
		if p.Name == "dag_id_pattern" && chk.free[i] {
			t.Error("a required parameter is never free: its absence must be reported")
		}
	}
}

func TestIsJSONMediaType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                  true,
		"Application/JSON; charset=utf-8":   true,
		" application/json ":                true,
		"application/merge-patch+json":      true,
		"application/problem+json":          true,
		"":                                  false,
		"text/plain":                        false,
		"application/jsonx":                 false,
		"text/json+json":                    false,
		"application/+json":                 false,
		"application/x-www-form-urlencoded": false,
	} {
		if got := isJSONMediaType(ct); got != want {
			t.Errorf("isJSONMediaType(%q) = %v, want %v", ct, got, want)
		}
	}
}

func BenchmarkValidateRequest(b *testing.B) {
	e := validationApp(b)
	cases := []struct{ name, method, url, body string }{
		{"get run, no query", "GET", "/api/v1/dags/etl.daily/dagRuns/r1", ""},
		{"list runs, filters", "GET", "/api/v1/dags/~/dagRuns?limit=50&offset=100&state=failed&execution_date_gte=2024-05-01T00:00:00Z", ""},
		{"trigger", "POST", "/api/v1/dags/etl.daily/dagRuns", `{"dag_run_id":"r1","logical_date":"2024-05-01T00:00:00+00:00","conf":{"a":1}}`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", jsonCT)
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
