package prefect

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

func newTestClient(t *testing.T, base string, mutate ...func(*Options)) *Client {
	t.Helper()
	opts := Options{BaseURL: base, Timeout: 2 * time.Second, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	for _, m := range mutate {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBaseURLForms(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.Path)
		_, _ = io.WriteString(w, `{"id":"f1","name":"etl"}`)
	}))
	defer srv.Close()
	cases := []struct{ base, want string }{
		{srv.URL + "/api", "/api/flows/f1"},
		{srv.URL + "/api/", "/api/flows/f1"},
		{srv.URL + "/api/accounts/a1/workspaces/w1", "/api/accounts/a1/workspaces/w1/flows/f1"},
		{srv.URL + "/api/accounts/a1/workspaces/w1/", "/api/accounts/a1/workspaces/w1/flows/f1"},
		{srv.URL + "/v2/api//", "/v2/api/flows/f1"},
	}
	for _, tc := range cases {
		c := newTestClient(t, tc.base)
		if _, err := c.ReadFlow(context.Background(), "f1"); err != nil {
			t.Fatalf("%s: %v", tc.base, err)
		}
		if p := got.Load().(string); p != tc.want {
			t.Errorf("base %q: path %q, want %q", tc.base, p, tc.want)
		}
	}
	for _, bad := range []string{"", "localhost:4200/api", "ftp://x/api", "http://"} {
		if _, err := New(Options{BaseURL: bad}); err == nil {
			t.Errorf("New(%q) accepted a bad URL", bad)
		}
	}
}

func TestAuthHeaders(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, `{"id":"f1","name":"etl"}`)
	}))
	defer srv.Close()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))
	cases := []struct {
		name    string
		client  Credential
		perCall *Credential
		want    string
	}{
		{"none", Credential{}, nil, ""},
		{"bearer", BearerCredential("pnu_key"), nil, "Bearer pnu_key"},
		{"basic", BasicCredential("admin:s3cret"), nil, basic},
		{"per-request overrides the default", BearerCredential("gateway"), ptr(BearerCredential("user")), "Bearer user"},
		{"per-request none overrides a default", BearerCredential("gateway"), &Credential{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, srv.URL+"/api", func(o *Options) { o.Credential = tc.client })
			ctx := context.Background()
			if tc.perCall != nil {
				ctx = WithCredential(ctx, *tc.perCall)
			}
			if _, err := c.ReadFlow(ctx, "f1"); err != nil {
				t.Fatal(err)
			}
			if h := got.Load().(string); h != tc.want {
				t.Errorf("Authorization = %q, want %q", h, tc.want)
			}
		})
	}
}

func TestCredentialNeverPrinted(t *testing.T) {
	c := BearerCredential("pnu_supersecret")
	for _, s := range []string{c.String(), c.Fingerprint()} {
		if strings.Contains(s, "supersecret") {
			t.Fatalf("%q shows the secret", s)
		}
	}
	if BearerCredential("a").Fingerprint() == BearerCredential("b").Fingerprint() ||
		BearerCredential("a").Fingerprint() == BasicCredential("a").Fingerprint() {
		t.Fatal("different credentials share a fingerprint")
	}
}

func ptr[T any](v T) *T { return &v }

func TestErrorShapes(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		kind    Kind
		message string
		retry   time.Duration
	}{
		{"detail string", 404, nil, `{"detail":"Deployment not found"}`, KindNotFound, "Deployment not found", 0},
		{"exception_message", 404, nil, `{"exception_message":"Flow run with id x not found"}`, KindNotFound, "Flow run with id x not found", 0},
		{"validation", 422, nil, `{"exception_message":"Invalid request received.","exception_detail":[{"loc":["body","limit"],"msg":"too big","type":"x"}],"request_body":{}}`,
			KindInvalid, "Invalid request received.: body.limit: too big", 0},
		{"detail list", 422, nil, `{"detail":[{"loc":["query","x"],"msg":"bad"}]}`, KindInvalid, "query.x: bad", 0},
		{"conflict", 409, nil, `{"detail":"Data integrity conflict."}`, KindConflict, "Data integrity conflict.", 0},
		{"unauthorized", 401, nil, `{"exception_message":"Unauthorized"}`, KindUnauthorized, "Unauthorized", 0},
		{"rate limited", 429, map[string]string{"Retry-After": "7"}, `{"detail":"slow down"}`, KindRateLimited, "slow down", 7 * time.Second},
		{"unavailable", 503, nil, `{"exception_message":"Service Unavailable"}`, KindUnavailable, "Service Unavailable", 0},
		{"internal", 500, nil, `{"exception_message":"Internal Server Error"}`, KindBadGateway, "Internal Server Error", 0},
		{"not json", 502, nil, `<html>bad gateway</html>`, KindBadGateway, "<html>bad gateway</html>", 0},
		{"teapot", 418, nil, `{}`, KindBadGateway, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			// MaxAttempts 1: this test is about decoding, not retrying.
			c := newTestClient(t, srv.URL, func(o *Options) { o.MaxAttempts = 1 })
			_, err := c.ReadFlow(context.Background(), "x")
			pe, ok := AsError(err)
			if !ok {
				t.Fatalf("error %v is not a *prefect.Error", err)
			}
			if pe.Kind != tc.kind || pe.Message != tc.message || pe.Status != tc.status || pe.RetryAfter != tc.retry {
				t.Errorf("got kind=%s status=%d message=%q retry=%s; want kind=%s message=%q retry=%s",
					pe.Kind, pe.Status, pe.Message, pe.RetryAfter, tc.kind, tc.message, tc.retry)
			}
		})
	}
}

