package prefect

import (
	"container/list"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The retry policy (DESIGN §7). A failed attempt is sent again only when that cannot double a
// write and there is time left for it:
//
//   - safe calls (reads, filters, counts, upserts, idempotency-keyed creates) are retried on
//     Prefect 502/500 (KindBadGateway), 503 or a refused connection (KindUnavailable), a
//     per-attempt timeout (KindTimeout) and 429 (KindRateLimited);
//   - every call, safe or not, is retried when the attempt provably never reached Prefect's
//     handlers: the connection was refused, or Prefect answered 429 (a rate limiter refuses
//     before anything runs);
//   - waits are capped exponential backoff with full jitter; a Retry-After on 429/503 replaces
//     the backoff when it is at most MaxRetryAfter, and a longer one ends the retries so that the
//     caller gets the 429/503 with its Retry-After at once;
//   - no wait outlives the caller's deadline: when the next attempt could not start before it,
//     the last error is returned instead.

// retryWait says whether the failed attempt number `attempt` (1-based) of cl is tried again,
// and after how long.
func (c *Client) retryWait(ctx context.Context, cl call, attempt int, pe *Error) (time.Duration, bool) {
	if pe == nil || attempt >= c.attempts || ctx.Err() != nil {
		return 0, false
	}
	if !(cl.retry && retryable(pe.Kind)) && !notDelivered(pe) {
		return 0, false
	}
	wait := c.backoffFor(attempt)
	if pe.RetryAfter > 0 && (pe.Kind == KindRateLimited || pe.Kind == KindUnavailable) {
		if pe.RetryAfter > c.maxWait {
			return 0, false
		}
		wait = pe.RetryAfter
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return 0, false
	}
	return wait, true
}

// retryable lists the failures worth another attempt of a safe call.
func retryable(k Kind) bool {
	switch k {
	case KindUnavailable, KindBadGateway, KindRateLimited, KindTimeout:
		return true
	}
	return false
}

// notDelivered reports whether a failed attempt provably did not run on Prefect, so that sending
// it again is safe whatever its method: a refused connection (no request bytes left the gateway)
// or a 429 (Prefect's rate limiter answers before any handler runs).
func notDelivered(pe *Error) bool {
	if pe.Kind == KindRateLimited {
		return true
	}
	var op *net.OpError
	return pe.Status == 0 && pe.Kind == KindUnavailable && errors.As(pe.Err, &op) && op.Op == "dial"
}

// backoffFor is the wait after failed attempt number `attempt`: BaseBackoff doubled per attempt,
// capped at MaxBackoff, with full jitter so that many gateway replicas do not hit a recovering
// Prefect in step.
func (c *Client) backoffFor(attempt int) time.Duration {
	d := c.backoff[0]
	for i := 1; i < attempt && d < c.backoff[1]; i++ {
		d *= 2
	}
	if d <= 0 || d > c.backoff[1] {
		d = c.backoff[1]
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// newTriggerStamp is a random value that names one CreateFlowRun call.
func newTriggerStamp() string {
	return strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}

// isWrite tells calls that change Prefect's data from reads: GETs, filters and counts are
// POSTs that only read.
func (cl call) isWrite() bool {
	if cl.method == http.MethodGet || cl.method == http.MethodHead {
		return false
	}
	return !strings.HasSuffix(cl.path, "/filter") && !strings.HasSuffix(cl.path, "/count") &&
		!strings.HasSuffix(cl.path, "/paginate")
}

// adaptiveLimit bounds concurrent writes with additive increase, multiplicative decrease:
// every write Prefect answers without overload raises the bound by one per bound's worth of
// such answers, up to ceiling; a write refused for overload (503, a reset connection, 429)
// halves it, down to 1. A SQLite-backed Prefect, which serialises writes, settles it low; a
// PostgreSQL one or Prefect Cloud lets it climb.
//
// Waiting writes are served first come, first served: each waits on a channel of its own, and
// a freed slot is handed to the oldest. (Waking every waiter to race for each freed slot cost
// CPU with 30 waiting and let some wait far longer than others.)
type adaptiveLimit struct {
	mu        sync.Mutex
	limit     int
	ceiling   int
	inFlight  int
	successes int
	waiting   list.List // of chan struct{}, oldest first; closed when handed a slot
}

func newAdaptiveLimit(start, ceiling int) *adaptiveLimit {
	return &adaptiveLimit{limit: max(1, min(start, ceiling)), ceiling: max(1, ceiling)}
}

// acquire waits for a slot, or gives up when ctx ends first.
func (l *adaptiveLimit) acquire(ctx context.Context) error {
	l.mu.Lock()
	if l.inFlight < l.limit && l.waiting.Len() == 0 {
		l.inFlight++
		l.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	turn := l.waiting.PushBack(ready)
	l.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		select {
		case <-ready: // handed a slot as the context ended: pass it on
			l.inFlight--
			l.handOn()
		default:
			l.waiting.Remove(turn)
		}
		l.mu.Unlock()
		return ctx.Err()
	}
}

// release frees a slot and adjusts the bound by how Prefect took the write.
func (l *adaptiveLimit) release(overloaded bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	switch {
	case overloaded:
		l.limit = max(1, l.limit/2)
		l.successes = 0
	case l.limit < l.ceiling:
		l.successes++
		if l.successes >= l.limit {
			l.limit++
			l.successes = 0
		}
	}
	l.handOn()
}

// handOn gives the free slots to the oldest waiters. l.mu is held.
func (l *adaptiveLimit) handOn() {
	for l.inFlight < l.limit && l.waiting.Len() > 0 {
		l.inFlight++
		close(l.waiting.Remove(l.waiting.Front()).(chan struct{}))
	}
}

// current is the bound now, for tests.
func (l *adaptiveLimit) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// overloaded tells whether a failed attempt says Prefect is taking too much at once.
func overloaded(err error) bool {
	switch KindOf(err) {
	case KindUnavailable, KindRateLimited:
		return true
	}
	return false
}
