package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"airflow-prefect-gateway/spec"
)

// Drift tests of /api/v2: the routes the gateway registers and its v2 document (generated
// from Airflow 3.3.2's, see spec.TestV2Document) must agree, and no route may take a URL
// that OpenAPI's rules give to another Airflow operation.

func isV2Route(path string) bool {
	return underPrefix(path, v2Prefix) || underPrefix(path, v2AuthPrefix) || path == rootSpecJSONPath || underPrefix(path, rootDocsPath)
}

func TestV2RoutesMatchTheDocument(t *testing.T) {
	served := map[routeKey]spec.Operation{}
	for _, op := range mustV2Operations() {
		served[routeKey{op.Method, EchoPath(op.Path)}] = op
	}
	meta := map[string]bool{}
	for _, p := range v2MetaRoutes {
		meta[p] = true
	}
	notServed := map[routeKey]bool{}
	for _, op := range spec.AirflowV2Operations() {
		if k := (routeKey{op.Method, EchoPath(op.Path)}); served[k].OperationID == "" {
			notServed[k] = true
		}
	}
	routed := map[routeKey]bool{}
	for _, r := range newDriftServer(t).Echo().Routes() {
		if !isV2Route(r.Path) {
			continue
		}
		k := routeKey{r.Method, r.Path}
		routed[k] = true
		if _, ok := served[k]; !ok && !meta[r.Path] && !notServed[k] {
			t.Errorf("route %s %s is not an operation of spec/v2.yaml (add its operationId to spec/v2_served.go and regenerate)", r.Method, r.Path)
		}
	}
	for k, op := range served {
		if !routed[k] {
			t.Errorf("operation %s (%s %s) is in spec/v2.yaml but not routed", op.OperationID, op.Method, op.Path)
		}
	}
}

// Every URL of every Airflow 3 operation reaches the route of that operation (its handler, or
// its not-served answer), never another operation's.
func TestV2RoutingPrecedence(t *testing.T) {
	e := newDriftServer(t).Echo()
	airflow := spec.AirflowV2Operations()
	values := []string{"x", "~", "list", "clear", "wait", "details", "tasks", "dagRuns", "taskInstances",
		"dry_run", "pause", "events", "test", "a.b", "x%2Fy", "1"}
	for _, op := range airflow {
		for _, v := range values {
			url := fillTemplate(op.Path, v)
			want, ok := openapiMatch(airflow, op.Method, url)
			if !ok {
				t.Fatalf("%s %s does not match its own template", op.Method, url)
			}
			// A served operation's route, or the not-served route of that operation.
			wantRoute := EchoPath(want.Path)
			c := e.NewContext(httptest.NewRequest(op.Method, url, nil), httptest.NewRecorder())
			e.Router().Find(op.Method, url, c)
			if got := c.Path(); got != wantRoute {
				t.Errorf("%s %s routes to %q, want %s (%s)", op.Method, url, got, wantRoute, want.OperationID)
			}
		}
	}
}

// What the gateway does not serve answers v2's 404 naming it, or 405 for a known path.
func TestV2NotServed(t *testing.T) {
	h := newDriftServer(t).Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		detail       string
	}{
		{http.MethodGet, "/api/v2/jobs", 404, "airflow-prefect-gateway does not serve Airflow's get_jobs (GET /api/v2/jobs) on Prefect"},
		{http.MethodGet, "/api/v2/no/such/thing", 404, "Not Found: GET /api/v2/no/such/thing is not a route of Airflow's REST API"},
		{http.MethodDelete, "/api/v2/version", 405, "Method Not Allowed"},
		{http.MethodGet, "/auth/nothing", 404, "Not Found: GET /auth/nothing is not a route of Airflow's REST API"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.detail) || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s %s", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

// The document is served where Airflow 3 serves its own, and the viewer beside it.
func TestV2DocumentIsServed(t *testing.T) {
	h := newDriftServer(t).Handler()
	js, err := spec.V2JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/openapi.json", "/api/v2/openapi.json"} {
		rec := get(t, h, p)
		if rec.Code != 200 || rec.Body.String() != string(js) {
			t.Errorf("%s: %d, %d bytes", p, rec.Code, rec.Body.Len())
		}
	}
	if rec := get(t, h, "/api/v2/openapi.yaml"); rec.Code != 200 || rec.Body.String() != string(spec.V2YAML()) {
		t.Errorf("yaml: %d", rec.Code)
	}
	if rec := get(t, h, "/api/v2/ui"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "swagger-ui") {
		t.Errorf("viewer: %d", rec.Code)
	}
	if rec := get(t, h, "/docs"); rec.Code != http.StatusTemporaryRedirect || rec.Header().Get("Location") != "/api/v2/ui" {
		t.Errorf("/docs: %d %s", rec.Code, rec.Header().Get("Location"))
	}
}
