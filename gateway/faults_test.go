package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
)

// healthyPrefect answers what the fault-test routes ask: the tag lookup (none), one deployment
// etl/daily, and keyed create_flow_run with Prefect's idempotency contract.
type healthyPrefect struct {
	mu   sync.Mutex
	runs map[string][]byte // idempotency key → stored run
}

func (p *healthyPrefect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/ready":
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	case r.URL.Path == "/api/deployments/filter":
		_, _ = io.WriteString(w, `[]`)
	case r.URL.Path == "/api/deployments/name/etl/daily":
		_, _ = io.WriteString(w, `{"id":"d1","name":"daily","flow_id":"f1","tags":[]}`)
	case strings.HasPrefix(r.URL.Path, "/api/deployments/name/"):
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"detail":"Deployment not found"}`)
	case r.URL.Path == "/api/deployments/d1/create_flow_run":
		var body wire.FlowRunCreate
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"exception_message":"Invalid request received."}`)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if run, ok := p.runs[body.IdempotencyKey]; ok {
			_, _ = w.Write(run)
			return
		}
		run, _ := json.Marshal(map[string]any{"id": "r" + strconv.Itoa(len(p.runs)+1), "name": body.Name,
			"deployment_id": "d1", "flow_id": "f1", "labels": body.Labels, "idempotency_key": body.IdempotencyKey})
		p.runs[body.IdempotencyKey] = run
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(run)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"detail":"Not Found"}`)
	}
}

// faultRoutes are what a resource handler does, minus the translation: resolve a dag_id
// (tag lookup, then name lookup) and trigger a keyed run. Registered outside the spec's
// validation so that they test the upstream path alone.
func faultRoutes(s *Server) {
	// One safe Prefect call, so that attempts can be counted exactly.
	s.Echo().GET("/api/v1/test-faults/deployments/:flow/:deployment", func(c echo.Context) error {
		d, err := s.prefect.ReadDeploymentByName(c.Request().Context(), c.Param("flow"), c.Param("deployment"))
		if prefect.IsNotFound(err) {
			return NotFound("DAG not found", "DAG with dag_id: '%s.%s' not found", c.Param("flow"), c.Param("deployment"))
		}
		if err != nil {
			return FromUpstream(err)
		}
		return c.JSON(http.StatusOK, map[string]string{"dag_id": c.Param("flow") + "." + d.Name})
	})
	// Through the resolver, as every DAG route goes.
	s.Echo().GET("/api/v1/test-faults/dags/:dag_id", func(c echo.Context) error {
		d, err := s.dags.Resolve(c.Request().Context(), c.Param("dag_id"))
		if errors.Is(err, prefect.ErrDAGNotFound) {
			return NotFound("DAG not found", "DAG with dag_id: '%s' not found", c.Param("dag_id"))
		}
		if err != nil {
			return FromUpstream(err)
		}
		return c.JSON(http.StatusOK, map[string]string{"dag_id": d.DAGID})
	})
	s.Echo().POST("/api/v1/test-faults/dags/:dag_id/dagRuns/:run_id", func(c echo.Context) error {
		ctx := c.Request().Context()
		d, err := s.dags.Resolve(ctx, c.Param("dag_id"))
		if err != nil {
			return FromUpstream(err)
		}
		run, created, err := s.prefect.CreateFlowRun(ctx, d.Deployment.ID, wire.FlowRunCreate{
			Name: c.Param("run_id"), IdempotencyKey: "airflow:" + d.Deployment.ID + ":" + c.Param("run_id")})
		if err != nil {
			return FromUpstream(err)
		}
		if !created {
			return NewProblem(http.StatusConflict, "", "DAGRun with DAG ID: 'etl.daily' and DAGRun ID: '"+run.Name+"' already exists")
		}
		return c.JSON(http.StatusOK, map[string]string{"dag_run_id": run.Name})
	})
}

type faultGateway struct {
	URL      string
	server   *Server
	attempts *atomic.Int32 // Prefect calls that reached the stub
}

// startFaultGateway serves a gateway in front of a stub whose every answer goes through
// fault; fault returns false to let the healthy stub answer.
func startFaultGateway(t *testing.T, requestTimeout time.Duration, fault func(w http.ResponseWriter, r *http.Request, n int32) bool) *faultGateway {
	t.Helper()
	healthy := &healthyPrefect{runs: map[string][]byte{}}
	var n atomic.Int32
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if fault != nil && fault(w, r, i) {
			return
		}
		healthy.ServeHTTP(w, r)
	}))
	t.Cleanup(stub.Close)
	return startGatewayAt(t, stub.URL+"/api", requestTimeout, &n)
}

func startGatewayAt(t *testing.T, prefectURL string, requestTimeout time.Duration, n *atomic.Int32) *faultGateway {
	t.Helper()
	s := newObservedServer(t, prefectURL, func(o *Options, po *prefect.Options) {
		o.RequestTimeout = requestTimeout
		po.MaxRetryAfter = 2 * time.Second
		po.MaxAttempts = 3
		po.BaseBackoff = 5 * time.Millisecond
		po.MaxBackoff = 20 * time.Millisecond
	})
	faultRoutes(s)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &faultGateway{URL: hs.URL, server: s, attempts: n}
}

type answer struct {
	status     int
	retryAfter string
	problem    Problem
	body       string
	took       time.Duration
}

func call(t *testing.T, method, url string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), body: string(raw), took: time.Since(start)}
	if res.StatusCode >= 400 {
		if ct := res.Header.Get("Content-Type"); ct != problemContentType {
			t.Errorf("%s %s: %d with Content-Type %q, want %s", method, url, res.StatusCode, ct, problemContentType)
		}
		if err := json.Unmarshal(raw, &a.problem); err != nil || a.problem.Status != res.StatusCode ||
			a.problem.Title == "" || !strings.HasPrefix(a.problem.Type, problemTypeBase) || a.problem.Detail == "" {
			t.Errorf("%s %s: %d body %s is not a complete problem (%v)", method, url, res.StatusCode, raw, err)
		}
	}
	return a
}

func writeStatus(w http.ResponseWriter, status int, retryAfter, body string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// hang holds the request until its client goes away (or d passes). The body is read first:
// only then does the server notice a client that hangs up.
func hang(r *http.Request, d time.Duration) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(d):
	}
}

func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// Each Prefect fault and what an Airflow client sees (DESIGN §7).
func TestUpstreamFaults(t *testing.T) {
	const get = "/api/v1/test-faults/deployments/etl/daily"
	cases := []struct {
		name       string
		method     string
		path       string
		timeout    time.Duration
		fault      func(w http.ResponseWriter, r *http.Request, n int32) bool
		status     int
		retryAfter string // "" = must be absent
		detail     string
		attempts   int32 // Prefect calls the request cost (0: not checked)
	}{
		{name: "healthy", method: "GET", path: get, status: 200, attempts: 1},
		{name: "slow but within the deadline", method: "GET", path: get, timeout: 5 * time.Second, status: 200, attempts: 1,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				time.Sleep(150 * time.Millisecond)
				return false
			}},
		{name: "hung: 504 at the request deadline", method: "GET", path: get, timeout: 300 * time.Millisecond, status: 504, detail: "in time", attempts: 1,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool { hang(r, 20*time.Second); return true }},
		{name: "500 on every attempt: 502", method: "GET", path: get, status: 502, detail: "Internal Server Error", attempts: 3,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				writeStatus(w, 500, "", `{"exception_message":"Internal Server Error"}`)
				return true
			}},
		{name: "502 once, then recovered by the retry", method: "GET", path: get, status: 200, attempts: 2,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				if n == 1 {
					writeStatus(w, 502, "", `<html>bad gateway</html>`)
					return true
				}
				return false
			}},
		{name: "503 on every attempt: 503 with Retry-After", method: "GET", path: get, status: 503, retryAfter: "5", attempts: 3,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				writeStatus(w, 503, "", `{"exception_message":"Service Unavailable"}`)
				return true
			}},
		{name: "503 with a long Retry-After is passed on at once", method: "GET", path: get, status: 503, retryAfter: "30", attempts: 1,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				writeStatus(w, 503, "30", `{"exception_message":"Service Unavailable"}`)
				return true
			}},
		{name: "429 with a short Retry-After is waited out", method: "GET", path: get, timeout: 5 * time.Second, status: 200, attempts: 2,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				if n == 1 {
					writeStatus(w, 429, "0.2", `{"detail":"Rate limit exceeded"}`)
					return true
				}
				return false
			}},
		{name: "429 without Retry-After on every attempt: 429 with a default Retry-After", method: "GET", path: get, status: 429, retryAfter: "1", attempts: 3,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				writeStatus(w, 429, "", `{"detail":"Rate limit exceeded"}`)
				return true
			}},
		{name: "429 with a Retry-After beyond the wait cap is passed on", method: "GET", path: get, status: 429, retryAfter: "60", attempts: 1,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				writeStatus(w, 429, "60", `{"detail":"Rate limit exceeded"}`)
				return true
			}},
		{name: "429 with a Retry-After beyond the request deadline is passed on", method: "GET", path: get, timeout: 500 * time.Millisecond, status: 429, retryAfter: "2", attempts: 1,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				writeStatus(w, 429, "2", `{"detail":"Rate limit exceeded"}`)
				return true
			}},
		{name: "invalid JSON: 502", method: "GET", path: get, status: 502, detail: "could not be read", attempts: 3,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				writeStatus(w, 200, "", `[{"id": "d1", `)
				return true
			}},
		{name: "truncated answer: 502", method: "GET", path: get, status: 502, attempts: 3,
			fault: func(w http.ResponseWriter, r *http.Request, n int32) bool {
				w.Header().Set("Content-Length", "500")
				w.WriteHeader(200)
				_, _ = io.WriteString(w, `[{"id":"d1","name":"da`)
				dropConnection(w)
				return true
			}},
		{name: "unknown DAG: 404", method: "GET", path: "/api/v1/test-faults/deployments/etl/nightly", status: 404, detail: "etl.nightly", attempts: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			gw := startFaultGateway(t, timeout, tc.fault)
			a := call(t, tc.method, gw.URL+tc.path)
			if a.status != tc.status {
				t.Fatalf("status %d (%s), want %d", a.status, a.body, tc.status)
			}
			if a.retryAfter != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", a.retryAfter, tc.retryAfter)
			}
			if tc.detail != "" && !strings.Contains(a.problem.Detail, tc.detail) {
				t.Errorf("detail %q, want it to mention %q", a.problem.Detail, tc.detail)
			}
			if tc.attempts != 0 && gw.attempts.Load() != tc.attempts {
				t.Errorf("Prefect saw %d calls, want %d", gw.attempts.Load(), tc.attempts)
			}
			if tc.status >= 500 && a.took > timeout+5*time.Second {
				t.Errorf("answered after %s, past the request deadline %s", a.took, timeout)
			}
		})
	}
}

