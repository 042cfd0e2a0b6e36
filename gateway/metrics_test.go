package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"airflow-prefect-gateway/prefect"
)

// newObservedServer is a gateway whose Prefect client reports to the gateway's own registry,
// as cmd/ wires it, in front of the given stub Prefect.
func newObservedServer(t *testing.T, prefectURL string, mutate ...func(*Options, *prefect.Options)) *Server {
	t.Helper()
	m := NewMetrics("test")
	po := prefect.Options{BaseURL: prefectURL, Observer: m, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	opts := Options{Metrics: m, Auth: AuthOptions{Mode: "none"}, RequestTimeout: 5 * time.Second}
	for _, f := range mutate {
		f(&opts, &po)
	}
	client, err := prefect.New(po)
	if err != nil {
		t.Fatal(err)
	}
	opts.Prefect = client
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scrape(t *testing.T, s *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, MetricsPath, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics Content-Type %q, want Prometheus text", ct)
	}
	return rec.Body.String()
}

func serve(s *Server, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestMetricsCountRequestsByRouteAndStatus(t *testing.T) {
	prefectStub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	}))
	defer prefectStub.Close()
	s := newObservedServer(t, prefectStub.URL)
	// A route that fails and one that panics, to see error statuses recorded as sent.
	s.Echo().GET("/api/v1/test-metrics/:id", func(c echo.Context) error {
		if c.Param("id") == "panic" {
			panic("boom")
		}
		return NotFound("Thing not found", "no %s", c.Param("id"))
	})
	for i := 0; i < 3; i++ {
		serve(s, http.MethodGet, "/api/v1/version")
	}
	serve(s, http.MethodGet, "/api/v1/health")
	serve(s, http.MethodGet, "/api/v1/test-metrics/a")
	serve(s, http.MethodGet, "/api/v1/test-metrics/b")
	if rec := serve(s, http.MethodGet, "/api/v1/test-metrics/panic"); rec.Code != 500 {
		t.Fatalf("panic route answered %d", rec.Code)
	}
	serve(s, http.MethodGet, "/no/such/path/1")
	serve(s, http.MethodGet, "/no/such/path/2")
	serve(s, "BREW", "/api/v1/version")

	body := scrape(t, s)
	want := []string{
		`airflow_prefect_gateway_http_requests_total{method="GET",route="/api/v1/version",status="200"} 3`,
		`airflow_prefect_gateway_http_requests_total{method="GET",route="/api/v1/health",status="200"} 1`,
		`airflow_prefect_gateway_http_requests_total{method="GET",route="/api/v1/test-metrics/:id",status="404"} 2`,
		`airflow_prefect_gateway_http_requests_total{method="GET",route="/api/v1/test-metrics/:id",status="500"} 1`,
		`airflow_prefect_gateway_http_request_duration_seconds_count{method="GET",route="/api/v1/version",status="200"} 3`,
		`airflow_prefect_gateway_prefect_calls_total{endpoint="ready",outcome="ok"} 1`,
		`airflow_prefect_gateway_prefect_call_duration_seconds_count{endpoint="ready",outcome="ok"} 1`,
		// The scrape itself is the one request in flight.
		`airflow_prefect_gateway_http_requests_in_flight 1`,
		`airflow_prefect_gateway_cache_hits_total{cache="dag"} 0`,
		`airflow_prefect_gateway_cache_misses_total{cache="flow"} 0`,
		`airflow_prefect_gateway_build_info{version="test"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	// Unknown paths and methods must not create a label per path or per verb.
	for _, bad := range []string{"/no/such/path", "BREW"} {
		if strings.Contains(body, bad) {
			t.Errorf("/metrics has a label made from caller input %q", bad)
		}
	}
	if !strings.Contains(body, `method="OTHER"`) {
		t.Error("an unknown method is not counted under OTHER")
	}
}

func TestMetricsCountPrefectOutcomesRetriesAndCache(t *testing.T) {
	var versionCalls atomic.Int32
	prefectStub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/admin/version":
			if versionCalls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, `"3.8.8"`)
		case r.URL.Path == "/deployments/filter":
			_, _ = io.WriteString(w, `[]`)
		case r.URL.Path == "/deployments/name/etl/daily":
			_, _ = io.WriteString(w, `{"id":"d1","name":"daily","flow_id":"f1"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"detail":"Not Found"}`)
		}
	}))
	defer prefectStub.Close()
	s := newObservedServer(t, prefectStub.URL)
	ctx := context.Background()
	if v, err := s.prefect.ServerVersion(ctx); err != nil || v != "3.8.8" {
		t.Fatalf("ServerVersion: %q %v", v, err)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.dags.Resolve(ctx, "etl.daily"); err != nil {
			t.Fatalf("resolve: %v", err)
		}
	}
	if _, err := s.prefect.ReadFlow(ctx, "f-missing"); !prefect.IsNotFound(err) {
		t.Fatalf("ReadFlow: %v", err)
	}
	m := s.metrics
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"version attempts answered 503", testutil.ToFloat64(m.prefectCalls.WithLabelValues("admin/version", "unavailable")), 1},
		{"version attempts answered ok", testutil.ToFloat64(m.prefectCalls.WithLabelValues("admin/version", "ok")), 1},
		{"version retries", testutil.ToFloat64(m.prefectRetries.WithLabelValues("admin/version")), 1},
		{"dag cache misses", testutil.ToFloat64(m.cacheMisses.WithLabelValues("dag")), 1},
		{"dag cache hits", testutil.ToFloat64(m.cacheHits.WithLabelValues("dag")), 2},
		{"flow 404s", testutil.ToFloat64(m.prefectCalls.WithLabelValues("flows/{id}", "not_found")), 1},
		{"resolver's lookups by name", testutil.ToFloat64(m.prefectCalls.WithLabelValues("deployments/name/{flow}/{deployment}", "ok")), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.prefectDuration); n < 4 {
		t.Errorf("%d Prefect latency series, want one per endpoint and outcome (≥4)", n)
	}
	if s.PrefectObserver() != m {
		t.Error("PrefectObserver is not the server's registry")
	}
}

// Without Options.Metrics the server makes its own registry and still serves /metrics.
func TestMetricsWithoutInjectedRegistry(t *testing.T) {
	client, err := prefect.New(prefect.Options{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Prefect: client, Auth: AuthOptions{Mode: "none"}})
	if err != nil {
		t.Fatal(err)
	}
	serve(s, http.MethodGet, "/api/v1/version")
	if body := scrape(t, s); !strings.Contains(body, `airflow_prefect_gateway_http_requests_total{method="GET",route="/api/v1/version",status="200"} 1`) {
		t.Fatalf("/metrics without an injected registry:\n%s", body)
	}
}

// The recorded status is the one the client got, also for errors rendered by the edge.
func TestMetricsRecordRenderedErrorStatus(t *testing.T) {
	s := newObservedServer(t, "http://127.0.0.1:1")
	s.Echo().GET("/api/v1/test-upstream", func(c echo.Context) error {
		return errors.Join(errors.New("read deployment"), &prefect.Error{Kind: prefect.KindRateLimited, RetryAfter: 3 * time.Second})
	})
	rec := serve(s, http.MethodGet, "/api/v1/test-upstream")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "3" {
		t.Fatalf("answered %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("GET", "/api/v1/test-upstream", "429")); got != 1 {
		t.Fatalf("429 counted %v times, want 1", got)
	}
}
