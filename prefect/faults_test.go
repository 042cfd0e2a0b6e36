package prefect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// script answers attempt n (1-based) of every request with step n, and repeats the last step.
type step struct {
	status     int
	retryAfter string
	body       string
	// truncate announces a longer body than it sends, then closes the connection.
	truncate bool
	// drop closes the connection without answering.
	drop bool
}

func scriptedServer(t *testing.T, steps ...step) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(steps) {
			i = len(steps) - 1
		}
		s := steps[i]
		switch {
		case s.drop:
			hijackAndClose(w)
			return
		case s.truncate:
			w.Header().Set("Content-Length", strconv.Itoa(len(s.body)+100))
			w.WriteHeader(s.status)
			_, _ = io.WriteString(w, s.body)
			hijackAndClose(w)
			return
		}
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, s.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func hijackAndClose(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// recorder is an Observer that keeps what it saw.
type recorder struct {
	mu       sync.Mutex
	calls    map[string]int // endpoint|outcome → count
	retries  map[string]int
	negative bool
}

func newRecorder() *recorder {
	return &recorder{calls: map[string]int{}, retries: map[string]int{}}
}

func (r *recorder) ObserveCall(endpoint, outcome string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[endpoint+"|"+outcome]++
	if d < 0 {
		r.negative = true
	}
}

func (r *recorder) ObserveRetry(endpoint string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries[endpoint]++
}

func (r *recorder) retriesOf(endpoint string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.retries[endpoint]
}

const okFlow = `{"id":"f1","name":"etl"}`

// Each row is one fault; "safe" calls are reads (ReadFlow), "unsafe" ones are state changes
// (SetFlowRunState), "keyed"/"unkeyed" are create_flow_run with and without an idempotency key,
// "delete" is DeleteFlowRun (repeatable: the end state is the same).
func TestRetryPolicy(t *testing.T) {
	okState := `{"status":"ACCEPT","details":{"type":"accept_details"},"state":{"type":"RUNNING","name":"Running"}}`
	okRun := `{"id":"r1","name":"manual__1"}`
	cases := []struct {
		name     string
		call     string // safe | unsafe | keyed | unkeyed
		steps    []step
		attempts int32
		kind     Kind // KindUnknown: success
		retry    time.Duration
	}{
		{"safe: 503 twice then ok", "safe", []step{{status: 503, body: `{"exception_message":"Service Unavailable"}`}, {status: 503}, {status: 200, body: okFlow}}, 3, KindUnknown, 0},
		{"safe: 502 until attempts run out", "safe", []step{{status: 502, body: "<html>bad gateway</html>"}}, 3, KindBadGateway, 0},
		{"safe: 500 until attempts run out", "safe", []step{{status: 500, body: `{"exception_message":"Internal Server Error"}`}}, 3, KindBadGateway, 0},
		{"safe: 503 until attempts run out keeps Retry-After", "safe", []step{{status: 503, retryAfter: "0.01"}}, 3, KindUnavailable, 10 * time.Millisecond},
		{"safe: 504 from a proxy is retried", "safe", []step{{status: 504}, {status: 200, body: okFlow}}, 2, KindUnknown, 0},
		{"safe: 429 without Retry-After, then ok", "safe", []step{{status: 429}, {status: 200, body: okFlow}}, 2, KindUnknown, 0},
		{"safe: 429 with a short Retry-After, then ok", "safe", []step{{status: 429, retryAfter: "0.02"}, {status: 200, body: okFlow}}, 2, KindUnknown, 0},
		{"safe: 429 with a Retry-After beyond MaxRetryAfter is passed on at once", "safe", []step{{status: 429, retryAfter: "60"}}, 1, KindRateLimited, time.Minute},
		{"safe: 503 with a Retry-After beyond MaxRetryAfter is passed on at once", "safe", []step{{status: 503, retryAfter: "120"}}, 1, KindUnavailable, 2 * time.Minute},
		{"safe: invalid JSON in a 200", "safe", []step{{status: 200, body: `{"id": "f1", "name": `}}, 3, KindBadGateway, 0},
		{"safe: invalid JSON once, then ok", "safe", []step{{status: 200, body: `not json`}, {status: 200, body: okFlow}}, 2, KindUnknown, 0},
		{"safe: truncated body", "safe", []step{{status: 200, body: `{"id":"f1",`, truncate: true}}, 3, KindBadGateway, 0},
		{"safe: connection closed without an answer", "safe", []step{{drop: true}, {status: 200, body: okFlow}}, 2, KindUnknown, 0},
		{"safe: 404 is final", "safe", []step{{status: 404, body: `{"detail":"Flow not found"}`}}, 1, KindNotFound, 0},
		{"safe: 422 is final", "safe", []step{{status: 422, body: `{"detail":"bad"}`}}, 1, KindInvalid, 0},
		{"safe: 401 is final", "safe", []step{{status: 401, body: `{"exception_message":"Unauthorized"}`}}, 1, KindUnauthorized, 0},
		{"unsafe: 503 is not retried", "unsafe", []step{{status: 503}, {status: 200, body: okState}}, 1, KindUnavailable, 0},
		{"unsafe: 500 is not retried", "unsafe", []step{{status: 500}, {status: 200, body: okState}}, 1, KindBadGateway, 0},
		{"unsafe: a lost answer is not retried", "unsafe", []step{{drop: true}, {status: 200, body: okState}}, 1, KindBadGateway, 0},
		{"unsafe: invalid JSON is not retried", "unsafe", []step{{status: 200, body: `{`}, {status: 200, body: okState}}, 1, KindBadGateway, 0},
		{"unsafe: 429 was never processed, so it is retried", "unsafe", []step{{status: 429, retryAfter: "0.01"}, {status: 200, body: okState}}, 2, KindUnknown, 0},
		{"keyed trigger: 502 then ok", "keyed", []step{{status: 502}, {status: 201, body: okRun}}, 2, KindUnknown, 0},
		{"keyed trigger: lost answer then ok", "keyed", []step{{drop: true}, {status: 200, body: okRun}}, 2, KindUnknown, 0},
		{"unkeyed trigger: 502 is not retried", "unkeyed", []step{{status: 502}, {status: 201, body: okRun}}, 1, KindBadGateway, 0},
		{"unkeyed trigger: lost answer is not retried", "unkeyed", []step{{drop: true}, {status: 201, body: okRun}}, 1, KindBadGateway, 0},
		{"delete: 503 (database is locked) then done", "delete", []step{{status: 503, body: `{"exception_message":"Service Unavailable"}`}, {status: 204}}, 2, KindUnknown, 0},
		{"delete: lost answer, then 404: the first attempt deleted it", "delete", []step{{drop: true}, {status: 404, body: `{"detail":"Flow run not found"}`}}, 2, KindUnknown, 0},
		{"delete: 502, then 404: gone either way", "delete", []step{{status: 502}, {status: 404, body: `{"detail":"Flow run not found"}`}}, 2, KindUnknown, 0},
		{"delete: 404 at the first attempt is not found", "delete", []step{{status: 404, body: `{"detail":"Flow run not found"}`}}, 1, KindNotFound, 0},
		{"delete: 503 until attempts run out", "delete", []step{{status: 503}}, 3, KindUnavailable, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, attempts := scriptedServer(t, tc.steps...)
			rec := newRecorder()
			c := newTestClient(t, srv.URL, func(o *Options) {
				o.MaxAttempts = 3
				o.MaxRetryAfter = time.Second
				o.Observer = rec
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var err error
			endpoint := ""
			switch tc.call {
			case "safe":
				var f wire.Flow
				f, err = c.ReadFlow(ctx, "f1")
				if err == nil && f.Name != "etl" {
					t.Fatalf("decoded %+v", f)
				}
				endpoint = "flows/{id}"
			case "unsafe":
				_, err = c.SetFlowRunState(ctx, "r1", wire.StateCreate{Type: wire.Running}, false)
				endpoint = "flow_runs/{id}/set_state"
			case "keyed", "unkeyed":
				body := wire.FlowRunCreate{Name: "manual__1"}
				if tc.call == "keyed" {
					body.IdempotencyKey = "airflow:d1:manual__1"
				}
				_, _, err = c.CreateFlowRun(ctx, "d1", body)
				endpoint = "deployments/{id}/create_flow_run"
			case "delete":
				err = c.DeleteFlowRun(ctx, "r1")
				endpoint = "flow_runs/{id}"
			}
			if got := attempts.Load(); got != tc.attempts {
				t.Errorf("Prefect saw %d attempts, want %d", got, tc.attempts)
			}
			if got := rec.retriesOf(endpoint); got != int(tc.attempts)-1 {
				t.Errorf("observer saw %d retries of %s, want %d", got, endpoint, tc.attempts-1)
			}
			if tc.kind == KindUnknown {
				if err != nil {
					t.Fatalf("error %v, want success", err)
				}
				return
			}
			pe, ok := AsError(err)
			if !ok {
				t.Fatalf("error %v (%T), want *prefect.Error of kind %s", err, err, tc.kind)
			}
			if pe.Kind != tc.kind || pe.RetryAfter != tc.retry {
				t.Errorf("kind %s retry-after %s, want %s and %s (error: %v)", pe.Kind, pe.RetryAfter, tc.kind, tc.retry, err)
			}
		})
	}
}

// A Retry-After within MaxRetryAfter is waited out, not replaced by the (much shorter) backoff.
func TestRetryAfterIsHonoured(t *testing.T) {
	var first, second atomic.Int64
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			first.Store(time.Now().UnixNano())
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		second.Store(time.Now().UnixNano())
		_, _ = io.WriteString(w, okFlow)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryAfter = 3 * time.Second })
	if _, err := c.ReadFlow(context.Background(), "f1"); err != nil {
		t.Fatal(err)
	}
	if gap := time.Duration(second.Load() - first.Load()); gap < 900*time.Millisecond {
		t.Fatalf("retried %s after a 429 with Retry-After: 1, want about a second", gap)
	}
}

