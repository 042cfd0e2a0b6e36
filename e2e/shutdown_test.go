package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/faultproxy"
	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/prefect/wire"
)

// isDialError is a request that never reached the gateway: its listener was already closed.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// loadResult is one request of a load test.
type loadResult struct {
	op      string
	status  int
	body    []byte
	err     error
	started time.Time
	ended   time.Time
}

// SIGTERM while requests are in flight fails none of them: reads and triggers that reached
// the gateway before or during the drain get their real answer, every answered trigger is a
// run in Prefect, and the process exits 0. Prefect is slowed down by a proxy so that many
// requests are in flight when the signal arrives.
func TestSIGTERMUnderLoadFailsNoInFlightRequest(t *testing.T) {
	ctx := testCtx(t)
	if _, err := seed.Deployment(ctx, "shutdown_flow", "load", nil); err != nil {
		t.Fatal(err)
	}
	const dagID = "shutdown_flow.load"
	bin := harness.BuildGateway(t)
	proxy, err := faultproxy.Start(prefectServer.URL, func(r *http.Request, _ []byte) faultproxy.Fault {
		return faultproxy.Fault{Delay: 150 * time.Millisecond}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()

	gw := harness.StartProcess(t, bin, []string{"GATEWAY_SHUTDOWN_TIMEOUT=30s", "GATEWAY_LOG_LEVEL=warn"},
		"--auth-mode", "none", "--prefect-api-url", proxy.URL)
	base := "http://" + gw.Addr + "/api/v1"

	validator, err := harness.AirflowValidator()
	if err != nil {
		t.Fatal(err)
	}
	// Reads reuse connections, as clients do; triggers use a fresh connection each, so that a
	// trigger never races the server closing an idle keep-alive connection (a request the
	// gateway never read is not in flight, and Go would not resend a POST by itself).
	reads := &http.Client{Timeout: 60 * time.Second}
	writes := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	send := func(op, method, path string, body []byte) loadResult {
		r := loadResult{op: op, started: time.Now()}
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		client := reads
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
			client = writes
		}
		res, err := client.Do(req)
		if err != nil {
			r.err, r.ended = err, time.Now()
			return r
		}
		defer res.Body.Close()
		r.body, r.err = io.ReadAll(res.Body)
		r.status, r.ended = res.StatusCode, time.Now()
		vreq, _ := http.NewRequest(method, "http://gateway/api/v1"+path, bytes.NewReader(body))
		vreq.Header = req.Header.Clone()
		if err := validator.Check(vreq, res.StatusCode, res.Header, r.body); err != nil {
			t.Errorf("%v", err)
		}
		return r
	}

	const workers = 16
	var (
		mu       sync.Mutex
		results  []loadResult
		inFlight atomic.Int64
		seq      atomic.Int64
		wg       sync.WaitGroup
	)
	stop := time.Now().Add(45 * time.Second) // bound, whatever happens
	runStamp := time.Now().UnixNano()        // run ids unique to this run: the server is shared (-count)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				var r loadResult
				inFlight.Add(1)
				switch (w + i) % 4 {
				case 0:
					r = send("health", "GET", "/health", nil)
				case 1:
					r = send("get dag", "GET", "/dags/"+dagID, nil)
				case 2:
					r = send("list runs", "GET", "/dags/"+dagID+"/dagRuns?limit=5", nil)
				default:
					id := fmt.Sprintf("shutdown-%d-%d", runStamp, seq.Add(1))
					r = send("trigger "+id, "POST", "/dags/"+dagID+"/dagRuns", []byte(`{"dag_run_id":"`+id+`"}`))
				}
				inFlight.Add(-1)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if r.err != nil && isDialError(r.err) {
					return // the gateway is gone: this worker is done
				}
			}
		}(w)
	}

	time.Sleep(1500 * time.Millisecond)
	atSignal := inFlight.Load()
	signalled := time.Now()
	if err := gw.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := gw.Wait(40 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v, want exit 0\nlog:\n%s", err, gw.Stderr)
	}

	if atSignal < workers/2 {
		t.Fatalf("only %d requests in flight at SIGTERM, want at least %d: the test proves nothing", atSignal, workers/2)
	}
	var beforeSignal, drained, refused int
	var triggered []string
	for _, r := range results {
		switch {
		case r.err != nil && isDialError(r.err):
			// The connection never reached the gateway: refused by the closed listener, or
			// reset while it still sat in the kernel's accept queue as the listener closed
			// (a request that started microseconds before SIGTERM). Not a request in flight.
			refused++
			continue
		case r.err != nil:
			t.Errorf("%s (started %s before SIGTERM) failed: %v", r.op, signalled.Sub(r.started), r.err)
			continue
		}
		want := http.StatusOK
		if r.status != want {
			t.Errorf("%s answered %d %s, want %d", r.op, r.status, r.body, want)
		}
		if r.started.Before(signalled) {
			beforeSignal++
		}
		if r.ended.After(signalled) {
			drained++
		}
		if id, ok := strings.CutPrefix(r.op, "trigger "); ok && r.status == http.StatusOK {
			var run struct {
				DAGRunID string `json:"dag_run_id"`
			}
			if err := json.Unmarshal(r.body, &run); err != nil || run.DAGRunID != id {
				t.Errorf("%s answered %s", r.op, r.body)
			}
			triggered = append(triggered, id)
		}
	}
	if drained == 0 {
		t.Fatal("no request finished after SIGTERM: nothing was drained")
	}
	if refused == 0 {
		t.Error("no request was refused after the drain: the listener stayed open")
	}
	t.Logf("%d requests in flight at SIGTERM, %d answered after it, %d answered in all before it, %d refused once closed",
		atSignal, drained, beforeSignal, refused)

	// Every trigger the client was told about is a run in Prefect.
	found := 0
	for start := 0; start < len(triggered); start += 200 {
		batch := triggered[start:min(start+200, len(triggered))]
		limit := len(batch)
		runs, err := seed.C.FilterFlowRuns(ctx, wire.Query{FlowRuns: &wire.FlowRunFilter{Name: &wire.NameMatch{Any: batch}}, Limit: &limit})
		if err != nil {
			t.Fatal(err)
		}
		found += len(runs)
	}
	if found != len(triggered) {
		t.Fatalf("%d triggers answered 200, %d of them are runs in Prefect", len(triggered), found)
	}
}
