package legacy

import (
	"context"
	"math/rand/v2"
	"time"
)

// The retry policy of the legacy Client (the pass-through never retries: it streams the
// caller's request once). A failed attempt is sent again only when that cannot double a
// write and there is time left for it:
//
//   - only reads are ever sent again: GETs, and the two POST list forms that only read
//     (dagRuns/list, taskInstances/list). A write (trigger, pause, clear, patch, delete) is
//     never retried, whatever failed: Airflow has no idempotency key, and a trigger sent
//     twice is two runs or a 409 for the caller's own run;
//   - a read is retried on Airflow 502/500 (KindBadGateway), 503 or a refused connection
//     (KindUnavailable), a per-attempt timeout (KindTimeout) and 429 (KindRateLimited);
//   - waits are capped exponential backoff with full jitter; a Retry-After on 429/503
//     replaces the backoff when it is at most MaxRetryAfter, and a longer one ends the
//     retries so that the caller hears at once;
//   - no wait outlives the caller's deadline: when the next attempt could not start before
//     it, the last error is returned instead.

// retryWait says whether failed attempt number `attempt` (1-based) of cl is tried again, and
// after how long.
func (c *Client) retryWait(ctx context.Context, cl call, attempt int, le *Error) (time.Duration, bool) {
	if le == nil || !cl.safe || attempt >= c.opts.MaxAttempts || ctx.Err() != nil || !retryable(le.Kind) {
		return 0, false
	}
	wait := backoffFor(attempt, c.opts.BaseBackoff, c.opts.MaxBackoff)
	if le.RetryAfter > 0 && (le.Kind == KindRateLimited || le.Kind == KindUnavailable) {
		if le.RetryAfter > c.opts.MaxRetryAfter {
			return 0, false
		}
		wait = le.RetryAfter
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return 0, false
	}
	return wait, true
}

// retryable lists the failures worth another attempt of a read.
func retryable(k Kind) bool {
	switch k {
	case KindUnavailable, KindBadGateway, KindRateLimited, KindTimeout:
		return true
	}
	return false
}

// backoffFor is the wait after failed attempt number `attempt`: base doubled per attempt,
// capped at ceiling, with full jitter so that gateway replicas do not retry in step.
func backoffFor(attempt int, base, ceiling time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	if d <= 0 || d > ceiling {
		d = ceiling
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}
