package legacy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testUser     = "gateway"
	testPassword = "s3cret-legacy-pw"
)

func newTestClient(t *testing.T, h http.HandlerFunc, mod ...func(*Options)) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts := Options{URL: srv.URL, Username: testUser, Password: testPassword,
		BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	for _, m := range mod {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestOptionsRefuseBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"not a URL", Options{URL: "airflow:8080"}, "not an http(s) base URL"},
		{"query", Options{URL: "http://a/?x=1"}, "not an http(s) base URL"},
		{"userinfo", Options{URL: "http://u:p@a"}, "must not carry credentials"},
		{"half a credential", Options{URL: "http://a", Username: "u"}, "both the username and the password"},
		{"both modes", Options{URL: "http://a", Username: "u", Password: "p", ForwardCaller: true}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestClientReadsAPageWithItsCredential(t *testing.T) {
	var gotAuth, gotPath, gotQuery string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath, gotQuery = r.Header.Get("Authorization"), r.URL.EscapedPath(), r.URL.RawQuery
		fmt.Fprint(w, `{"dags":[{"dag_id":"a","is_paused":false},{"dag_id":"b"}],"total_entries":7}`)
	})
	p, err := c.DAGs(context.Background(), url.Values{"limit": {"2"}, "tags": {"x", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))
	if gotAuth != want || gotPath != "/api/v1/dags" || gotQuery != "limit=2&tags=x&tags=y" {
		t.Fatalf("sent %q %q %q", gotAuth, gotPath, gotQuery)
	}
	if p.TotalEntries != 7 || len(p.Items) != 2 || StringField(p.Items[1], "dag_id") != "b" {
		t.Fatalf("page %+v", p)
	}
	var paused bool
	if !Field(p.Items[0], "is_paused", &paused) || paused {
		t.Fatalf("is_paused not read")
	}
}

func TestClientEscapesPathSegments(t *testing.T) {
	var got string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		fmt.Fprint(w, `{}`)
	})
	if _, err := c.DAGRun(context.Background(), "a b", "manual__2024-01-01T00:00:00+00:00"); err != nil {
		t.Fatal(err)
	}
	if got != "/api/v1/dags/a%20b/dagRuns/manual__2024-01-01T00:00:00+00:00" {
		t.Fatalf("path %q", got)
	}
}

func TestClientForwardsTheCallersCredential(t *testing.T) {
	var got string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		fmt.Fprint(w, `{"version":"2.10.5","git_version":null}`)
	}, func(o *Options) { o.Username, o.Password, o.ForwardCaller = "", "", true })
	ctx := WithCredential(context.Background(), ForwardedCredential("Basic dXNlcjpwYXNzd29yZA=="))
	v, err := c.Version(ctx)
	if err != nil || v.Version != "2.10.5" || got != "Basic dXNlcjpwYXNzd29yZA==" {
		t.Fatalf("version %+v %v, sent %q", v, err, got)
	}
}

// Reads are retried on 503, 502, 429 and timeouts; writes never, whatever failed.
func TestRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		write    bool
		attempts int
	}{
		{"read 503", 503, false, 3},
		{"read 502", 502, false, 3},
		{"read 429", 429, false, 3},
		{"read 404", 404, false, 1},
		{"read 400", 400, false, 1},
		{"write 503", 503, true, 1},
		{"write 429", 429, true, 1},
		{"write 502", 502, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"status":%d,"title":"t","detail":"d","type":"x"}`, tc.status)
			})
			var err error
			if tc.write {
				_, err = c.SetPaused(context.Background(), "a", true)
			} else {
				_, err = c.DAG(context.Background(), "a", nil)
			}
			if err == nil || int(n.Load()) != tc.attempts {
				t.Fatalf("err %v after %d attempts, want %d", err, n.Load(), tc.attempts)
			}
			le, ok := AsError(err)
			if !ok || le.Status != tc.status || le.Problem == nil || le.Message != "d" {
				t.Fatalf("error %#v", err)
			}
		})
	}
}

func TestRetryAfterBeyondTheCapEndsTheRetries(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(503)
	})
	_, err := c.Health(context.Background())
	if le, _ := AsError(err); le == nil || le.Kind != KindUnavailable || le.RetryAfter != time.Minute || n.Load() != 1 {
		t.Fatalf("err %v after %d attempts", err, n.Load())
	}
}

func TestNoRetryPastTheDeadline(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(503)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Health(ctx); err == nil || n.Load() != 1 {
		t.Fatalf("err %v after %d attempts", err, n.Load())
	}
}

func TestTransportFailures(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		c, err := New(Options{URL: "http://" + addr, Username: testUser, Password: testPassword, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Health(context.Background())
		if KindOf(err) != KindUnavailable || !Down(err) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("hung", func(t *testing.T) {
		release := make(chan struct{})
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, func(o *Options) { o.Timeout, o.MaxAttempts = 50*time.Millisecond, 2 })
		defer close(release)
		_, err := c.Health(context.Background())
		if KindOf(err) != KindTimeout {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"dags":[],"x":"%s"}`, strings.Repeat("a", 2000))
		}, func(o *Options) { o.MaxAnswerBytes = 1000 })
		_, err := c.DAGs(context.Background(), nil)
		if KindOf(err) != KindTooLarge {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `<html>`) },
			func(o *Options) { o.MaxAttempts = 1 })
		_, err := c.DAGs(context.Background(), nil)
		if KindOf(err) != KindBadGateway {
			t.Fatalf("err %v", err)
		}
	})
}