func TestUnknownResponseFieldsAreIgnored(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":"r1","name":"manual__x","state_type":"RUNNING","brand_new_field":{"a":[1,2]},"state":{"type":"RUNNING","name":"Running","future":true}}`)
	}))
	defer srv.Close()
	run, err := newTestClient(t, srv.URL).ReadFlowRun(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Name != "manual__x" || run.State == nil || run.State.Type != wire.Running {
		t.Fatalf("decoded %+v", run)
	}
}

func TestDeadlineFromContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv.URL, func(o *Options) { o.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.ReadFlow(ctx, "x")
	if KindOf(err) != KindTimeout {
		t.Fatalf("error %v, want a timeout", err)
	}
}

func TestRefusedConnectionIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := newTestClient(t, url)
	_, err := c.ReadFlow(context.Background(), "x")
	if KindOf(err) != KindUnavailable {
		t.Fatalf("error %v, want unavailable", err)
	}
}

func TestCSRFDance(t *testing.T) {
	var tokenCalls, refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/csrf-token" {
			tokenCalls.Add(1)
			if r.URL.Query().Get("client") == "" {
				w.WriteHeader(422)
				return
			}
			_, _ = io.WriteString(w, `{"token":"tok-1","client":"`+r.URL.Query().Get("client")+`","expiration":"`+
				time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`)
			return
		}
		if r.Method != http.MethodGet && (r.Header.Get("Prefect-Csrf-Token") != "tok-1" || r.Header.Get("Prefect-Csrf-Client") == "") {
			refused.Add(1)
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"detail":"Missing CSRF token."}`)
			return
		}
		_, _ = io.WriteString(w, `[]`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL+"/api")
	for i := 0; i < 3; i++ {
		if _, err := c.FilterFlows(context.Background(), wire.Query{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if tokenCalls.Load() != 1 || refused.Load() != 1 {
		t.Fatalf("token fetched %d times, refused %d times; want 1 and 1 (one refusal, then the token is kept)", tokenCalls.Load(), refused.Load())
	}
}

func TestCSRFDisabledCostsNothing(t *testing.T) {
	var tokenCalls, calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/csrf-token" {
			tokenCalls.Add(1)
			w.WriteHeader(422)
			_, _ = io.WriteString(w, `{"detail":"CSRF protection is disabled."}`)
			return
		}
		calls.Add(1)
		_, _ = io.WriteString(w, `[]`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	for i := 0; i < 3; i++ {
		if _, err := c.FilterFlows(context.Background(), wire.Query{}); err != nil {
			t.Fatal(err)
		}
	}
	if tokenCalls.Load() != 0 || calls.Load() != 3 {
		t.Fatalf("token calls %d, calls %d; want 0 and 3", tokenCalls.Load(), calls.Load())
	}
}

func TestCreateFlowRunReportsIdempotentHit(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = io.WriteString(w, `{"id":"r1","name":"a"}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	body := wire.FlowRunCreate{Name: "a", IdempotencyKey: "k"}
	if _, created, err := c.CreateFlowRun(context.Background(), "d", body); err != nil || !created {
		t.Fatalf("first create: created=%v err=%v, want created", created, err)
	}
	if _, created, err := c.CreateFlowRun(context.Background(), "d", body); err != nil || created {
		t.Fatalf("second create: created=%v err=%v, want an idempotent hit", created, err)
	}
}

func TestCallCounter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":"f1","name":"etl"}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	ctx, counter := WithCallCounter(context.Background())
	for i := 0; i < 4; i++ {
		if _, err := c.ReadFlow(ctx, "f1"); err != nil {
			t.Fatal(err)
		}
	}
	if counter.Load() != 4 {
		t.Fatalf("counted %d calls, want 4", counter.Load())
	}
}

func TestErrorsAs(t *testing.T) {
	err := error(&Error{Kind: KindConflict, Op: "POST /x"})
	wrapped := errors.Join(errors.New("context"), err)
	if !IsConflict(wrapped) || IsNotFound(wrapped) {
		t.Fatal("KindOf does not see through wrapping")
	}
}
