package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
)

// SIGTERM while many requests are in flight: every request the gateway had accepted gets its
// real answer, new connections are refused once the listener is closed, and the process exits
// 0. Prefect is a stub whose /ready takes 300 ms, so that the requests pile up in flight.
// (e2e/shutdown_test.go does the same with the real Prefect server and triggers.)
func TestSIGTERMUnderLoadDrainsEveryInFlightRequest(t *testing.T) {
	bin := harness.BuildGateway(t)
	prefect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/ready" {
			time.Sleep(300 * time.Millisecond)
		}
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	}))
	defer prefect.Close()

	gw := harness.StartProcess(t, bin, []string{"GATEWAY_SHUTDOWN_TIMEOUT=20s", "GATEWAY_LOG_LEVEL=warn"},
		"--auth-mode", "none", "--prefect-api-url", prefect.URL+"/api")
	addr := gw.Addr

	type outcome struct {
		started time.Time
		status  int
		err     error
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		inFlight atomic.Int64
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	stop := time.Now().Add(30 * time.Second)
	for w := 0; w < 24; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				o := outcome{started: time.Now()}
				inFlight.Add(1)
				res, err := client.Get("http://" + addr + "/api/v1/health")
				inFlight.Add(-1)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					o.status = res.StatusCode
				}
				o.err = err
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				var op *net.OpError
				if errors.As(err, &op) && op.Op == "dial" {
					return
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	atSignal := inFlight.Load()
	signalled := time.Now()
	if err := gw.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := gw.Wait(30 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v, want exit 0\nlog:\n%s", err, gw.Stderr)
	}
	if atSignal < 12 {
		t.Fatalf("%d requests in flight at SIGTERM, want at least 12: the test proves nothing", atSignal)
	}
	var answeredBefore, refused int
	for _, o := range outcomes {
		var op *net.OpError
		switch {
		case o.err != nil && errors.As(o.err, &op) && op.Op == "dial":
			refused++
		case o.err != nil:
			t.Errorf("request started %s before SIGTERM failed: %v", signalled.Sub(o.started), o.err)
		case o.status != http.StatusOK:
			t.Errorf("request answered %d, want 200", o.status)
		case o.started.Before(signalled):
			answeredBefore++
		}
	}
	if refused == 0 {
		t.Error("no request was refused after the drain: the listener stayed open")
	}
	t.Logf("%d in flight at SIGTERM; %d started before it, all answered 200; %d refused after", atSignal, answeredBefore, refused)
}
