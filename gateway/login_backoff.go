package gateway

import (
	"math"
	"net/http"
	"strconv"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/time/rate"
)

// Failed logins are throttled per username and per client (DESIGN §10): each has a token
// bucket of LoginFailureBurst failures that refills one per LoginFailureInterval; a failed
// check takes a token from both, a successful one none. With a bucket empty the answer is 429 with Retry-After at once, before
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
	return &loginBackoff{buckets: gocache.New(idle, idle), every: rate.Every(interval), burst: burst, interval: interval}
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

// check refuses a password check while a key's bucket is empty, with the wait until it
// holds a token again; it takes nothing.
func (b *loginBackoff) check(keys ...string) *Problem {
	now := time.Now()
	var wait time.Duration
	for _, k := range keys {
		if tokens := b.bucket(k).TokensAt(now); tokens < 1 {
			wait = max(wait, time.Duration((1-tokens)*float64(b.interval)))
		}
	}
	if wait <= 0 {
		return nil
	}
	secs := strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
	return NewProblem(http.StatusTooManyRequests, "Too Many Requests",
		"Too many failed logins from this client or for this username; retry in "+secs+" s.").
		WithHeader("Retry-After", secs)
}

// failed takes a token from each key's bucket, into debt if concurrent failures already
// emptied it (each failure costs its interval).
func (b *loginBackoff) failed(keys ...string) {
	now := time.Now()
	for _, k := range keys {
		b.bucket(k).ReserveN(now, 1)
	}
}
