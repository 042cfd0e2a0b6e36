package gateway

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
)

// FuzzBasicAuthHeader: any Authorization header either yields a user and password that
// encode back to an equivalent header, or is refused; never a panic.
func FuzzBasicAuthHeader(f *testing.F) {
	for _, s := range []string{"Basic YWRtaW46YWRtaW4=", "basic YWRtaW46YWRtaW4=", "Basic  YWRtaW46OmE6Yg== ", "Bearer x",
		"Basic", "Basic !!!", "Basic " + base64.StdEncoding.EncodeToString([]byte(":")), "Basic " + base64.StdEncoding.EncodeToString([]byte("ü:\x00")), ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		user, password, ok := basicAuth(header)
		if !ok {
			if user != "" || password != "" {
				t.Fatalf("refused header %q still yields %q/%q", header, user, password)
			}
			return
		}
		if strings.Contains(user, ":") {
			t.Fatalf("user %q holds the separator", user)
		}
		again := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
		u2, p2, ok2 := basicAuth(again)
		if !ok2 || u2 != user || p2 != password {
			t.Fatalf("%q → %q/%q does not round-trip (%q/%q)", header, user, password, u2, p2)
		}
	})
}

// FuzzProblemRendering: whatever status, title and detail (invalid UTF-8 and control bytes
// included), the answer is application/problem+json with that status and a body that
// decodes back to the same problem, and headers survive.
func FuzzProblemRendering(f *testing.F) {
	f.Add(404, "", "DAG with dag_id: 'x' not found", "")
	f.Add(429, "Too Many Requests", "retry later", "7")
	f.Add(400, "Bad \"Request\"", "\xff\xfe<script>\u2028", "")
	f.Add(503, "", "", "5")
	f.Fuzz(func(t *testing.T, status int, title, detail, retryAfter string) {
		if status < 400 || status > 599 {
			status = 400 + (status%200+200)%200
		}
		p := NewProblem(status, title, detail)
		if retryAfter != "" {
			if !validHeaderValue(retryAfter) {
				return
			}
			p.WithHeader("Retry-After", retryAfter)
		}
		e := echo.New()
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodGet, "/x", nil), rec)
		writeProblem(c, p)
		if rec.Code != status {
			t.Fatalf("status %d, want %d", rec.Code, status)
		}
		if ct := rec.Header().Get("Content-Type"); ct != problemContentType {
			t.Fatalf("Content-Type %q", ct)
		}
		if retryAfter != "" && rec.Header().Get("Retry-After") != strings.TrimSpace(retryAfter) && rec.Header().Get("Retry-After") != retryAfter {
			t.Fatalf("Retry-After %q, want %q", rec.Header().Get("Retry-After"), retryAfter)
		}
		var back Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil {
			t.Fatalf("body %q is not JSON: %v", rec.Body, err)
		}
		if !utf8.Valid(rec.Body.Bytes()) {
			t.Fatalf("body is not UTF-8: %q", rec.Body)
		}
		if back.Status != status || back.Type == "" || back.Title == "" {
			t.Fatalf("decoded %+v", back)
		}
		if utf8.ValidString(detail) && back.Detail != detail {
			t.Fatalf("detail %q came back as %q", detail, back.Detail)
		}
	})
}

func validHeaderValue(v string) bool {
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

var (
	fuzzGatewayOnce sync.Once
	fuzzGateway     *Server
)

// FuzzDAGIDResolution sends any dag_id (percent-encoded into the path) through the real
// routes and the resolver, in front of a stub Prefect that knows one deployment: the answer
// is a 200 for the ids that name it, a problem (never a 5xx) for everything else, and the
// resolver only ever asks Prefect for well-formed names.
func FuzzDAGIDResolution(f *testing.F) {
	for _, s := range []string{"etl.daily", "etl.nightly", "etl", ".", "..", "a.b.c", "etl.daily/", "~", "%", "é.ü", "etl daily", "\x00", strings.Repeat("a.", 300)} {
		f.Add(s)
	}
	fuzzGatewayOnce.Do(func() {
		stub := httptest.NewServer(&healthyPrefect{runs: map[string][]byte{}})
		// Lives for the process: the fuzz workers reuse it across iterations.
		m := NewMetrics("fuzz")
		client, err := prefect.New(prefect.Options{BaseURL: stub.URL + "/api", Observer: m, MaxAttempts: 1})
		if err != nil {
			panic(err)
		}
		fuzzGateway, err = New(Options{Prefect: client, Metrics: m, Auth: AuthOptions{Mode: "none"}, RequestTimeout: 5 * time.Second})
		if err != nil {
			panic(err)
		}
	})
	h := fuzzGateway.Handler()
	f.Fuzz(func(t *testing.T, dagID string) {
		for _, path := range []string{"/api/v1/dags/" + url.PathEscape(dagID), "/api/v1/dags/" + url.PathEscape(dagID) + "/dagRuns?limit=1"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "http://gateway/", nil)
			req.URL, _ = url.Parse("http://gateway" + path)
			req.RequestURI = path
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
			}
			if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), problemContentType) {
				t.Fatalf("GET %s: %d with Content-Type %q", path, rec.Code, rec.Header().Get("Content-Type"))
			}
		}
	})
}
