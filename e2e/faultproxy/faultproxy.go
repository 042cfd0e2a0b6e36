// Package faultproxy is a loopback HTTP proxy that stands between the gateway and a real
// Prefect server and injects the faults a network and an overloaded Prefect produce: latency,
// answers lost after Prefect acted on the request, error statuses with or without
// Retry-After, and hung requests. Tests decide per request, from the request and its body.
package faultproxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does with one request. The zero Fault forwards it untouched.
type Fault struct {
	// Delay holds the request this long before anything else happens.
	Delay time.Duration
	// DropResponse forwards the request, lets Prefect answer it in full, then closes the
	// client's connection without a byte of that answer: the write happened, the caller
	// never learns it.
	DropResponse bool
	// Status answers with this status without forwarding (0: forward).
	Status int
	// RetryAfter goes with Status.
	RetryAfter string
	// Body goes with Status (Prefect's shape, e.g. {"detail": "..."}).
	Body string
	// Hang holds the request until the client gives up (or the proxy closes).
	Hang bool
}

// Decider chooses the fault for one request. body is the request body, already read (the
// proxy forwards an identical copy). It may be called concurrently.
type Decider func(r *http.Request, body []byte) Fault

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's base URL with the upstream's path, a drop-in PREFECT_API_URL.
	URL string

	upstream  *url.URL
	decide    Decider
	transport *http.Transport
	server    *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	requests, dropped, injected atomic.Int64
}

// Start proxies to upstream (a Prefect API root such as http://127.0.0.1:4200/api) on a free
// loopback port. A nil decide forwards everything.
func Start(upstream string, decide Decider) (*Proxy, error) {
	u, err := url.Parse(strings.TrimRight(upstream, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q is not a URL", upstream)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		// Fault injection is for this machine only.
		return nil, fmt.Errorf("faultproxy: upstream %q is not a loopback address", upstream)
	}
	if decide == nil {
		decide = func(*http.Request, []byte) Fault { return Fault{} }
	}
	p := &Proxy{
		upstream:  u,
		decide:    decide,
		transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 2 * time.Second},
		done:      make(chan struct{}),
	}
	p.server = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.server.URL + u.Path
	return p, nil
}

// Close stops the proxy; hung requests are released.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		close(p.done)
		p.server.CloseClientConnections()
		p.server.Close()
		p.transport.CloseIdleConnections()
	})
}

// Stats are the proxy's counters: requests seen, answers dropped, faults answered by the
// proxy itself (statuses and hangs).
func (p *Proxy) Stats() (requests, dropped, injected int64) {
	return p.requests.Load(), p.dropped.Load(), p.injected.Load()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "faultproxy: read body: "+err.Error(), http.StatusBadGateway)
		return
	}
	f := p.decide(r, body)
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		case <-p.done:
			return
		}
	}
	switch {
	case f.Hang:
		p.injected.Add(1)
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
		return
	case f.Status != 0:
		p.injected.Add(1)
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
		return
	}

	res, err := p.forward(r, body)
	if err != nil {
		http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	if f.DropResponse {
		// Read Prefect's whole answer first, so that its work is certainly done.
		_, _ = io.Copy(io.Discard, res.Body)
		p.dropped.Add(1)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

func (p *Proxy) forward(r *http.Request, body []byte) (*http.Response, error) {
	target := *p.upstream
	target.Path = p.upstream.Path + strings.TrimPrefix(r.URL.Path, p.upstream.Path)
	target.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		if k == "Connection" || k == "Keep-Alive" || k == "Te" || k == "Trailer" || k == "Upgrade" {
			continue
		}
		out.Header[k] = vs
	}
	return p.transport.RoundTrip(out)
}