// Whatever Airflow quotes back, the credential's forms are gone from the error.
func TestErrorsAreRedacted(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"status":400,"title":"bad %s","detail":"you sent Authorization: Basic %s and %s","type":"x"}`,
			url.QueryEscape(testPassword), b64, testPassword)
	})
	_, err := c.DAG(context.Background(), "a", nil)
	le, _ := AsError(err)
	text := err.Error() + *le.Problem.Title + *le.Problem.Detail
	for _, secret := range []string{testPassword, b64, url.QueryEscape(testPassword)} {
		if strings.Contains(text, secret) {
			t.Fatalf("%q leaks %q", text, secret)
		}
	}
	if !strings.Contains(*le.Problem.Detail, Redacted) {
		t.Fatalf("detail %q", *le.Problem.Detail)
	}
}

func TestDAGIDsReadsEveryPageOnce(t *testing.T) {
	const total = 250
	var mu sync.Mutex
	offsets := map[string]int{}
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("fields") != "dag_id" || q.Get("order_by") != "-dag_id" || q.Get("paused") != "true" {
			t.Errorf("query %v", q)
		}
		mu.Lock()
		offsets[q.Get("offset")]++
		mu.Unlock()
		off, _ := strconv.Atoi(q.Get("offset"))
		var items []string
		for i := off; i < min(total, off+MaxPageLimit); i++ {
			items = append(items, fmt.Sprintf(`{"dag_id":"d%03d"}`, total-1-i))
		}
		fmt.Fprintf(w, `{"dags":[%s],"total_entries":%d}`, strings.Join(items, ","), total)
	})
	ids, err := c.DAGIDs(context.Background(), url.Values{"paused": {"true"}}, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != total || ids[0] != "d249" || ids[total-1] != "d000" {
		t.Fatalf("%d ids, %v…", len(ids), ids[:3])
	}
	if len(offsets) != 3 || offsets["0"] != 1 || offsets["100"] != 1 || offsets["200"] != 1 {
		t.Fatalf("offsets %v", offsets)
	}
	if _, err := c.DAGIDs(context.Background(), url.Values{"paused": {"true"}}, true, 100); KindOf(err) != KindTooLarge {
		t.Fatalf("over max: %v", err)
	}
}

func TestPageReadsEveryCollection(t *testing.T) {
	for _, body := range []string{
		`{"dag_runs":[{"a":1}],"total_entries":3}`,
		`{"total_entries":3,"import_errors":[{"a":1}]}`,
		`{"task_instances":[{"a":1}]}`,
	} {
		var p Page
		if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Items) != 1 {
			t.Fatalf("%s: %+v %v", body, p, err)
		}
	}
	var p Page
	if err := json.Unmarshal([]byte(`{"a":[],"b":[]}`), &p); err == nil {
		t.Fatal("two arrays accepted")
	}
}

func TestCallCounterAndObserver(t *testing.T) {
	obs := &recorder{}
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	}, func(o *Options) { o.Observer = obs })
	ctx, counter := WithCallCounter(context.Background())
	_, _ = c.ImportErrors(ctx, nil)
	if counter.Load() != 3 || obs.calls() != "importErrors:unavailable,importErrors:unavailable,importErrors:unavailable" || obs.retries.Load() != 2 {
		t.Fatalf("counted %d, observed %s, %d retries", counter.Load(), obs.calls(), obs.retries.Load())
	}
}

type recorder struct {
	mu      sync.Mutex
	seen    []string
	retries atomic.Int32
}

func (r *recorder) ObserveLegacyCall(endpoint, outcome string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, endpoint+":"+outcome)
}
func (r *recorder) ObserveLegacyRetry(string) { r.retries.Add(1) }
func (r *recorder) calls() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.seen, ",")
}

var _ = io.EOF