// The trigger path is the one place a lost answer could double a run: the stub keeps the run
// of the lost answer, so the retry must find it (one run, and the caller is told 200).
func TestLostTriggerAnswerMakesOneRun(t *testing.T) {
	healthy := &healthyPrefect{runs: map[string][]byte{}}
	var creates atomic.Int32
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/create_flow_run") && creates.Add(1) == 1 {
			healthy.ServeHTTP(httptest.NewRecorder(), r)
			dropConnection(w)
			return
		}
		healthy.ServeHTTP(w, r)
	}))
	defer stub.Close()
	gw := startGatewayAt(t, stub.URL+"/api", 5*time.Second, &atomic.Int32{})
	first := call(t, "POST", gw.URL+"/api/v1/test-faults/dags/etl.daily/dagRuns/run-1")
	second := call(t, "POST", gw.URL+"/api/v1/test-faults/dags/etl.daily/dagRuns/run-1")
	if first.status != 200 || second.status != 409 {
		t.Fatalf("statuses %d then %d, want 200 then 409", first.status, second.status)
	}
	if len(healthy.runs) != 1 || creates.Load() != 3 {
		t.Fatalf("%d runs after %d creates, want 1 run after 3 (lost, retried, duplicate)", len(healthy.runs), creates.Load())
	}
}