// A Retry-After the request's deadline cannot accommodate ends the retries with the 429 and
// its Retry-After, instead of sleeping into a 504.
func TestRetryAfterBeyondTheDeadlineIsPassedOn(t *testing.T) {
	srv, attempts := scriptedServer(t, step{status: 429, retryAfter: "2", body: `{"detail":"slow down"}`})
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryAfter = 5 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := c.ReadFlow(ctx, "f1")
	pe, ok := AsError(err)
	if !ok || pe.Kind != KindRateLimited || pe.RetryAfter != 2*time.Second || pe.Message != "slow down" {
		t.Fatalf("error %v, want the 429 with Retry-After 2s", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the client slept into the deadline instead of answering at once")
	}
	if attempts.Load() != 1 {
		t.Fatalf("%d attempts, want 1", attempts.Load())
	}
}

// Retry-After as an HTTP date works too.
func TestRetryAfterHTTPDate(t *testing.T) {
	at := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	srv, _ := scriptedServer(t, step{status: 503, retryAfter: at})
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryAfter = time.Second })
	_, err := c.ReadFlow(context.Background(), "f1")
	pe, ok := AsError(err)
	if !ok || pe.Kind != KindUnavailable || pe.RetryAfter < 80*time.Second || pe.RetryAfter > 91*time.Second {
		t.Fatalf("error %v, want 503 with a Retry-After near 90s", err)
	}
}

