package prefect

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// deploymentsStub answers the three reads the resolver makes, from a fixed set of
// deployments, counting calls.
type deploymentsStub struct {
	flows []wire.Flow
	deps  []wire.Deployment
	delay time.Duration
	calls atomic.Int32
	mu    sync.Mutex
	paths []string
}

func (s *deploymentsStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	s.mu.Lock()
	s.paths = append(s.paths, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	time.Sleep(s.delay)
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimPrefix(r.URL.Path, "/api")
	var q wire.Query
	if r.Body != nil {
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &q)
	}
	flowName := func(id string) string {
		for _, f := range s.flows {
			if f.ID == id {
				return f.Name
			}
		}
		return ""
	}
	switch {
	case strings.HasPrefix(path, "/deployments/name/"):
		parts := strings.Split(strings.TrimPrefix(path, "/deployments/name/"), "/")
		for _, d := range s.deps {
			if flowName(d.FlowID) == parts[0] && d.Name == parts[1] {
				_ = json.NewEncoder(w).Encode(d)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"detail":"Deployment not found"}`)
	case path == "/deployments/filter":
		out := []wire.Deployment{}
		for _, d := range s.deps {
			if f := q.Deployments; f != nil {
				if f.ID != nil && !slices.Contains(f.ID.Any, d.ID) {
					continue
				}
				if f.Tags != nil && f.Tags.All != nil && !slices.ContainsFunc(f.Tags.All, func(t string) bool { return slices.Contains(d.Tags, t) }) {
					continue
				}
				if f.Tags != nil && f.Tags.Any != nil && !slices.ContainsFunc(f.Tags.Any, func(t string) bool { return slices.Contains(d.Tags, t) }) {
					continue
				}
				if f.Name != nil && !slices.Contains(f.Name.Any, d.Name) {
					continue
				}
			}
			if q.Flows != nil && q.Flows.ID != nil && !slices.Contains(q.Flows.ID.Any, d.FlowID) {
				continue
			}
			out = append(out, d)
		}
		if q.Offset < len(out) {
			out = out[q.Offset:]
		} else {
			out = nil
		}
		if q.Limit != nil && *q.Limit < len(out) {
			out = out[:*q.Limit]
		}
		_ = json.NewEncoder(w).Encode(out)
	case path == "/flows/filter":
		out := []wire.Flow{}
		for _, f := range s.flows {
			if q.Flows != nil && q.Flows.ID != nil && !slices.Contains(q.Flows.ID.Any, f.ID) {
				continue
			}
			if q.Flows != nil && q.Flows.Name != nil && !slices.Contains(q.Flows.Name.Any, f.Name) {
				continue
			}
			out = append(out, f)
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"detail":"Not Found"}`)
	}
}

