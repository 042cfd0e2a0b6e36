package gateway

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/time/rate"
)

// Failed logins are throttled per username and per client (DESIGN §10): each has a token
// bucket of LoginFailureBurst failures that refills one per LoginFailureInterval; a check
// holds a token of both while it runs, a failed one keeps them, a successful one gives them
// back. With a bucket empty the answer is 429 with Retry-After at once, before
// any bcrypt work, so a flood of wrong passwords costs a few microseconds each instead of a
// core's worth of bcrypt, and the users who know their password keep their latency. Nobody is
// locked out for longer than an interval per failure, a verified (cached) credential is never
// throttled, and an unknown username is throttled exactly like a known one, so the answer
// and its timing say nothing about which usernames exist.

// Defaults of the login backoff.
const (
	DefaultLoginFailureBurst    = 10
	DefaultLoginFailureInterval = 6 * time.Second
)

type loginBackoff struct {
	mu       sync.Mutex
	pending  map[string]int // checks running per key
	buckets  *gocache.Cache // "user|name" or "client|ip" → *rate.Limiter
	every    rate.Limit
	burst    int
	interval time.Duration
}

func newLoginBackoff(burst int, interval time.Duration) *loginBackoff {
	if burst <= 0 {
		burst = DefaultLoginFailureBurst
	}
	if interval <= 0 {
		interval = DefaultLoginFailureInterval
	}
	// A bucket untouched for as long as it takes to refill is full again: forget it then.
	idle := time.Duration(burst) * interval
	return &loginBackoff{pending: map[string]int{}, buckets: gocache.New(idle, idle), every: rate.Every(interval), burst: burst, interval: interval}
}

func (b *loginBackoff) bucket(key string) *rate.Limiter {
	if v, ok := b.buckets.Get(key); ok {
		b.buckets.SetDefault(key, v) // keep it while it is in use
		return v.(*rate.Limiter)
	}
	l := rate.NewLimiter(b.every, b.burst)
	if err := b.buckets.Add(key, l, gocache.DefaultExpiration); err != nil {
		if v, ok := b.buckets.Get(key); ok { // another request made it first
			return v.(*rate.Limiter)
		}
	}
	return l
}

// begin admits a password check, or refuses it while a key's bucket holds no token that
// checks already running have not spoken for: a flood of concurrent wrong passwords gets no
// more checks than the bucket holds, however long each check takes. done(failed) ends the
// check; a failure then takes its token for good.
func (b *loginBackoff) begin(keys ...string) (done func(failed bool), refused *Problem) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if free := b.bucket(k).TokensAt(now) - float64(b.pending[k]); free < 1 {
			wait = max(wait, time.Duration((1-free)*float64(b.interval)))
		}
	}
	if wait > 0 {
		secs := strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
		return nil, NewProblem(http.StatusTooManyRequests, "Too Many Requests",
			"Too many failed logins from this client or for this username; retry in "+secs+" s.").
			WithHeader("Retry-After", secs)
	}
	for _, k := range keys {
		b.pending[k]++
	}
	return func(failed bool) {
		b.mu.Lock()
		defer b.mu.Unlock()
		at := time.Now()
		for _, k := range keys {
			if b.pending[k]--; b.pending[k] <= 0 {
				delete(b.pending, k)
			}
			if failed {
				b.bucket(k).ReserveN(at, 1) // into debt if concurrent failures emptied it
			}
		}
	}, nil
}