func TestBackoffIsCappedExponentialWithJitter(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1", func(o *Options) {
		o.BaseBackoff = 100 * time.Millisecond
		o.MaxBackoff = time.Second
	})
	cases := []struct {
		attempt int
		ceiling time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond}, {4, 800 * time.Millisecond},
		{5, time.Second}, {12, time.Second}, {80, time.Second}}
	for _, tc := range cases {
		seen := map[time.Duration]bool{}
		var max time.Duration
		for i := 0; i < 500; i++ {
			d := c.backoffFor(tc.attempt)
			if d <= 0 || d > tc.ceiling {
				t.Fatalf("attempt %d: wait %s outside (0, %s]", tc.attempt, d, tc.ceiling)
			}
			seen[d] = true
			if d > max {
				max = d
			}
		}
		if len(seen) < 100 {
			t.Errorf("attempt %d: only %d distinct waits in 500: no jitter", tc.attempt, len(seen))
		}
		if max < tc.ceiling/2 {
			t.Errorf("attempt %d: longest wait %s, want the range to reach toward %s", tc.attempt, max, tc.ceiling)
		}
	}
}

// A refused connection never reached Prefect, so even a state change is tried again, and the
// error that comes out after the last attempt is "unavailable".
func TestRefusedConnectionIsRetriedForEveryCall(t *testing.T) {
	addr := closedAddr(t)
	rec := newRecorder()
	c := newTestClient(t, "http://"+addr, func(o *Options) { o.Observer = rec; o.MaxAttempts = 3 })
	_, err := c.SetFlowRunState(context.Background(), "r1", wire.StateCreate{Type: wire.Running}, false)
	if KindOf(err) != KindUnavailable {
		t.Fatalf("error %v, want unavailable", err)
	}
	if got := rec.retriesOf("flow_runs/{id}/set_state"); got != 2 {
		t.Fatalf("%d retries, want 2 (3 attempts)", got)
	}
	if rec.calls["flow_runs/{id}/set_state|unavailable"] != 3 {
		t.Fatalf("observed calls %v, want 3 unavailable attempts", rec.calls)
	}
}

