package legacy

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// seen is what the fake Airflow received.
type seen struct {
	requestURI, auth, cookie, body, xff string
}

func newPassThroughPair(t *testing.T, airflow http.HandlerFunc, mod ...func(*PassThroughConfig)) *httptest.Server {
	t.Helper()
	af := httptest.NewServer(airflow)
	t.Cleanup(af.Close)
	cfg := PassThroughConfig{Options: Options{URL: af.URL, Username: testUser, Password: testPassword}}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := NewPassThrough(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(h)
	t.Cleanup(gw.Close)
	return gw
}

// rawGet sends a request line byte for byte (net/http would normalise the target).
func rawGet(t *testing.T, base, method, target, headers, body string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: gw\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s", method, target, headers, len(body), body)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func TestPassThroughForwardsTheRequestAsItCame(t *testing.T) {
	got := make(chan seen, 1)
	gw := newPassThroughPair(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("Cookie"), string(b), r.Header.Get("X-Forwarded-For")}
		w.Header().Set("Set-Cookie", "session=abc")
		w.Header().Set("Server", "gunicorn")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"status":409,"title":"Conflict","detail":"exists","type":"x"}`)
	})
	res, body := rawGet(t, gw.URL, "POST", "/api/v1/dags/my%2Fdag/dagRuns?x=1&x=2&y=%7E",
		"Authorization: Basic Y2FsbGVyOnB3\r\nCookie: session=caller\r\nContent-Type: application/json\r\n", `{"conf":{}}`)
	s := <-got
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))
	if s.requestURI != "/api/v1/dags/my%2Fdag/dagRuns?x=1&x=2&y=%7E" || s.auth != wantAuth || s.cookie != "" || s.body != `{"conf":{}}` || s.xff != "127.0.0.1" {
		t.Fatalf("Airflow saw %+v", s)
	}
	if res.StatusCode != 409 || res.Header.Get("Set-Cookie") != "" || res.Header.Get("Server") != "" ||
		res.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"detail":"exists"`) {
		t.Fatalf("answer %d %v %s", res.StatusCode, res.Header, body)
	}
}

func TestPassThroughUnderABasePath(t *testing.T) {
	got := make(chan string, 1)
	af := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.RequestURI }))
	defer af.Close()
	h, err := NewPassThrough(PassThroughConfig{Options: Options{URL: af.URL + "/airflow/", Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(h)
	defer gw.Close()
	rawGet(t, gw.URL, "GET", "/api/v1/dags/~/dagRuns", "", "")
	if s := <-got; s != "/airflow/api/v1/dags/~/dagRuns" {
		t.Fatalf("Airflow saw %q", s)
	}
}

func TestPassThroughForwardModeKeepsTheCallersCredential(t *testing.T) {
	got := make(chan string, 1)
	gw := newPassThroughPair(t, func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("Authorization") },
		func(c *PassThroughConfig) { c.Username, c.Password, c.ForwardCaller = "", "", true })
	rawGet(t, gw.URL, "GET", "/api/v1/dags", "Authorization: Basic Y2FsbGVyOnB3\r\n", "")
	if s := <-got; s != "Basic Y2FsbGVyOnB3" {
		t.Fatalf("Airflow saw %q", s)
	}
}

func TestPassThroughFailures(t *testing.T) {
	var refusedURL string
	{
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		refusedURL = "http://" + ln.Addr().String()
		ln.Close()
	}
	for _, tc := range []struct {
		name    string
		airflow http.HandlerFunc
		url     string
		mod     func(*PassThroughConfig)
		status  int
		kind    Kind
	}{
		{name: "refused", url: refusedURL, status: 503, kind: KindUnavailable},
		{name: "hung", airflow: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			mod: func(c *PassThroughConfig) { c.Timeout = 50 * time.Millisecond }, status: 504, kind: KindTimeout},
		{name: "too large", airflow: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5000")
			w.Write(make([]byte, 5000))
		}, mod: func(c *PassThroughConfig) { c.MaxPassThroughBytes = 1000 }, status: 502, kind: KindTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotErr *Error
			mod := func(c *PassThroughConfig) {
				if tc.url != "" {
					c.URL = tc.url
				}
				c.WriteError = func(w http.ResponseWriter, r *http.Request, e *Error) {
					gotErr = e
					writePlainProblem(w, r, e)
				}
				if tc.mod != nil {
					tc.mod(c)
				}
			}
			airflow := tc.airflow
			if airflow == nil {
				airflow = func(http.ResponseWriter, *http.Request) {}
			}
			gw := newPassThroughPair(t, airflow, mod)
			res, body := rawGet(t, gw.URL, "GET", "/api/v1/dags/a", "", "")
			if res.StatusCode != tc.status || gotErr == nil || gotErr.Kind != tc.kind ||
				res.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s, error %v", res.StatusCode, body, gotErr)
			}
		})
	}
}

// An answer longer than the limit without a Content-Length is cut off: the caller sees a
// broken transfer, never a complete-looking truncated body.
func TestPassThroughCutsAStreamPastTheLimit(t *testing.T) {
	gw := newPassThroughPair(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 10; i++ {
			w.Write(make([]byte, 500))
			w.(http.Flusher).Flush()
		}
	}, func(c *PassThroughConfig) { c.MaxPassThroughBytes = 2000 })
	res, err := http.Get(gw.URL + "/api/v1/x")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil || n > 2000 {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
}

// Answers are streamed as Airflow writes them, and redacted on the way.
func TestPassThroughStreamsAndRedacts(t *testing.T) {
	next := make(chan struct{})
	gw := newPassThroughPair(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "first line holds s3cret-")
		w.(http.Flusher).Flush()
		<-next
		fmt.Fprint(w, "legacy-pw and more\n")
	})
	res, err := http.Get(gw.URL + "/api/v1/x")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 10)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "first line" {
		t.Fatalf("first bytes %q %v", buf, err)
	}
	close(next)
	rest, _ := io.ReadAll(res.Body)
	if got := string(buf) + string(rest); got != "first line holds "+Redacted+" and more\n" {
		t.Fatalf("body %q", got)
	}
}

func TestPassThroughCountsAndObserves(t *testing.T) {
	obs := &recorder{}
	af := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	defer af.Close()
	h, err := NewPassThrough(PassThroughConfig{Options: Options{URL: af.URL, Username: "u", Password: "p", Observer: obs}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, counter := WithCallCounter(context.Background())
	ctx = WithEndpoint(ctx, "dags/{dag_id}")
	req := httptest.NewRequest("GET", "/api/v1/dags/a", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 404 || counter.Load() != 1 || obs.calls() != "dags/{dag_id}:not_found" {
		t.Fatalf("%d, counted %d, observed %q", rec.Code, counter.Load(), obs.calls())
	}
}
