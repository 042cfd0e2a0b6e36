package prefect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSplitPoints(t *testing.T) {
	cases := []struct {
		id   string
		want []splitPoint
	}{
		{"etl.daily", []splitPoint{{"etl", "daily"}}},
		{"a.b.c", []splitPoint{{"a.b", "c"}, {"a", "b.c"}}},
		{"nodots", nil},
		{".lead", nil},
		{"trail.", nil},
		{"a/b.c", nil}, // a flow name cannot hold '/' on deployments/name/{flow}/{deployment}
		{"a..b", []splitPoint{{"a.", "b"}, {"a", ".b"}}},
	}
	for _, tc := range cases {
		if got := splitPoints(tc.id); !slices.Equal(got, tc.want) {
			t.Errorf("splitPoints(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// The calls one dag_id costs are bounded whatever its length: by nothing over Airflow's 250
// characters, by a few below it.
func TestResolveCostIsBounded(t *testing.T) {
	cases := []struct {
		id       string
		maxCalls int32
	}{
		{"etl.daily", 2},
		{"etl.x.y.z", 3},
		{"etl." + strings.Repeat("a.", 120) + "b", 3}, // 121 split points: tag, flows, the one flow that exists
		{"etl." + strings.Repeat("a.", 1000) + "b", 0},
		{"etl." + strings.Repeat("a.", 50000) + "b", 0},
	}
	for _, tc := range cases {
		stub := resolverFixture()
		r := newResolverUnderTest(t, stub, nil)
		_, _ = r.Resolve(context.Background(), tc.id)
		if n := stub.calls.Load(); n > tc.maxCalls {
			t.Errorf("%.20s… (%d bytes): %d calls, want at most %d", tc.id, len(tc.id), n, tc.maxCalls)
		}
	}
}

// An unknown dag_id is remembered as unknown for the miss TTL, and a listing that finds it
// afterwards replaces that at once.
func TestResolveCachesMisses(t *testing.T) {
	stub := resolverFixture()
	hs := httptest.NewServer(stub)
	t.Cleanup(hs.Close)
	c, _ := New(Options{BaseURL: hs.URL + "/api", MaxAttempts: 1})
	r, err := NewResolver(c, time.Minute, nil, WithMissTTL(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := r.Resolve(ctx, "etl.unknown"); !errors.Is(err, ErrDAGNotFound) {
			t.Fatal(err)
		}
	}
	if n := stub.calls.Load(); n != 2 {
		t.Errorf("three lookups of one unknown id cost %d calls, want 2", n)
	}
	time.Sleep(60 * time.Millisecond) // the miss TTL, past
	if _, err := r.Resolve(ctx, "etl.unknown"); !errors.Is(err, ErrDAGNotFound) || stub.calls.Load() != 4 {
		t.Errorf("after the miss TTL: %v, %d calls in all, want 4", err, stub.calls.Load())
	}
	r.Remember(ctx, ResolvedDAG{DAGID: "etl.unknown", FlowName: "etl"})
	if _, err := r.Resolve(ctx, "etl.unknown"); err != nil {
		t.Errorf("a remembered DAG is still answered as unknown: %v", err)
	}
}

// A resolution nobody waits for any more stops: its Prefect call is cancelled.
func TestResolveStopsWhenEveryCallerLeaves(t *testing.T) {
	var inFlight atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the caller hanging up
		<-r.Context().Done()
	}))
	t.Cleanup(hs.Close)
	c, _ := New(Options{BaseURL: hs.URL + "/api", MaxAttempts: 1, Timeout: time.Minute})
	r, _ := NewResolver(c, time.Minute, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Resolve(ctx, "etl.daily"); KindOf(err) != KindTimeout {
				t.Errorf("got %v, want a timeout", err)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := inFlight.Load(); n != 0 {
		t.Errorf("%d Prefect calls still in flight after every caller left", n)
	}
}

// ResolveMany shares calls between its ids: one tag lookup per 100, one flow lookup per 200
// candidate flow names, and the same answers Resolve gives one by one.
func TestResolveMany(t *testing.T) {
	stub := resolverFixture()
	r := newResolverUnderTest(t, stub, map[string]string{"hourly_etl": "etl/hourly"})
	ids := []string{"etl.daily", "etl.v2.daily", "legacy_etl", "hourly_etl", "etl.x.y.z", "etl.none", "nodots", "etl.daily"}
	for i := 0; i < 300; i++ {
		ids = append(ids, fmt.Sprintf("unknown_%d", i))
	}
	got, err := r.ResolveMany(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"etl.daily": "d-daily", "etl.v2.daily": "d-v2-daily", "legacy_etl": "d-legacy",
		"hourly_etl": "d-aliased", "etl.x.y.z": "d-deep"}
	if len(got) != len(want) {
		t.Errorf("got %d DAGs, want %d: %v", len(got), len(want), got)
	}
	for id, dep := range want {
		if got[id].Deployment.ID != dep || got[id].DAGID != id {
			t.Errorf("%s → %+v, want deployment %s", id, got[id], dep)
		}
	}
	// 4 tag lookups (306 canonical ids), 1 flows lookup, 1 filter of etl's deployments, the
	// alias read, the tagged deployment's flow name (cached by the flows lookup: none).
	if n := stub.calls.Load(); n > 8 {
		t.Errorf("ResolveMany cost %d calls, want at most 8: %v", n, stub.paths)
	}
	if _, err := r.ResolveMany(context.Background(), []string{"a.b.c.d", "etl.daily"}); err == nil {
		t.Error("an ambiguous id in a batch was not reported")
	}
	before := stub.calls.Load()
	if _, err := r.ResolveMany(context.Background(), ids); err != nil || stub.calls.Load() != before {
		t.Errorf("a second identical batch cost %d calls, want 0 (%v)", stub.calls.Load()-before, err)
	}
}
