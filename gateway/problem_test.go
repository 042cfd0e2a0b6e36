package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
)

func TestFromUpstream(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		status     int
		retryAfter string
		detailHas  string
	}{
		{"not found", &prefect.Error{Kind: prefect.KindNotFound, Message: "Deployment not found"}, 404, "", "Deployment not found"},
		{"conflict", &prefect.Error{Kind: prefect.KindConflict, Message: "dup"}, 409, "", "dup"},
		{"invalid", &prefect.Error{Kind: prefect.KindInvalid, Message: "body.limit: too big"}, 400, "", "body.limit: too big"},
		{"unauthorized", &prefect.Error{Kind: prefect.KindUnauthorized}, 401, "", "credential"},
		{"rate limited with Retry-After", &prefect.Error{Kind: prefect.KindRateLimited, RetryAfter: 2500 * time.Millisecond}, 429, "3", "rate-limiting"},
		{"rate limited without", &prefect.Error{Kind: prefect.KindRateLimited}, 429, "1", "rate-limiting"},
		{"unavailable", &prefect.Error{Kind: prefect.KindUnavailable, Message: "Prefect is unreachable"}, 503, "5", "unreachable"},
		{"timeout", &prefect.Error{Kind: prefect.KindTimeout}, 504, "", "in time"},
		{"bad gateway", &prefect.Error{Kind: prefect.KindBadGateway, Message: "Internal Server Error"}, 502, "", "Internal Server Error"},
		{"wrapped", errors.Join(errors.New("read deployment"), &prefect.Error{Kind: prefect.KindNotFound}), 404, "", "not found"},
		{"not an upstream error", errors.New("boom"), 500, "", "failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := FromUpstream(tc.err)
			if p.Status != tc.status || !strings.Contains(p.Detail, tc.detailHas) || p.Title == "" ||
				!strings.HasPrefix(p.Type, problemTypeBase) {
				t.Errorf("FromUpstream = %+v, want status %d with detail containing %q", p, tc.status, tc.detailHas)
			}
			if got := p.header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
			if p.Unwrap() == nil {
				t.Error("the cause is lost (it must reach the log)")
			}
		})
	}
}

func TestProblemTypesMatchAirflow(t *testing.T) {
	cases := map[int][2]string{
		400: {"Bad Request", "BadRequest"},
		401: {"Unauthorized", "Unauthenticated"},
		403: {"Forbidden", "PermissionDenied"},
		404: {"Not Found", "NotFound"},
		405: {"Method Not Allowed", "MethodNotAllowed"},
		409: {"Conflict", "AlreadyExists"},
		500: {"Internal Server Error", "Unknown"},
	}
	for status, want := range cases {
		p := NewProblem(status, "", "x")
		if p.Title != want[0] || p.Type != problemTypeBase+want[1] {
			t.Errorf("%d: title %q type %q; want %q and #…/%s", status, p.Title, p.Type, want[0], want[1])
		}
	}
}

func newTestServer(t *testing.T, mutate ...func(*Options)) *Server {
	t.Helper()
	client, err := prefect.New(prefect.Options{BaseURL: "http://127.0.0.1:1/api"})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Prefect: client, Auth: AuthOptions{Mode: "none"}, BodyLimit: "1K"}
	for _, m := range mutate {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type renderedProblem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) renderedProblem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, body %s", ct, rec.Body)
	}
	var p renderedProblem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	// connexion leaves the title of its "Extra query parameter(s)" 400 null, and so does the
	// gateway.
	untitled := strings.HasPrefix(p.Detail, "Extra query parameter(s)")
	if p.Status != rec.Code || (p.Title == "") != untitled || p.Type == "" || p.Detail == "" {
		t.Fatalf("incomplete problem %+v for status %d", p, rec.Code)
	}
	return p
}

// Every error path of the app renders Airflow's problem JSON: unknown routes, wrong methods,
// oversized bodies, panics, and errors returned by handlers.
func TestEveryErrorPathIsAProblem(t *testing.T) {
	s := newTestServer(t)
	e := s.Echo()
	e.GET("/test/panic", func(c echo.Context) error { panic("kaboom") })
	e.POST("/test/body", func(c echo.Context) error {
		var v map[string]any
		return c.Bind(&v)
	})
	e.GET("/test/upstream", func(c echo.Context) error {
		return &prefect.Error{Kind: prefect.KindUnavailable, Message: "Prefect is unreachable"}
	})
	e.GET("/test/plain", func(c echo.Context) error { return errors.New("secret internals") })

	cases := []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/api/v1/nope", "", 404},
		{"GET", "/", "", 404},
		{"PUT", "/api/v1/version", "", 405},
		{"GET", "/test/panic", "", 500},
		{"POST", "/test/body", strings.Repeat("x", 4096), 413},
		{"GET", "/test/upstream", "", 503},
		{"GET", "/test/plain", "", 500},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			p := decodeProblem(t, rec)
			if strings.Contains(p.Detail, "secret internals") || strings.Contains(p.Detail, "kaboom") {
				t.Errorf("internal error text leaked into the response: %q", p.Detail)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("no request id")
			}
		})
	}
}

func TestHealthWhenPrefectIsDown(t *testing.T) {
	s := newTestServer(t) // its Prefect is a closed port
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/health", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	var h healthInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
		t.Fatal(err)
	}
	if *h.Metadatabase.Status != "unhealthy" || *h.Scheduler.Status != "unhealthy" || h.Scheduler.Heartbeat != nil {
		t.Fatalf("health %s", rec.Body)
	}
	if h.Triggerer.Status != nil || h.DagProcessor.Status != nil {
		t.Fatalf("components the gateway does not have must be null: %s", rec.Body)
	}
}

// The open routes are validated like the others: Airflow answers 400 to an unknown query
// parameter on /health and /version too.
func TestOpenRoutesAreValidated(t *testing.T) {
	s := newTestServer(t)
	for _, path := range []string{"/api/v1/health?x=1", "/api/v1/version?verbose=true"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("%s: status %d, want 400: %s", path, rec.Code, rec.Body)
		}
		if p := decodeProblem(t, rec); !strings.Contains(p.Detail, "not in spec") {
			t.Errorf("%s: detail %q", path, p.Detail)
		}
	}
}
