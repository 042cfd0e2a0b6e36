package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	var seen atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+string(body))
	}))
	defer upstream.Close()
	p, err := Start(upstream.URL+"/api", func(r *http.Request, body []byte) Fault {
		switch {
		case strings.Contains(string(body), "drop"):
			return Fault{DropResponse: true}
		case strings.Contains(string(body), "429"):
			return Fault{Status: 429, RetryAfter: "3", Body: `{"detail":"slow down"}`}
		case strings.Contains(string(body), "slow"):
			return Fault{Delay: 50 * time.Millisecond}
		case strings.Contains(string(body), "hang"):
			return Fault{Hang: true}
		}
		return Fault{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !strings.HasSuffix(p.URL, "/api") {
		t.Fatalf("URL %q keeps no /api", p.URL)
	}
	post := func(body string, timeout time.Duration) (*http.Response, string, error) {
		c := &http.Client{Timeout: timeout}
		res, err := c.Post(p.URL+"/flows/filter?x=1", "application/json", strings.NewReader(body))
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b), nil
	}

	res, body, err := post("plain", 5*time.Second)
	if err != nil || res.StatusCode != 201 || body != "POST /api/flows/filter?x=1 plain" || res.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("forward: %v %v %q", err, res, body)
	}
	res, body, err = post("429", 5*time.Second)
	if err != nil || res.StatusCode != 429 || res.Header.Get("Retry-After") != "3" || body != `{"detail":"slow down"}` {
		t.Fatalf("status: %v %v %q", err, res, body)
	}
	before := seen.Load()
	if _, _, err = post("drop", 5*time.Second); err == nil {
		t.Fatal("a dropped answer arrived")
	}
	if seen.Load() != before+1 {
		t.Fatal("a dropped answer's request did not reach upstream")
	}
	if res, _, err = post("slow", 5*time.Second); err != nil || res.StatusCode != 201 {
		t.Fatalf("delay: %v", err)
	}
	if _, _, err = post("hang", 200*time.Millisecond); err == nil {
		t.Fatal("a hung request was answered")
	}
	if req, dropped, injected := p.Stats(); req != 5 || dropped != 1 || injected != 2 {
		t.Fatalf("stats %d %d %d, want 5 1 2", req, dropped, injected)
	}
	if _, err := Start("http://10.0.0.1:4200/api", nil); err == nil {
		t.Fatal("a non-loopback upstream was accepted")
	}
}
