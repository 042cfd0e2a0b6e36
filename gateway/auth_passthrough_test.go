package gateway

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"airflow-prefect-gateway/prefect"
)

const (
	goodKey    = "pnu_good-key"
	revokedKey = "pnu_revoked-later"
)

// cloudLike is a Prefect Cloud stand-in: it accepts the bearer keys in valid and answers 401
// to anything else, as Cloud does. down makes it answer 503.
type cloudLike struct {
	mu    sync.Mutex
	valid map[string]bool
	down  atomic.Bool
}

func (c *cloudLike) handle(w http.ResponseWriter, r *http.Request) {
	if c.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"detail":"Service Unavailable"}`)
		return
	}
	key, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c.mu.Lock()
	ok := isBearer && c.valid[key]
	c.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"detail":"Unauthorized"}`)
		return
	}
	switch {
	case r.URL.Path == "/api/flows/count":
		_, _ = io.WriteString(w, "7")
	case strings.HasPrefix(r.URL.Path, "/api/deployments/name/"):
		_, _ = io.WriteString(w, `{"id":"dep-cloud","name":"daily","flow_id":"flow-1"}`)
	default:
		emptyPrefect(w, r)
	}
}

func (c *cloudLike) revoke(key string) {
	c.mu.Lock()
	delete(c.valid, key)
	c.mu.Unlock()
}

func newCloudLike(t *testing.T) (*cloudLike, *recordingPrefect) {
	cloud := &cloudLike{valid: map[string]bool{goodKey: true, revokedKey: true}}
	return cloud, newRecordingPrefect(t, cloud.handle)
}

// Bearer passthrough against a stub that checks the header: the Basic password goes to
// Prefect as the bearer key; Prefect's yes is remembered, its no is answered 401.
func TestPassthroughBearer(t *testing.T) {
	cloud, stub := newCloudLike(t)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModePassthrough}, nil)
	const whoamiPath = "/api/v1/probe/whoami"
	checks := func() int { return stub.CallsTo("/api/flows/count") }

	t.Run("no credentials", func(t *testing.T) {
		assertChallenge(t, authGet(s, whoamiPath, ""))
		assertChallenge(t, authGet(s, whoamiPath, basicCred("ci", "")))
		if checks() != 0 {
			t.Errorf("%d checks for requests without a key", checks())
		}
	})
	t.Run("refused key", func(t *testing.T) {
		assertChallenge(t, authGet(s, whoamiPath, basicCred("ci", "pnu_wrong")))
		assertChallenge(t, authGet(s, whoamiPath, basicCred("ci", "pnu_wrong")))
		if n := checks(); n != 1 {
			t.Errorf("a refused key was checked %d times in a row, want 1 (remembered briefly)", n)
		}
	})
	t.Run("accepted key", func(t *testing.T) {
		before := checks()
		for i := 0; i < 3; i++ {
			w := readProbeAnswer(t, authGet(s, whoamiPath, basicCred("ci-bot", goodKey)))
			want := probeAnswer{User: "ci-bot", Role: "Admin", Upstream: prefect.BearerCredential(goodKey).String()}
			if w != want {
				t.Fatalf("%+v, want %+v", w, want)
			}
		}
		if n := checks() - before; n != 1 {
			t.Errorf("an accepted key was checked %d times, want 1", n)
		}
		for _, c := range stub.Calls() {
			if c.Path == "/api/flows/count" && c.Authorization != "Bearer "+goodKey && c.Authorization != "Bearer pnu_wrong" {
				t.Errorf("check sent Authorization %q", c.Authorization)
			}
		}
	})
	t.Run("requests carry the caller's key", func(t *testing.T) {
		before := len(stub.Calls())
		if w := readProbeAnswer(t, authGet(s, "/api/v1/probe/dags/etl.daily", basicCred("ci-bot", goodKey))); w.Deployment != "dep-cloud" {
			t.Fatalf("%+v", w)
		}
		for _, c := range stub.Calls()[before:] {
			if c.Authorization != "Bearer "+goodKey {
				t.Errorf("%s %s sent %q, want the caller's key", c.Method, c.Path, c.Authorization)
			}
		}
	})
	t.Run("key revoked while remembered", func(t *testing.T) {
		readProbeAnswer(t, authGet(s, whoamiPath, basicCred("ci", revokedKey))) // checked and remembered
		cloud.revoke(revokedKey)
		// The next call to Prefect is refused: 401 with the challenge, and the key forgotten.
		assertChallenge(t, authGet(s, "/api/v1/probe/dags/other.daily", basicCred("ci", revokedKey)))
		before := checks()
		assertChallenge(t, authGet(s, whoamiPath, basicCred("ci", revokedKey)))
		if n := checks() - before; n != 0 {
			t.Errorf("a key Prefect just refused was checked again %d times", n)
		}
	})
	t.Run("Prefect down is not a wrong key", func(t *testing.T) {
		cloud.down.Store(true)
		rec := authGet(s, whoamiPath, basicCred("ci", "pnu_new-key"))
		authProblem(t, rec, http.StatusServiceUnavailable)
		if rec.Header().Get("WWW-Authenticate") != "" {
			t.Error("an outage is answered with a Basic challenge")
		}
		cloud.down.Store(false)
		cloud.mu.Lock()
		cloud.valid["pnu_new-key"] = true
		cloud.mu.Unlock()
		// The outage was not remembered as a refusal.
		readProbeAnswer(t, authGet(s, whoamiPath, basicCred("ci", "pnu_new-key")))
	})
}

func TestPassthroughRole(t *testing.T) {
	_, stub := newCloudLike(t)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModePassthrough, PassthroughRole: "Viewer"}, nil)
	if w := readProbeAnswer(t, authGet(s, "/api/v1/probe/whoami", basicCred("ci", goodKey))); w.Role != "Viewer" {
		t.Errorf("role %s, want the configured Viewer", w.Role)
	}
	authProblem(t, authCall{method: http.MethodPost, path: "/api/v1/probe/write", auth: basicCred("ci", goodKey)}.do(s), http.StatusForbidden)
}

// Basic passthrough forwards "username:password" as a self-hosted Prefect's auth string.
func TestPassthroughBasic(t *testing.T) {
	stub := newRecordingPrefect(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != basicOf("admin:s3cret:with-colon") {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"exception_message":"Unauthorized"}`)
			return
		}
		emptyPrefect(w, r)
	})
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModePassthrough, PassthroughUpstream: PassthroughBasic}, nil)
	w := readProbeAnswer(t, authGet(s, "/api/v1/probe/whoami", basicCred("admin", "s3cret:with-colon")))
	if w.Upstream != prefect.BasicCredential("admin:s3cret:with-colon").String() || w.User != "admin" {
		t.Errorf("%+v", w)
	}
	assertChallenge(t, authGet(s, "/api/v1/probe/whoami", basicCred("admin", "wrong")))
}