func newResolverUnderTest(t *testing.T, stub *deploymentsStub, aliases map[string]string) *Resolver {
	t.Helper()
	hs := httptest.NewServer(stub)
	t.Cleanup(hs.Close)
	c, err := New(Options{BaseURL: hs.URL + "/api", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewResolver(c, time.Minute, aliases)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func resolverFixture() *deploymentsStub {
	return &deploymentsStub{
		flows: []wire.Flow{{ID: "f-etl", Name: "etl"}, {ID: "f-etl.v2", Name: "etl.v2"}, {ID: "f-a", Name: "a"}, {ID: "f-a.b", Name: "a.b"}},
		deps: []wire.Deployment{
			{ID: "d-daily", Name: "daily", FlowID: "f-etl"},
			{ID: "d-v2-daily", Name: "daily", FlowID: "f-etl.v2"}, // flow name with a dot
			{ID: "d-legacy", Name: "nightly", FlowID: "f-etl", Tags: []string{"team:x", "airflow-dag-id:legacy_etl"}},
			{ID: "d-aliased", Name: "hourly", FlowID: "f-etl"}, // aliased in config
			{ID: "d-deep", Name: "x.y.z", FlowID: "f-etl"},     // etl.x.y.z: three split points
			{ID: "d-a-bcd", Name: "b.c.d", FlowID: "f-a"},      // a.b.c.d one way...
			{ID: "d-ab-cd", Name: "c.d", FlowID: "f-a.b"},      // ...and another
			{ID: "d-ab-c", Name: "c", FlowID: "f-a.b"},         // a.b.c one way...
			{ID: "d-a-bc", Name: "b.c", FlowID: "f-a"},         // ...and the other
			{ID: "d-dup1", Name: "x", FlowID: "f-a", Tags: []string{"airflow-dag-id:twice"}},
			{ID: "d-dup2", Name: "y", FlowID: "f-a", Tags: []string{"airflow-dag-id:twice"}},
		},
	}
}

func TestResolve(t *testing.T) {
	stub := resolverFixture()
	r := newResolverUnderTest(t, stub, map[string]string{"hourly_etl": "etl/hourly", "missing_alias": "etl/none"})
	cases := []struct {
		dagID      string
		wantDep    string
		wantFlow   string
		wantErr    error
		ambiguous  []string
		wantDAGIDs string // DAGID of the resolved deployment, as listings show it
	}{
		{dagID: "etl.daily", wantDep: "d-daily", wantFlow: "etl"},
		{dagID: "etl.v2.daily", wantDep: "d-v2-daily", wantFlow: "etl.v2"},
		{dagID: "legacy_etl", wantDep: "d-legacy", wantFlow: "etl"},
		{dagID: "etl.nightly", wantErr: ErrDAGNotFound}, // known by its tag only
		{dagID: "hourly_etl", wantDep: "d-aliased", wantFlow: "etl"},
		{dagID: "etl.hourly", wantErr: ErrDAGNotFound}, // known by its alias only
		{dagID: "missing_alias", wantErr: ErrDAGNotFound},
		{dagID: "etl.none", wantErr: ErrDAGNotFound},
		{dagID: "nodots", wantErr: ErrDAGNotFound},
		{dagID: "", wantErr: ErrDAGNotFound},
		{dagID: "a.b.c", ambiguous: []string{"a.b/c", "a/b.c"}},
		{dagID: "etl.x.y.z", wantDep: "d-deep", wantFlow: "etl"},
		{dagID: "a.b.c.d", ambiguous: []string{"a.b/c.d", "a/b.c.d"}},
		{dagID: "etl." + strings.Repeat("a.", 130) + "b", wantErr: ErrDAGNotFound}, // longer than 250
		{dagID: "twice", ambiguous: []string{"a/x", "a/y"}},
	}
	for _, tc := range cases {
		t.Run(tc.dagID, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tc.dagID)
			var amb *AmbiguousDAGError
			switch {
			case tc.ambiguous != nil:
				if !errors.As(err, &amb) || !slices.Equal(amb.Candidates, tc.ambiguous) {
					t.Fatalf("err = %v, want ambiguity between %v", err, tc.ambiguous)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			default:
				if err != nil || got.Deployment.ID != tc.wantDep || got.FlowName != tc.wantFlow || got.DAGID != tc.dagID {
					t.Fatalf("Resolve = %+v, %v; want deployment %s of flow %s", got, err, tc.wantDep, tc.wantFlow)
				}
				if id := r.DAGID(got.Deployment, got.FlowName); id != tc.dagID {
					t.Errorf("DAGID of the resolved deployment = %q, want %q (one DAG, one id)", id, tc.dagID)
				}
			}
		})
	}
}

func TestResolveCachesAndEvicts(t *testing.T) {
	stub := resolverFixture()
	r := newResolverUnderTest(t, stub, nil)
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "etl.daily"); err != nil {
		t.Fatal(err)
	}
	cold := stub.calls.Load()
	if cold != 2 { // the tag lookup and the one split point, together
		t.Errorf("a cold resolution cost %d calls, want 2", cold)
	}
	for i := 0; i < 5; i++ {
		if _, err := r.Resolve(ctx, "etl.daily"); err != nil {
			t.Fatal(err)
		}
	}
	if n := stub.calls.Load() - cold; n != 0 {
		t.Errorf("cache hits cost %d calls", n)
	}
	r.Invalidate(ctx, "etl.daily")
	if _, err := r.Resolve(ctx, "etl.daily"); err != nil || stub.calls.Load() != 2*cold {
		t.Errorf("after Invalidate: %v, %d calls in all, want %d", err, stub.calls.Load(), 2*cold)
	}
	// Another upstream credential never sees this one's cache.
	other := WithCredential(ctx, BearerCredential("pnu_other"))
	before := stub.calls.Load()
	if _, err := r.Resolve(other, "etl.daily"); err != nil || stub.calls.Load() == before {
		t.Errorf("a second credential was answered from the first one's cache")
	}
}

// Concurrent misses for one dag_id make one set of Prefect calls.
func TestResolveCollapsesConcurrentMisses(t *testing.T) {
	stub := resolverFixture()
	stub.delay = 50 * time.Millisecond
	r := newResolverUnderTest(t, stub, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := r.Resolve(context.Background(), "etl.daily")
			if err == nil && d.Deployment.ID != "d-daily" {
				err = errors.New("wrong deployment " + d.Deployment.ID)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := stub.calls.Load(); n != 2 {
		t.Errorf("20 concurrent misses cost %d calls, want 2", n)
	}
}

// A caller that gives up does not fail the others waiting on the same resolution, and
// the result still lands in the cache.
func TestResolveOutlivesAnImpatientCaller(t *testing.T) {
	stub := resolverFixture()
	stub.delay = 100 * time.Millisecond
	r := newResolverUnderTest(t, stub, nil)
	impatient, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := r.Resolve(context.Background(), "etl.daily")
		done <- err
	}()
	if _, err := r.Resolve(impatient, "etl.daily"); KindOf(err) != KindTimeout {
		t.Errorf("impatient caller got %v, want a timeout", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("patient caller: %v", err)
	}
	before := stub.calls.Load()
	if _, err := r.Resolve(context.Background(), "etl.daily"); err != nil || stub.calls.Load() != before {
		t.Errorf("the shared result was not cached")
	}
}

func TestByDeploymentIDsAndAll(t *testing.T) {
	stub := resolverFixture()
	r := newResolverUnderTest(t, stub, map[string]string{"hourly_etl": "etl/hourly"})
	ctx := context.Background()
	got, err := r.ByDeploymentIDs(ctx, []string{"d-daily", "d-legacy", "d-aliased", "d-gone", "d-daily"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"d-daily": "etl.daily", "d-legacy": "legacy_etl", "d-aliased": "hourly_etl"}
	if len(got) != len(want) {
		t.Errorf("got %d deployments, want %d", len(got), len(want))
	}
	for id, dagID := range want {
		if got[id].DAGID != dagID {
			t.Errorf("%s → %q, want %q", id, got[id].DAGID, dagID)
		}
	}
	if n := stub.calls.Load(); n != 2 { // the deployments, then their flows' names
		t.Errorf("cost %d calls, want 2", n)
	}
	// What a listing read is remembered: resolving those ids costs nothing now.
	before := stub.calls.Load()
	for _, id := range []string{"etl.daily", "legacy_etl", "hourly_etl"} {
		if _, err := r.Resolve(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.ByDeploymentIDs(ctx, []string{"d-daily", "d-legacy"}); err != nil {
		t.Fatal(err)
	}
	if n := stub.calls.Load() - before; n != 0 {
		t.Errorf("remembered deployments cost %d calls", n)
	}
	all, err := r.All(ctx)
	if err != nil || len(all) != len(stub.deps) {
		t.Fatalf("All = %d deployments, %v; want %d", len(all), err, len(stub.deps))
	}
}