// Prefect refusing connections is a 503 with Retry-After; when Prefect comes back on the same
// address, the gateway answers again without a restart.
func TestGatewayRecoversWhenPrefectComesBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	gw := startGatewayAt(t, "http://"+addr+"/api", 5*time.Second, &atomic.Int32{})
	path := gw.URL + "/api/v1/test-faults/dags/etl.daily"

	down := call(t, "GET", path)
	if down.status != 503 || down.retryAfter == "" || !strings.Contains(down.problem.Detail, "unreachable") {
		t.Fatalf("while Prefect is down: %d Retry-After %q %s, want 503 with Retry-After", down.status, down.retryAfter, down.body)
	}
	if got := call(t, "GET", gw.URL+"/api/v1/health"); got.status != 200 || !strings.Contains(got.body, `"unhealthy"`) {
		t.Fatalf("health while down: %d %s, want 200 unhealthy", got.status, got.body)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	back := &httptest.Server{Listener: ln, Config: &http.Server{Handler: &healthyPrefect{runs: map[string][]byte{}}}}
	back.Start()
	defer back.Close()
	up := call(t, "GET", path)
	if up.status != 200 || !strings.Contains(up.body, `"etl.daily"`) {
		t.Fatalf("after Prefect came back: %d %s, want 200", up.status, up.body)
	}
	if got := call(t, "GET", gw.URL+"/api/v1/health"); got.status != 200 || !strings.Contains(got.body, `"healthy"`) {
		t.Fatalf("health after recovery: %d %s", got.status, got.body)
	}
}

// A caller that gives up must not fail the other requests waiting on the same shared lookup,
// and no request waits past its own deadline for a lookup another request started.
func TestSharedLookupSurvivesACallerLeaving(t *testing.T) {
	release := make(chan struct{})
	var lookups atomic.Int32
	healthy := &healthyPrefect{runs: map[string][]byte{}}
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/deployments/filter" && lookups.Add(1) == 1 {
			<-release
		}
		healthy.ServeHTTP(w, r)
	}))
	defer stub.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	gw := startGatewayAt(t, stub.URL+"/api", 10*time.Second, &atomic.Int32{})

	leaverCtx, leave := context.WithCancel(context.Background())
	leaverDone := make(chan struct{})
	go func() {
		defer close(leaverDone)
		req, _ := http.NewRequestWithContext(leaverCtx, "GET", gw.URL+"/api/v1/test-faults/dags/etl.daily", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	for lookups.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	stayer := make(chan answer, 1)
	go func() { stayer <- call(t, "GET", gw.URL+"/api/v1/test-faults/dags/etl.daily") }()
	time.Sleep(100 * time.Millisecond) // the second request joins the lookup in flight
	leave()
	<-leaverDone
	time.Sleep(50 * time.Millisecond)
	close(release)
	a := <-stayer
	if a.status != 200 {
		t.Fatalf("the request that stayed got %d %s after another caller left, want 200", a.status, a.body)
	}
}
