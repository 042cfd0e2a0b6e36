package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// What one request may cost Prefect is bounded by small constants or by the distinct ids it
// names, never by the byte length of its path or body (issue 12, items 1, 2 and 4).

func dottedID(prefix string, dots int) string {
	return prefix + strings.Repeat("a.", dots) + "b"
}

func TestDottedDAGIDCostIsBounded(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.addDeployment("etl", "x.y.z") // a deployment whose own name holds dots
	cases := []struct {
		name     string
		path     string
		status   int
		maxCalls int
	}{
		{"1,000 dots", "/dags/" + dottedID("etl.", 1000), 404, 0},
		{"50,000 dots (a 100 KB path)", "/dags/" + dottedID("etl.", 50000), 404, 0},
		{"runs of a 50,000-dot id", "/dags/" + dottedID("etl.", 50000) + "/dagRuns", 200, 0},
		{"124 dots, just under Airflow's 250", "/dags/" + dottedID("etl.", 122) + "/dagRuns", 200, 3},
		{"a deployment name with dots", "/dags/etl.x.y.z/dagRuns?limit=1", 200, 5},
	}
	for _, tc := range cases {
		e.fake.takeCalls()
		a := e.do(http.MethodGet, tc.path, "")
		calls := e.fake.takeCalls()
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d: %.200s", tc.name, a.status, tc.status, a.body)
		}
		resolverCalls := 0
		for _, c := range calls {
			if !strings.HasPrefix(c, "POST /flow_runs/") {
				resolverCalls++
			}
		}
		if resolverCalls > tc.maxCalls {
			t.Errorf("%s: %d Prefect calls to resolve the dag_id (%v), want at most %d", tc.name, resolverCalls, calls, tc.maxCalls)
		}
	}
	// The dotted deployment name resolved, through the flow that exists.
	a := e.do(http.MethodGet, "/dags/etl.x.y.z/dagRuns", "")
	if a.status != 200 {
		t.Errorf("etl.x.y.z: %d %s", a.status, a.body)
	}
}

// A batch list of many long, dotted ids: its Prefect calls grow with the distinct ids (and
// the flow names they could hold), its goroutines stay few, and ids longer than Airflow allows
// cost nothing.
func TestBatchListCostIsBoundedByDistinctIDs(t *testing.T) {
	e := newRunsEnv(t)
	var peak atomic.Int64
	base := int64(runtime.NumGoroutine())
	e.fake.onRequest = func(http.ResponseWriter, *http.Request) bool {
		if n := int64(runtime.NumGoroutine()) - base; n > peak.Load() {
			peak.Store(n)
		}
		return false
	}
	batch := func(ids []string) (int, []string) {
		body, _ := json.Marshal(map[string]any{"dag_ids": ids, "page_limit": 5})
		e.fake.takeCalls()
		a := e.do(http.MethodPost, "/dags/~/dagRuns/list", string(body))
		if a.status != 200 {
			t.Fatalf("batch of %d: %d %s", len(ids), a.status, a.body)
		}
		return a.status, e.fake.takeCalls()
	}

	long := make([]string, 400) // 400 ids of ~500 bytes: a 200 KB body
	for i := range long {
		long[i] = dottedID(fmt.Sprintf("etl%d.", i), 250)
	}
	if _, calls := batch(long); len(calls) > 0 {
		t.Errorf("400 ids longer than 250 characters cost %d Prefect calls, want none: %v", len(calls), calls[:min(len(calls), 5)])
	}

	under := make([]string, 400) // 400 distinct ids of 245 characters, 120 dots each
	for i := range under {
		under[i] = dottedID(fmt.Sprintf("e%03d.", i), 120)
	}
	_, calls := batch(under)
	// 4 tag lookups (100 ids each), 400×120 candidate flow names in 240 lookups of 200, no
	// deployment read (no such flow), and the listing itself.
	if len(calls) > 4+240+2 {
		t.Errorf("400 dotted ids cost %d Prefect calls, want at most %d", len(calls), 4+240+2)
	}
	if p := peak.Load(); p > 200 {
		t.Errorf("the batch ran %d goroutines more than at rest, want a few dozen at most", p)
	}
}

// Unknown ids are remembered for a short time: a batch of 2,000 unknown ids costs 20 tag
// lookups once, and nothing the second time.
func TestBatchListCachesUnknownIDs(t *testing.T) {
	e := newRunsEnv(t)
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = fmt.Sprintf("unknown_%d", i)
	}
	body, _ := json.Marshal(map[string]any{"dag_ids": ids})
	for round, max := range []int{20 + 2, 0 + 2} {
		e.fake.takeCalls()
		if a := e.do(http.MethodPost, "/dags/~/dagRuns/list", string(body)); a.status != 200 {
			t.Fatalf("round %d: %d %s", round, a.status, a.body)
		}
		if calls := e.fake.takeCalls(); len(calls) > max {
			t.Errorf("round %d: 2,000 unknown ids cost %d Prefect calls, want at most %d", round+1, len(calls), max)
		}
	}
}

// When the request ends (here its deadline), its lookups stop: nothing goes on calling
// Prefect in the background.
func TestBatchLookupsStopWithTheRequest(t *testing.T) {
	var inFlight atomic.Int64
	var once sync.Once
	started := make(chan struct{})
	e := newRunsEnv(t, func(o *Options) { o.RequestTimeout = 300 * time.Millisecond })
	e.fake.onRequest = func(w http.ResponseWriter, r *http.Request) bool {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		once.Do(func() { close(started) })
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the caller hanging up
		<-r.Context().Done()               // a Prefect that never answers: only a cancelled call ends
		return true
	}
	ids := make([]string, 400)
	for i := range ids {
		ids[i] = dottedID(fmt.Sprintf("x%d.", i), 30)
	}
	body, _ := json.Marshal(map[string]any{"dag_ids": ids})
	a := e.do(http.MethodPost, "/dags/~/dagRuns/list", string(body))
	if a.status != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504: %s", a.status, a.body)
	}
	<-started
	deadline := time.Now().Add(5 * time.Second)
	for inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := inFlight.Load(); n > 0 {
		t.Errorf("%d Prefect calls still in flight 5 s after the request ended", n)
	}
	before := len(e.fake.takeCalls())
	time.Sleep(100 * time.Millisecond)
	if after := len(e.fake.takeCalls()); after > 0 {
		t.Errorf("%d Prefect calls started after the request ended (%d before)", after, before)
	}
}
