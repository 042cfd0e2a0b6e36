package prefect

import (
	"container/list"
	"context"
	"sync"
)

// Upstream slots are shared fairly between callers (DESIGN §10): no caller (a user, a
// passthrough credential, a client address) holds more than perCaller of them at once (by
// default three quarters, so that a quarter is always left for the others), and a
// freed slot goes to the waiting caller that holds the fewest, the longest-waiting first among
// equals. A user who floods the gateway then queues behind their own calls, and everyone else
// still gets a slot as soon as one frees. golang.org/x/sync/semaphore hands slots out in
// plain FIFO order, which is exactly what lets one caller's queue starve the others; keyed
// weighted-fair queueing is not in a library this project uses, so it is these few lines.

// WithCaller names who a call is made for, for the fair share of upstream slots. Calls
// without one (the caller "") are bounded by the total only.
func WithCaller(ctx context.Context, caller string) context.Context {
	return context.WithValue(ctx, callerKey, caller)
}

func callerOf(ctx context.Context) string {
	c, _ := ctx.Value(callerKey).(string)
	return c
}

type fairSlots struct {
	mu        sync.Mutex
	capacity  int
	perCaller int
	inUse     int
	held      map[string]int
	waiting   list.List // *slotWaiter, oldest first
}

type slotWaiter struct {
	caller  string
	ready   chan struct{}
	granted bool
}

// newFairSlots bounds calls in flight to capacity (nil, no bound, when capacity < 0) and each
// caller's to perCaller (default, 0: three quarters of capacity, at least one; negative: none).
func newFairSlots(capacity, perCaller int) *fairSlots {
	switch {
	case capacity < 0:
		return nil
	case capacity == 0:
		capacity = 32
	}
	switch {
	case perCaller == 0:
		perCaller = max(1, capacity-capacity/4)
	case perCaller < 0 || perCaller > capacity:
		perCaller = capacity
	}
	return &fairSlots{capacity: capacity, perCaller: perCaller, held: map[string]int{}}
}

// acquire takes a slot for caller, waiting its fair turn, or gives up when ctx ends first.
func (f *fairSlots) acquire(ctx context.Context, caller string) error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	// A free slot means nobody eligible is waiting (release hands slots on at once).
	if f.inUse < f.capacity && f.underShare(caller) {
		f.take(caller)
		f.mu.Unlock()
		return nil
	}
	w := &slotWaiter{caller: caller, ready: make(chan struct{})}
	el := f.waiting.PushBack(w)
	f.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		if w.granted { // granted as we gave up: hand it on
			f.releaseLocked(caller)
		} else {
			f.waiting.Remove(el)
		}
		f.mu.Unlock()
		return ctx.Err()
	}
}

func (f *fairSlots) release(caller string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.releaseLocked(caller)
	f.mu.Unlock()
}

func (f *fairSlots) underShare(caller string) bool {
	return caller == "" || f.held[caller] < f.perCaller
}

func (f *fairSlots) take(caller string) {
	f.inUse++
	f.held[caller]++
}

func (f *fairSlots) releaseLocked(caller string) {
	f.inUse--
	if f.held[caller]--; f.held[caller] <= 0 {
		delete(f.held, caller)
	}
	for f.inUse < f.capacity {
		var best *list.Element
		bestHeld := 0
		for e := f.waiting.Front(); e != nil; e = e.Next() {
			w := e.Value.(*slotWaiter)
			h := f.held[w.caller]
			if f.underShare(w.caller) && (best == nil || h < bestHeld) {
				best, bestHeld = e, h
			}
		}
		if best == nil {
			return
		}
		w := f.waiting.Remove(best).(*slotWaiter)
		f.take(w.caller)
		w.granted = true
		close(w.ready)
	}
}