// A hung Prefect ends in a timeout at the caller's deadline, not at the client's own (long)
// timeout, and is not retried past it.
func TestHungPrefectEndsAtTheDeadline(t *testing.T) {
	release := make(chan struct{})
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv.URL, func(o *Options) { o.Timeout = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := c.FilterFlows(ctx, wire.Query{}); done <- err }()
	select {
	case err := <-done:
		if KindOf(err) != KindTimeout {
			t.Fatalf("error %v, want a timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the call outlived its deadline")
	}
	if attempts.Load() != 1 {
		t.Fatalf("%d attempts, want 1: no retry after the deadline", attempts.Load())
	}
}

// Without a deadline on the caller's context, one hung attempt is cut by Options.Timeout and a
// safe call tries again.
func TestHungAttemptIsCutByTheClientTimeout(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, okFlow)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, func(o *Options) { o.Timeout = 200 * time.Millisecond })
	if _, err := c.ReadFlow(context.Background(), "f1"); err != nil {
		t.Fatalf("error %v, want the second attempt to succeed", err)
	}
	if n.Load() != 2 {
		t.Fatalf("%d attempts, want 2", n.Load())
	}
}

// A cancelled caller stops the retries at once.
func TestCancelStopsRetries(t *testing.T) {
	srv, attempts := scriptedServer(t, step{status: 503})
	c := newTestClient(t, srv.URL, func(o *Options) {
		o.BaseBackoff = time.Hour
		o.MaxBackoff = time.Hour
		o.MaxAttempts = 5
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	done := make(chan error, 1)
	go func() { _, err := c.ReadFlow(ctx, "f1"); done <- err }()
	select {
	case err := <-done:
		if KindOf(err) != KindUnavailable {
			t.Fatalf("error %v, want the last answer (503)", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a cancelled call kept waiting for its backoff")
	}
	if attempts.Load() != 1 {
		t.Fatalf("%d attempts, want 1", attempts.Load())
	}
}

// The client recovers by itself when Prefect comes back on the same address.
func TestRecoversWhenPrefectComesBack(t *testing.T) {
	addr := closedAddr(t)
	c := newTestClient(t, "http://"+addr)
	if _, err := c.ReadFlow(context.Background(), "f1"); KindOf(err) != KindUnavailable {
		t.Fatalf("while down: %v, want unavailable", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, okFlow)
	})}}
	srv.Start()
	defer srv.Close()
	if f, err := c.ReadFlow(context.Background(), "f1"); err != nil || f.Name != "etl" {
		t.Fatalf("after recovery: %+v %v", f, err)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// idempotentPrefect honours create_flow_run's contract: one run per idempotency key, 201 for
// the insert and 200 with the stored run (labels included) for every repeat. dropFirst loses
// the answer of the first create of each key after storing the run.
type idempotentPrefect struct {
	mu        sync.Mutex
	runs      map[string]map[string]any // key → run
	dropped   map[string]bool
	dropFirst bool
	// raceCreated answers 201 to repeats too, as Prefect can when two creates of one key race.
	raceCreated bool
}

func (p *idempotentPrefect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name           string         `json:"name"`
		IdempotencyKey string         `json:"idempotency_key"`
		Labels         map[string]any `json:"labels"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		w.WriteHeader(422)
		return
	}
	p.mu.Lock()
	run, exists := p.runs[body.IdempotencyKey]
	status := http.StatusOK
	if !exists {
		run = map[string]any{"id": "run-" + strconv.Itoa(len(p.runs)+1), "name": body.Name, "labels": body.Labels}
		p.runs[body.IdempotencyKey] = run
		status = http.StatusCreated
	}
	if p.raceCreated {
		status = http.StatusCreated
	}
	drop := p.dropFirst && !exists && !p.dropped[body.IdempotencyKey]
	if drop {
		p.dropped[body.IdempotencyKey] = true
	}
	p.mu.Unlock()
	if drop {
		hijackAndClose(w)
		return
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(run)
}

// Many concurrent keyed creates of one run, some of whose answers are lost, and even with
// Prefect claiming 201 for repeats: exactly one call is told it created the run.
func TestKeyedCreateTellsWhichCallCreatedTheRun(t *testing.T) {
	for _, tc := range []struct {
		name              string
		dropFirst, racing bool
	}{{"plain", false, false}, {"first answer lost", true, false}, {"prefect says 201 to repeats", false, true}, {"both", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			stub := &idempotentPrefect{runs: map[string]map[string]any{}, dropped: map[string]bool{}, dropFirst: tc.dropFirst, raceCreated: tc.racing}
			srv := httptest.NewServer(stub)
			defer srv.Close()
			c := newTestClient(t, srv.URL)
			const callers = 16
			var created atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for i := 0; i < callers; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					run, ok, err := c.CreateFlowRun(context.Background(), "d1", wire.FlowRunCreate{
						Name: "manual__x", IdempotencyKey: "airflow:d1:manual__x", Labels: map[string]any{"airflow.note": "n"}})
					if err != nil {
						errs <- err
						return
					}
					if run.ID != "run-1" {
						errs <- &Error{Kind: KindUnknown, Op: "unexpected run " + run.ID}
					}
					if ok {
						created.Add(1)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if created.Load() != 1 {
				t.Fatalf("%d callers were told they created the run, want exactly 1", created.Load())
			}
			if len(stub.runs) != 1 {
				t.Fatalf("%d runs stored, want 1", len(stub.runs))
			}
			if stub.runs["airflow:d1:manual__x"]["labels"].(map[string]any)["airflow.note"] != "n" {
				t.Fatal("the caller's own labels were lost")
			}
		})
	}
}

// The caller's label map is not written to.
func TestCreateFlowRunDoesNotTouchCallerLabels(t *testing.T) {
	stub := &idempotentPrefect{runs: map[string]map[string]any{}, dropped: map[string]bool{}}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	labels := map[string]any{"airflow.note": "n"}
	if _, _, err := newTestClient(t, srv.URL).CreateFlowRun(context.Background(), "d1",
		wire.FlowRunCreate{Name: "a", IdempotencyKey: "k", Labels: labels}); err != nil {
		t.Fatal(err)
	}
	if len(labels) != 1 {
		t.Fatalf("caller's labels became %v", labels)
	}
}

// Calls beyond the bounds wait their turn: writes one at a time here, reads alongside them
// up to the general bound, and a call whose deadline passes while queued is a timeout.
func TestConcurrencyBounds(t *testing.T) {
	var writes, reads, maxWrites, maxReads atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counter, peak := &reads, &maxReads
		if strings.HasSuffix(r.URL.Path, "/set_state") {
			counter, peak = &writes, &maxWrites
		}
		n := counter.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		counter.Add(-1)
		_, _ = io.WriteString(w, `{"status":"ACCEPT","details":{},"state":null}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxConcurrentCalls = 4; o.MaxConcurrentWrites = 1 })
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, _ = c.SetFlowRunState(context.Background(), "r1", wire.StateCreate{Type: wire.Running}, false)
		}()
		go func() { defer wg.Done(); _, _ = c.FilterFlows(context.Background(), wire.Query{}) }()
	}
	waitFor(t, func() bool { return writes.Load() == 1 && reads.Load() == 3 })
	// Every general slot is taken (1 write + 3 reads): a fifth call waits until its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.ReadFlow(ctx, "f1"); KindOf(err) != KindTimeout {
		t.Fatalf("a call queued past its deadline: %v, want a timeout", err)
	}
	close(release)
	wg.Wait()
	if maxWrites.Load() != 1 || maxReads.Load() != 3 {
		t.Fatalf("peak writes %d, peak reads %d; want 1 and 3", maxWrites.Load(), maxReads.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWhichCallsAreWrites(t *testing.T) {
	cases := []struct {
		method, path string
		write        bool
	}{
		{"GET", "/flows/f1", false},
		{"POST", "/flow_runs/filter", false},
		{"POST", "/flow_runs/count", false},
		{"POST", "/deployments/paginate", false},
		{"POST", "/deployments/d1/create_flow_run", true},
		{"POST", "/flow_runs/r1/set_state", true},
		{"PATCH", "/flow_runs/r1", true},
		{"DELETE", "/flow_runs/r1", true},
	}
	for _, tc := range cases {
		if got := (call{method: tc.method, path: tc.path}).isWrite(); got != tc.write {
			t.Errorf("%s %s: write=%v, want %v", tc.method, tc.path, got, tc.write)
		}
	}
}

// The write bound halves on overload and climbs back by one per bound's worth of clean
// answers, within [1, ceiling].
func TestAdaptiveWriteLimit(t *testing.T) {
	l := newAdaptiveLimit(4, 8)
	use := func(overload bool) {
		if err := l.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		l.release(overload)
	}
	steps := []struct {
		overload bool
		times    int
		want     int
	}{
		{false, 3, 4}, {false, 1, 5}, {false, 5, 6}, {true, 1, 3}, {true, 1, 1}, {true, 1, 1},
		{false, 1, 2}, {false, 2, 3}, {false, 100, 8},
	}
	for i, s := range steps {
		for n := 0; n < s.times; n++ {
			use(s.overload)
		}
		if got := l.current(); got != s.want {
			t.Fatalf("step %d: bound %d, want %d", i, got, s.want)
		}
	}
	// At the bound, one more waits until a slot frees or its context ends.
	l = newAdaptiveLimit(1, 1)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.acquire(ctx); err == nil {
		t.Fatal("a second write got past a bound of 1")
	}
	go func() { time.Sleep(20 * time.Millisecond); l.release(false) }()
	if err := l.acquire(context.Background()); err != nil {
		t.Fatalf("the freed slot was not handed on: %v", err)
	}
}

// Writes waiting for a slot get it first come, first served, and one that gives up while
// waiting leaves no slot taken.
func TestAdaptiveWriteLimitServesInOrder(t *testing.T) {
	l := newAdaptiveLimit(1, 1)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	queued := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			l.mu.Lock()
			got := l.waiting.Len()
			l.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiting, want %d", got, n)
			}
		}
	}
	order := make(chan int, 6)
	waiting := 0
	for i := range 6 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			if err := l.acquire(ctx); err != nil {
				order <- -i // gave up
				return
			}
			order <- i
			l.release(false)
		}()
		waiting++
		queued(waiting)
		if i == 2 {
			cancel() // the third gives up while it waits
			if got := <-order; got != -2 {
				t.Fatalf("the cancelled waiter reported %d", got)
			}
			waiting--
			queued(waiting)
			continue
		}
		defer cancel()
	}
	l.release(false)
	var got []int
	for range 5 {
		got = append(got, <-order)
	}
	if fmt.Sprint(got) != "[0 1 3 4 5]" {
		t.Errorf("served in the order %v, want [0 1 3 4 5]", got)
	}
	// Every slot is back: a write goes through at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := l.acquire(ctx); err != nil {
		t.Fatalf("a slot was lost: %v", err)
	}
}

