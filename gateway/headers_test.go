package gateway

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"airflow-prefect-gateway/prefect"
)

// Client headers are trusted only as far as configured (issue 12, items 9, 10 and 14).

func requestLogOf(t *testing.T, logs *observer.ObservedLogs) map[string]any {
	t.Helper()
	for _, e := range logs.TakeAll() {
		if e.Message == "request" {
			return e.ContextMap()
		}
	}
	t.Fatal("no request log line")
	return nil
}

func TestRequestIDIsKeptOnlyWhenItLooksLikeOne(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	s := newAuthServer(t, newRecordingPrefect(t, emptyPrefect).URL(), AuthOptions{Mode: AuthModeNone}, zap.New(core))
	cases := []struct {
		name, sent string
		kept       bool
	}{
		{"a UUID", "8d7f4f5e-2b1a-4c3d-9e8f-0a1b2c3d4e5f", true},
		{"a trace id", "Root=1-5759e988-bd862e3fe1be46a994272793", true},
		{"200 KB", strings.Repeat("a", 200<<10), false},
		{"129 characters", strings.Repeat("b", 129), false},
		{"a forged log field", `x","level":"error","msg":"forged`, false},
		{"spaces", "a b", false},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/version", nil)
		req.Header.Set("X-Request-ID", tc.sent)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		logged, _ := requestLogOf(t, logs)["request_id"].(string)
		if logged != got {
			t.Errorf("%s: logged id %.40q, answered %.40q", tc.name, logged, got)
		}
		if tc.kept && got != tc.sent {
			t.Errorf("%s: id %.40q replaced by %q", tc.name, tc.sent, got)
		}
		if !tc.kept && (got == tc.sent || !validRequestID(got) || len(got) != 24) {
			t.Errorf("%s: answered id %.40q (%d bytes), want a generated one", tc.name, got, len(got))
		}
	}
}

func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		trusted []*net.IPNet
		peer    string
		xff     string
		want    string
	}{
		{"no proxies configured: the peer", nil, "198.51.100.4:5000", "203.0.113.9", "198.51.100.4"},
		{"no proxies configured, even from loopback", nil, "127.0.0.1:5000", "203.0.113.9", "127.0.0.1"},
		{"a trusted proxy", trusted, "10.1.2.3:5000", "203.0.113.9", "203.0.113.9"},
		{"a trusted chain", trusted, "192.0.2.7:5000", "203.0.113.9, 10.4.4.4", "203.0.113.9"},
		{"an untrusted peer", trusted, "198.51.100.4:5000", "203.0.113.9", "198.51.100.4"},
		{"a forged hop before the proxy", trusted, "10.1.2.3:5000", "6.6.6.6, 203.0.113.9", "203.0.113.9"},
	}
	for _, tc := range cases {
		core, logs := observer.New(zap.InfoLevel)
		client, _ := newTestClient(t)
		s, err := New(Options{Prefect: client, Logger: zap.New(core), Auth: AuthOptions{Mode: AuthModeNone}, TrustedProxies: tc.trusted})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/api/v1/version", nil)
		req.RemoteAddr = tc.peer
		req.Header.Set("X-Forwarded-For", tc.xff)
		req.Header.Set("X-Real-IP", "6.6.6.6")
		s.Handler().ServeHTTP(httptest.NewRecorder(), req)
		if got := requestLogOf(t, logs)["remote"]; got != tc.want {
			t.Errorf("%s: remote %v, want %s", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "1.2.3"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted it", bad)
		}
	}
}

func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	st := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, st.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/probe/whoami", nil)
	req.Header.Add("Authorization", asUser("admin"))
	req.Header.Add("Authorization", basicCred("viewer", "wrong"))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Authorization headers") {
		t.Errorf("two Authorization headers: %d %s, want 400", rec.Code, rec.Body)
	}
	if rec := authGet(s, "/api/v1/probe/whoami", asUser("admin")); rec.Code != http.StatusOK {
		t.Errorf("one Authorization header: %d %s", rec.Code, rec.Body)
	}
}

func newTestClient(t *testing.T) (*prefect.Client, string) {
	t.Helper()
	st := newRecordingPrefect(t, emptyPrefect)
	c, err := prefect.New(prefect.Options{BaseURL: st.URL(), MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c, st.URL()
}

func TestTwoAuthorizationHeadersAreRefusedOnV2(t *testing.T) {
	st := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, st.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	req := httptest.NewRequest(http.MethodGet, "/api/v2/dags", nil)
	req.Header.Add("Authorization", "Bearer a")
	req.Header.Add("Authorization", "Bearer b")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Authorization headers") {
		t.Errorf("two Authorization headers on /api/v2: %d %s, want 400", rec.Code, rec.Body)
	}
}
