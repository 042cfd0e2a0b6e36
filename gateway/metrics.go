package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsNamespace prefixes every metric the gateway exports.
const MetricsNamespace = "airflow_prefect_gateway"

// MetricsPath is where /metrics is served (outside /api/v1, open like Airflow's health).
const MetricsPath = "/metrics"

// Metrics is the gateway's Prometheus registry. It is also the Prefect client's Observer and
// the DAG resolver's CacheStats, so one value carries every figure /metrics shows. Build it
// before the Prefect client (cmd/ passes it to both prefect.Options.Observer and
// Options.Metrics); gateway.New makes its own when Options.Metrics is nil.
type Metrics struct {
	registry *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	inFlight        prometheus.Gauge

	prefectCalls    *prometheus.CounterVec
	prefectDuration *prometheus.HistogramVec
	prefectRetries  *prometheus.CounterVec

	cacheHits   *prometheus.CounterVec
	cacheMisses *prometheus.CounterVec
}

// Latency buckets from a cache hit (tens of µs) to a request that waited out a deadline.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics builds a registry with the gateway's metrics, the Go runtime's and the process's.
// version labels airflow_prefect_gateway_build_info.
func NewMetrics(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "http_requests_total",
			Help: "Airflow API requests answered, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "http_request_duration_seconds",
			Help:    "Time from the request's arrival to its answer, Prefect calls included, by method, route template and status.",
			Buckets: latencyBuckets,
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: MetricsNamespace, Name: "http_requests_in_flight",
			Help: "Airflow API requests being answered now.",
		}),
		prefectCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "prefect_calls_total",
			Help: "Calls to Prefect (each attempt counts), by endpoint template and outcome (ok, not_found, conflict, invalid, unauthorized, forbidden, rate_limited, unavailable, timeout, bad_gateway).",
		}, []string{"endpoint", "outcome"}),
		prefectDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "prefect_call_duration_seconds",
			Help:    "Duration of one call to Prefect, by endpoint template and outcome.",
			Buckets: latencyBuckets,
		}, []string{"endpoint", "outcome"}),
		prefectRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "prefect_retries_total",
			Help: "Prefect calls sent again after a retryable failure, by endpoint template.",
		}, []string{"endpoint"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "cache_hits_total",
			Help: "Lookups answered from the gateway's caches (dag: dag_id → deployment, flow: flow id → name).",
		}, []string{"cache"}),
		cacheMisses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "cache_misses_total",
			Help: "Lookups the gateway's caches could not answer, so Prefect was asked.",
		}, []string{"cache"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: MetricsNamespace, Name: "build_info",
		Help: "Always 1; the gateway's version as a label.",
	}, []string{"version"})
	buildInfo.WithLabelValues(version).Set(1)
	reg.MustRegister(m.requests, m.requestDuration, m.inFlight, m.prefectCalls, m.prefectDuration,
		m.prefectRetries, m.cacheHits, m.cacheMisses, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Label sets that exist before their first event, so that dashboards and rate() see a 0.
	for _, cache := range []string{"dag", "flow"} {
		m.cacheHits.WithLabelValues(cache)
		m.cacheMisses.WithLabelValues(cache)
	}
	return m
}

// Registry is the underlying registry, for tests and for embedding into another exporter.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// ObserveCall implements prefect.Observer.
func (m *Metrics) ObserveCall(endpoint, outcome string, d time.Duration) {
	m.prefectCalls.WithLabelValues(endpoint, outcome).Inc()
	m.prefectDuration.WithLabelValues(endpoint, outcome).Observe(d.Seconds())
}

// ObserveRetry implements prefect.Observer.
func (m *Metrics) ObserveRetry(endpoint string) { m.prefectRetries.WithLabelValues(endpoint).Inc() }

// CacheHit implements prefect.CacheStats.
func (m *Metrics) CacheHit(cache string) { m.cacheHits.WithLabelValues(cache).Inc() }

// CacheMiss implements prefect.CacheStats.
func (m *Metrics) CacheMiss(cache string) { m.cacheMisses.WithLabelValues(cache).Inc() }

// PrefectObserver is the observer to give the Prefect client (prefect.Options.Observer) so
// that its calls show up on this server's /metrics.
func (s *Server) PrefectObserver() *Metrics { return s.metrics }

// observeRequest records request count and latency by route template and status. The route is
// Echo's template (/api/v1/dags/:dag_id), never the raw path, so that the label set stays
// bounded whatever callers send.
func (s *Server) observeRequest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		m := s.metrics
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		if err := next(c); err != nil {
			// Render here so that the recorded status is the one the client gets.
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "(unmatched)"
		}
		method := metricMethod(c.Request().Method)
		status := statusLabel(c.Response().Status)
		m.requests.WithLabelValues(method, route, status).Inc()
		m.requestDuration.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
		return nil
	}
}

// metricMethod keeps the method label bounded: anything but the standard methods is OTHER.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// statusLabels avoids an allocation per request for the usual statuses.
var statusLabels = func() map[int]string {
	out := map[int]string{}
	for code := 100; code < 600; code++ {
		if http.StatusText(code) != "" {
			out[code] = strconv.Itoa(code)
		}
	}
	return out
}()

func statusLabel(code int) string {
	if s, ok := statusLabels[code]; ok {
		return s
	}
	return strconv.Itoa(code)
}

// registerMetricsRoutes serves /metrics in Prometheus' text format (OpenMetrics when asked).
// It is open, as scrapers expect; it shows counts and latencies, never names of users, DAGs
// or runs.
func (s *Server) registerMetricsRoutes(e *echo.Echo) {
	h := promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// A failing collector must not turn a scrape into a 500 with nothing in it.
		ErrorHandling: promhttp.ContinueOnError,
	})
	e.GET(MetricsPath, echo.WrapHandler(h))
	e.HEAD(MetricsPath, echo.WrapHandler(h))
}