// A write refused with 503 shrinks the bound; clean writes let it grow again.
func TestOverloadShrinksTheWriteBound(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"exception_message":"Service Unavailable"}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ACCEPT","details":{},"state":null}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxConcurrentWrites = 16 })
	if got := c.writeSlots.current(); got != 2 {
		t.Fatalf("initial bound %d, want 2", got)
	}
	for i := 0; i < 2; i++ {
		_, _ = c.SetFlowRunState(context.Background(), "r1", wire.StateCreate{Type: wire.Running}, false)
	}
	if got := c.writeSlots.current(); got != 1 {
		t.Fatalf("bound after 503s %d, want 1", got)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.SetFlowRunState(context.Background(), "r1", wire.StateCreate{Type: wire.Running}, false); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.writeSlots.current(); got != 3 {
		t.Fatalf("bound after three clean writes %d, want 3", got)
	}
}

// The label CreateFlowRun stamps is the one wire.FlowRunLabels reads back.
func TestTriggerLabelIsDecoded(t *testing.T) {
	f, ok := reflect.TypeOf(wire.FlowRunLabels{}).FieldByName("TriggerStamp")
	if !ok || strings.Split(f.Tag.Get("json"), ",")[0] != TriggerLabel {
		t.Errorf("wire.FlowRunLabels.TriggerStamp reads %q, want %q", f.Tag.Get("json"), TriggerLabel)
	}
}

