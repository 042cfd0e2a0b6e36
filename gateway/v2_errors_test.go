package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"airflow-prefect-gateway/prefect"
)

// One table: each failure as /api/v1 renders it (problem JSON) and as /api/v2 does (FastAPI).
func TestErrorsPerGeneration(t *testing.T) {
	upstream404 := &prefect.Error{Kind: prefect.KindNotFound, Message: "Flow run not found"}
	for _, tc := range []struct {
		name     string
		err      error
		status   int
		v1Detail any            // the problem's detail (nil: JSON null)
		v1Title  string         // the problem's title
		v2       map[string]any // the whole v2 body
		v1Header http.Header
		v2Header http.Header
	}{
		{
			name: "bad request", err: BadRequest("limit is wrong"), status: 400,
			v1Detail: "limit is wrong", v1Title: "Bad Request",
			v2: map[string]any{"detail": "limit is wrong"},
		},
		{
			name: "DAG not found, worded per generation", err: dagNotFoundProblem("etl.daily"), status: 404,
			v1Detail: "The DAG with dag_id: etl.daily was not found", v1Title: "DAG not found",
			v2: map[string]any{"detail": "The Dag with ID: `etl.daily` was not found"},
		},
		{
			name: "a title-only problem shows its title in v2", err: NotFound("Task not found", ""), status: 404,
			v1Detail: nil, v1Title: "Task not found",
			v2: map[string]any{"detail": "Task not found"},
		},
		{
			name: "object detail in v2", err: Problemf(409, "", "exists").ForV2(map[string]any{"reason": "Unique constraint violation"}), status: 409,
			v1Detail: "exists", v1Title: "Conflict",
			v2: map[string]any{"detail": map[string]any{"reason": "Unique constraint violation"}},
		},
		{
			name: "field errors", status: 422,
			err:      ValidationProblem(FieldError{Type: "missing", Loc: []any{"body", "logical_date"}, Msg: "Field required", Input: map[string]any{}}),
			v1Detail: "body.logical_date: Field required", v1Title: "Unprocessable Entity",
			v2: map[string]any{"detail": []any{map[string]any{"type": "missing", "loc": []any{"body", "logical_date"}, "msg": "Field required", "input": map[string]any{}}}},
		},
		{
			name: "Basic's 401 carries its challenge in v1 only", err: unauthenticated("Invalid username or password."), status: 401,
			v1Detail: "Invalid username or password.", v1Title: "Unauthorized",
			v2:       map[string]any{"detail": "Invalid username or password."},
			v1Header: http.Header{"Www-Authenticate": {challenge}}, v2Header: http.Header{"Www-Authenticate": nil},
		},
		{
			name: "no token", err: notAuthenticatedV2(), status: 401,
			v1Detail: "Not authenticated", v1Title: "Unauthorized", v2: map[string]any{"detail": "Not authenticated"},
		},
		{
			name: "role too low", status: 403,
		},
		{
			name: "Prefect's 404", err: FromUpstream(upstream404), status: 404,
			v1Detail: "Prefect: Flow run not found", v1Title: "Not Found", v2: map[string]any{"detail": "Prefect: Flow run not found"},
		},
		{
			name: "Prefect unavailable keeps Retry-After", err: FromUpstream(&prefect.Error{Kind: prefect.KindUnavailable}), status: 503,
			v1Detail: "Prefect is unavailable: no answer", v1Title: "Service Unavailable", v2: map[string]any{"detail": "Prefect is unavailable: no answer"},
			v1Header: http.Header{"Retry-After": {"5"}}, v2Header: http.Header{"Retry-After": {"5"}},
		},
		{
			name: "Echo's 405", err: echo.ErrMethodNotAllowed, status: 405,
			v1Detail: "The method is not allowed for the requested URL.", v1Title: "Method Not Allowed", v2: map[string]any{"detail": "Method Not Allowed"},
		},
		{
			name: "any other error", err: errors.New("boom"), status: 500,
			v1Detail: "The gateway failed to handle the request.", v1Title: "Internal Server Error", v2: map[string]any{"detail": "The gateway failed to handle the request."},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "role too low" {
				// requireRole reads the principal from a context: build one.
				tc.err = roleProblem(t)
				tc.v1Detail, tc.v1Title = "This operation needs the Admin role or higher.", "Forbidden"
				tc.v2 = map[string]any{"detail": "Forbidden"}
			}
			for _, gen := range []generation{generationV1, generationV2} {
				rec := renderError(t, tc.err, gen)
				if rec.Code != tc.status {
					t.Errorf("generation %d: status %d, want %d", gen, rec.Code, tc.status)
				}
				var body map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatalf("generation %d: %v: %s", gen, err, rec.Body)
				}
				want, header := tc.v2, tc.v2Header
				if gen == generationV1 {
					want = map[string]any{"detail": tc.v1Detail, "title": tc.v1Title, "status": float64(tc.status), "type": body["type"]}
					header = tc.v1Header
					if got := rec.Header().Get("Content-Type"); got != problemContentType {
						t.Errorf("v1 content type %q", got)
					}
				} else if got := rec.Header().Get("Content-Type"); got != "application/json" {
					t.Errorf("v2 content type %q", got)
				}
				if !reflect.DeepEqual(body, want) {
					t.Errorf("generation %d:\n got %v\nwant %v", gen, body, want)
				}
				for k, v := range header {
					if got := rec.Header().Values(k); !reflect.DeepEqual(got, v) && !(len(got) == 0 && v == nil) {
						t.Errorf("generation %d: header %s = %v, want %v", gen, k, got, v)
					}
				}
			}
		})
	}
}

func roleProblem(t *testing.T) error {
	e := echo.New()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	c.Set(principalKey, &Principal{Role: RoleUser})
	return requireRole(RoleAdmin)(func(echo.Context) error { return nil })(c)
}

func renderError(t *testing.T, err error, gen generation) *httptest.ResponseRecorder {
	t.Helper()
	s := &Server{log: zap.NewNop()}
	e := echo.New()
	e.JSONSerializer = &jsonWriter{airflow: true}
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/x", nil), rec)
	c.Set(generationKey, gen)
	s.errorHandler(err, c)
	return rec
}

func TestGenerationOfPaths(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v2": true, "/api/v2/dags": true, "/auth/token": true, "/openapi.json": true, "/docs": true,
		"/api/v1/dags": false, "/api/v20": false, "/authx": false, "/metrics": false, "/api/v1/openapi.json": false,
	} {
		if got := isV2Path(path); got != want {
			t.Errorf("isV2Path(%q) = %v", path, got)
		}
	}
}
