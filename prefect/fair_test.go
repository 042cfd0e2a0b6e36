package prefect

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustAcquire(t *testing.T, f *fairSlots, caller string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := f.acquire(ctx, caller); err != nil {
		t.Fatalf("%s: %v", caller, err)
	}
}

// A freed slot goes to the waiting caller holding the fewest, and nobody holds more than a
// share.
func TestFairSlotsServeTheLightestCallerFirst(t *testing.T) {
	f := newFairSlots(4, 3)
	for i := 0; i < 3; i++ {
		mustAcquire(t, f, "hog")
	}
	// The hog is at its share: its fourth call waits though a slot is free...
	hogGot := make(chan int, 10)
	for i := 0; i < 5; i++ {
		go func() {
			if f.acquire(context.Background(), "hog") == nil {
				hogGot <- 1
			}
		}()
	}
	// ...and another caller takes the free slot at once.
	mustAcquire(t, f, "alice")
	// Now full. bob waits behind the hog's five waiters, but gets the next slot.
	bobGot := make(chan struct{})
	waitQueued := func(n int) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			f.mu.Lock()
			q := f.waiting.Len()
			f.mu.Unlock()
			if q >= n || time.Now().After(deadline) {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitQueued(5)
	go func() { mustAcquire(t, f, "bob"); close(bobGot) }()
	waitQueued(6)
	f.release("hog")
	select {
	case <-bobGot:
	case <-time.After(5 * time.Second):
		t.Fatal("bob did not get the freed slot")
	}
	select {
	case <-hogGot:
		t.Fatal("the hog got a slot before bob")
	default:
	}
	f.release("alice") // the hog holds 2 now: one of its waiters goes
	select {
	case <-hogGot:
	case <-time.After(5 * time.Second):
		t.Fatal("the hog's waiter did not get the freed slot")
	}
	// A waiter that gives up leaves the queue.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := f.acquire(ctx, "carol"); err == nil {
		t.Error("carol got a slot of a full bound")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for e := f.waiting.Front(); e != nil; e = e.Next() {
		if e.Value.(*slotWaiter).caller == "carol" {
			t.Error("carol is still queued after giving up")
		}
	}
}

// Through the client, against a slow Prefect: three callers flooding it hold at most their
// share of the slots, and a fourth caller's one call goes out long before their queues drain
// (issue 12, item 3: an Admin's small list waited 9.4 s behind three Viewers).
func TestOneCallerCannotTakeEverySlot(t *testing.T) {
	var (
		mu              sync.Mutex
		order           []string
		inFlight, peak  atomic.Int32
		release         = make(chan struct{})
		releaseOnce     sync.Once
		victimArrived   = make(chan struct{})
		victimArrivedAt atomic.Int32
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		who := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		order = append(order, who)
		pos := len(order)
		mu.Unlock()
		if who == "victim" {
			victimArrivedAt.Store(int32(pos))
			close(victimArrived)
		}
		select { // hogs' calls are slow: each waits until the victim has been served
		case <-release:
		case <-time.After(50 * time.Millisecond):
		}
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(hs.Close)
	c, err := New(Options{BaseURL: hs.URL + "/api", MaxConcurrentCalls: 8, MaxConcurrentCallsPerCaller: 2, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const perHog = 20
	for h := 0; h < 3; h++ {
		hog := fmt.Sprintf("hog%d", h)
		ctx := WithCaller(WithCredential(context.Background(), BearerCredential(hog)), hog)
		for i := 0; i < perHog; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = c.FilterFlows(ctx, wireQuery()) }()
		}
	}
	// Let the hogs fill their shares and queue the rest.
	deadline := time.Now().Add(5 * time.Second)
	for inFlight.Load() < 6 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	vctx := WithCaller(WithCredential(context.Background(), BearerCredential("victim")), "victim")
	if _, err := c.FilterFlows(vctx, wireQuery()); err != nil {
		t.Fatal(err)
	}
	<-victimArrived
	releaseOnce.Do(func() { close(release) })
	wg.Wait()
	if p := peak.Load(); p > 8 {
		t.Errorf("%d calls in flight at once, bound 8", p)
	}
	// The victim's call went out among the first few, not after the hogs' 60.
	if at := victimArrivedAt.Load(); at > 12 {
		t.Errorf("the victim's call was number %d to reach Prefect, behind the hogs' queues", at)
	}
}