// PaginateFlowRuns hands the answer to its reader; a reader that cannot read it makes the
// call fail as for any unreadable answer, and a safe call is tried again.
func TestPaginateReaderErrorIsAnUnreadableAnswer(t *testing.T) {
	page := `{"results":[{"id":"r1","name":"a"}],"count":1,"limit":1,"pages":1,"page":1}`
	srv, attempts := scriptedServer(t, step{status: 200, body: `{"results":[`}, step{status: 200, body: page})
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxAttempts = 3 })
	limit := 1
	var reads []string
	err := c.PaginateFlowRuns(context.Background(), wire.Query{Limit: &limit}, 1, func(answer []byte) error {
		reads = append(reads, string(answer))
		runs, count, err := DecodeFlowRunPage(answer)
		if err == nil && (len(runs) != 1 || runs[0].Name != "a" || count != 1) {
			t.Errorf("decoded %+v, %d", runs, count)
		}
		return err
	})
	if err != nil || attempts.Load() != 2 || len(reads) != 2 || reads[1] != page {
		t.Fatalf("err %v after %d attempts, reads %q", err, attempts.Load(), reads)
	}

	srv, attempts = scriptedServer(t, step{status: 200, body: page})
	c = newTestClient(t, srv.URL, func(o *Options) { o.MaxAttempts = 2 })
	err = c.PaginateFlowRuns(context.Background(), wire.Query{Limit: &limit}, 1, func([]byte) error { return errors.New("not the shape I read") })
	if pe, ok := AsError(err); !ok || pe.Kind != KindBadGateway || attempts.Load() != 2 {
		t.Fatalf("a reader's error: %v after %d attempts, want KindBadGateway after 2", err, attempts.Load())
	}
}

