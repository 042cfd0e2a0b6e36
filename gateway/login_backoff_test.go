package gateway

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Failed logins are throttled per username and per client, without bcrypt work, the same for
// known and unknown usernames, never for a verified credential, and not for ever (issue 12,
// item 11).
func TestLoginBackoff(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture,
		LoginFailureBurst: 3, LoginFailureInterval: time.Hour}, nil)
	var checks atomic.Int32
	s.auth.compare = func(hash, pw []byte) error { checks.Add(1); return bcrypt.CompareHashAndPassword(hash, pw) }
	login := func(client, user, password string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/probe/whoami", nil)
		req.RemoteAddr = client + ":4000"
		req.Header.Set("Authorization", basicCred(user, password))
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	// A verified credential, cached before the flood.
	if rec := login("198.51.100.1", "viewer", "viewer-pw"); rec.Code != 200 {
		t.Fatalf("viewer: %d", rec.Code)
	}
	steps := []struct {
		name, client, user, password string
		status                       int
		checks                       int32
	}{
		{"admin, wrong, 1", "198.51.100.2", "admin", "x1", 401, 1},
		{"admin, wrong, 2", "198.51.100.3", "admin", "x2", 401, 1},
		{"admin, wrong, 3", "198.51.100.4", "admin", "x3", 401, 1},
		{"admin, 4th failure, from a fresh client: the username's bucket is empty", "198.51.100.5", "admin", "x4", 429, 0},
		{"admin, the right password, uncached: also waits", "198.51.100.6", "admin", "admin-pw", 429, 0},
		{"an unknown user is throttled alike, 1", "198.51.100.7", "ghost", "x1", 401, 1},
		{"unknown, 2", "198.51.100.8", "ghost", "x2", 401, 1},
		{"unknown, 3", "198.51.100.9", "ghost", "x3", 401, 1},
		{"unknown, 4th", "198.51.100.10", "ghost", "x4", 429, 0},
		{"one client, many usernames, 1", "203.0.113.1", "u1", "x", 401, 1},
		{"many usernames, 2", "203.0.113.1", "u2", "x", 401, 1},
		{"many usernames, 3", "203.0.113.1", "u3", "x", 401, 1},
		{"many usernames, 4th: the client's bucket is empty", "203.0.113.1", "u4", "x", 429, 0},
		{"the cached viewer from that client is not throttled", "203.0.113.1", "viewer", "viewer-pw", 200, 0},
		{"a success gives its tokens back", "192.0.2.50", "op", "op-pw", 200, 1},
	}
	for _, st := range steps {
		checks.Store(0)
		rec := login(st.client, st.user, st.password)
		if rec.Code != st.status {
			t.Errorf("%s: status %d, want %d: %s", st.name, rec.Code, st.status, rec.Body)
		}
		if n := checks.Load(); n != st.checks {
			t.Errorf("%s: %d bcrypt checks, want %d", st.name, n, st.checks)
		}
		if st.status == 429 {
			if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("%s: Retry-After %q", st.name, rec.Header().Get("Retry-After"))
			}
		}
	}
	for i := 0; i < 5; i++ { // successes never empty a bucket
		if rec := login("192.0.2.51", "user", "user-pw"); rec.Code != 200 {
			t.Fatalf("success %d: %d", i, rec.Code)
		}
		s.auth.verified.Flush()
	}
}

// The wait is one interval per failure, not a lockout.
func TestLoginBackoffRefills(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture,
		LoginFailureBurst: 1, LoginFailureInterval: 200 * time.Millisecond}, nil)
	if rec := authGet(s, "/api/v1/probe/whoami", basicCred("admin", "wrong")); rec.Code != 401 {
		t.Fatalf("first failure: %d", rec.Code)
	}
	if rec := authGet(s, "/api/v1/probe/whoami", asUser("admin")); rec.Code != 429 {
		t.Fatalf("right after: %d, want 429", rec.Code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := authGet(s, "/api/v1/probe/whoami", asUser("admin"))
		if rec.Code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d 10 s later", rec.Code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Concurrent wrong passwords get no more checks than the bucket holds, however long each
// check takes.
func TestLoginBackoffBoundsConcurrentChecks(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture,
		LoginFailureBurst: 3, LoginFailureInterval: time.Hour}, nil)
	var checks atomic.Int32
	s.auth.compare = func(hash, pw []byte) error {
		checks.Add(1)
		time.Sleep(50 * time.Millisecond) // a slow bcrypt
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			authGet(s, "/api/v1/probe/whoami", basicCred("intruder"+strconv.Itoa(i), "wrong"))
		}()
	}
	wg.Wait()
	if n := checks.Load(); n > 3 {
		t.Errorf("20 concurrent wrong logins from one client got %d bcrypt checks, want at most 3", n)
	}
}