// FilterFlowRunsAnswer hands the array Prefect answered to its reader, tried again like any
// read when it cannot be read; a limit it cannot read whole is refused before any call.
func TestFilterFlowRunsAnswerReadsTheArray(t *testing.T) {
	runs := `[{"id":"r1","name":"a"},{"id":"r2","name":"b"}]`
	srv, attempts := scriptedServer(t, step{status: 200, body: `[{"id":`}, step{status: 200, body: runs})
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxAttempts = 3 })
	limit := 2
	var got []wire.FlowRun
	err := c.FilterFlowRunsAnswer(context.Background(), wire.Query{Limit: &limit}, func(answer []byte) error {
		got = nil
		return Decode(answer, &got)
	})
	if err != nil || attempts.Load() != 2 || len(got) != 2 || got[1].Name != "b" {
		t.Fatalf("err %v after %d attempts, runs %+v", err, attempts.Load(), got)
	}
	for _, bad := range []int{0, MaxLimit + 1} {
		err := c.FilterFlowRunsAnswer(context.Background(), wire.Query{Limit: &bad}, func([]byte) error { return nil })
		if pe, ok := AsError(err); !ok || pe.Kind != KindInvalid {
			t.Errorf("limit %d: %v, want KindInvalid", bad, err)
		}
	}
	if err := c.FilterFlowRunsAnswer(context.Background(), wire.Query{}, func([]byte) error { return nil }); err == nil {
		t.Error("no limit: no error")
	}
	if attempts.Load() != 2 {
		t.Errorf("refused limits reached Prefect: %d attempts in all", attempts.Load())
	}
}
