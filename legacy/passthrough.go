package legacy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// PassThroughConfig configures NewPassThrough.
type PassThroughConfig struct {
	Options
	// WriteError answers a request Airflow did not answer (refused, timed out, cut off, too
	// large): the gateway renders err as a Problem in the request's API generation. Nil
	// writes a plain problem+json.
	WriteError func(w http.ResponseWriter, r *http.Request, err *Error)
	// ErrorLog receives what httputil.ReverseProxy logs itself (a body copy cut short).
	ErrorLog *log.Logger
}

// NewPassThrough is the handler that hands a request to the legacy Airflow and its answer
// back unchanged (status, headers that matter, body), built on httputil.ReverseProxy with a
// Rewrite (never a Director, whose changes the proxy's hop-by-hop removal runs after):
//
//   - the raw RequestURI is forwarded as it came (an encoded dag_id, "~", a repeated query
//     key: what the caller sent is what Airflow reads), under the base URL's path;
//   - Authorization is replaced by the legacy credential (kept as it came in forward mode);
//     cookies never cross: Cookie is dropped on the way in, Set-Cookie on the way out, and
//     Server too;
//   - its own Transport (Options.Transport, else NewTransport: bounded connections, a
//     timeout to the answer's headers), and the request's own deadline over the whole;
//   - answers are streamed (FlushInterval -1), redacted of the credentials as they pass,
//     and cut off past MaxPassThroughBytes;
//   - a request Airflow did not answer gets WriteError's Problem: 503 when Airflow is
//     unreachable, 504 when it did not answer in time, 502 for a broken or oversized answer.
func NewPassThrough(cfg PassThroughConfig) (http.Handler, error) {
	if err := cfg.Options.setDefaults(); err != nil {
		return nil, err
	}
	target, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	transport := cfg.Transport
	if transport == nil {
		transport = NewTransport(cfg.Options)
	}
	pt := &passThrough{cfg: cfg, base: strings.TrimRight(target.EscapedPath(), "/")}
	if !cfg.ForwardCaller {
		pt.cred = BasicCredential(cfg.Username, cfg.Password)
	}
	pt.own = newRedactor(pt.cred)
	if pt.cfg.WriteError == nil {
		pt.cfg.WriteError = writePlainProblem
	}
	errorLog := cfg.ErrorLog
	if errorLog == nil {
		errorLog = log.New(io.Discard, "", 0)
	}
	pt.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pt.rewrite(pr)
		},
		Transport:      transport,
		FlushInterval:  -1,
		ModifyResponse: pt.modifyResponse,
		ErrorHandler:   pt.errorHandler,
		BufferPool:     bufferPool{},
		ErrorLog:       errorLog,
	}
	return pt, nil
}

type passThrough struct {
	cfg   PassThroughConfig
	base  string // the base URL's escaped path, no trailing slash
	cred  Credential
	own   redactor
	proxy *httputil.ReverseProxy
}

type passKey int

const (
	startKey passKey = iota
	redactorKey
)

func (pt *passThrough) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	count(r.Context())
	red := pt.own
	if pt.cfg.ForwardCaller {
		red = newRedactor(ForwardedCredential(r.Header.Get("Authorization")))
	}
	ctx := context.WithValue(r.Context(), startKey, time.Now())
	ctx = context.WithValue(ctx, redactorKey, red)
	if _, ok := ctx.Deadline(); !ok {
		// No deadline from the caller's side: bound the whole exchange by the timeout.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pt.cfg.Timeout)
		defer cancel()
	}
	pt.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// rewrite forwards the request-target exactly as the caller sent it.
func (pt *passThrough) rewrite(pr *httputil.ProxyRequest) {
	path, query := rawTarget(pr.In)
	out := pr.Out.URL
	out.RawQuery, out.ForceQuery = query, false
	if opaque := pt.base + path; !strings.HasPrefix(opaque, "//") {
		out.Opaque = opaque
	} else {
		// "//x" would read as a host: send it as a path instead (still escaped as it came).
		out.Opaque = ""
		out.Path, _ = url.PathUnescape(opaque)
		out.RawPath = opaque
	}
	h := pr.Out.Header
	h.Del("Cookie")
	if !pt.cfg.ForwardCaller {
		h.Del("Authorization")
		if a := pt.cred.authorization(); a != "" {
			h.Set("Authorization", a)
		}
	}
	pr.SetXForwarded()
}

// rawTarget is the escaped path and the raw query of the request-target the caller sent.
func rawTarget(r *http.Request) (string, string) {
	raw := r.RequestURI
	if raw == "" || !strings.HasPrefix(raw, "/") {
		// Absolute form ("http://host/path"), or a request built in process.
		return r.URL.EscapedPath(), r.URL.RawQuery
	}
	path, query, _ := strings.Cut(raw, "?")
	return path, query
}

var errTooLarge = errors.New("answer over the pass-through size limit")

func (pt *passThrough) modifyResponse(res *http.Response) error {
	ctx := res.Request.Context()
	pt.observe(ctx, kindOfStatus(res.StatusCode))
	h := res.Header
	h.Del("Set-Cookie")
	h.Del("Server")
	if res.ContentLength > pt.cfg.MaxPassThroughBytes {
		return errTooLarge
	}
	res.Body = &cappedBody{ReadCloser: res.Body, left: pt.cfg.MaxPassThroughBytes}
	if red, _ := ctx.Value(redactorKey).(redactor); !red.empty() && res.Request.Method != http.MethodHead {
		res.Body = newRedactingReader(res.Body, red)
		res.ContentLength = -1
		h.Del("Content-Length")
	}
	return nil
}

// kindOfStatus is the outcome an answer counts as; KindUnknown is success.
func kindOfStatus(status int) Kind {
	if status < 400 {
		return KindUnknown
	}
	if k := kindForStatus(status); k != KindUnknown {
		return k
	}
	return KindBadGateway
}

func (pt *passThrough) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	red, _ := r.Context().Value(redactorKey).(redactor)
	op := r.Method + " " + r.URL.Path
	var e *Error
	if errors.Is(err, errTooLarge) {
		e = errorf(KindTooLarge, op, "the legacy Airflow's answer is larger than %d bytes", pt.cfg.MaxPassThroughBytes)
	} else {
		e = transportError(r.Context(), op, err, red.merge(pt.own))
	}
	if e.Kind != KindTooLarge { // an oversized answer was counted when it arrived
		pt.observe(r.Context(), e.Kind)
	}
	pt.cfg.WriteError(w, r, e)
}

func (pt *passThrough) observe(ctx context.Context, k Kind) {
	if pt.cfg.Observer == nil {
		return
	}
	start, _ := ctx.Value(startKey).(time.Time)
	endpoint, _ := ctx.Value(endpointKey).(string)
	if endpoint == "" {
		endpoint = "passthrough"
	}
	outcome := "ok"
	if k != KindUnknown {
		outcome = k.String()
	}
	pt.cfg.Observer.ObserveLegacyCall(endpoint, outcome, time.Since(start))
}

// cappedBody ends a pass-through answer with an error once it passes its limit, so that the
// proxy aborts the connection instead of streaming without end.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a stream that ends exactly at the limit from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// bufferPool recycles the proxy's copy buffers (32 KiB each).
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// writePlainProblem is the fallback error writer: an Airflow-shaped problem document.
func writePlainProblem(w http.ResponseWriter, _ *http.Request, e *Error) {
	status := StatusOf(e)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"detail":%q,"status":%d,"title":%q,"type":"about:blank"}`+"\n", e.Message, status, http.StatusText(status))
}

// StatusOf is the status a failure of the legacy Airflow is answered with: Airflow's own for
// an answer it gave (4xx), 503 unreachable or overloaded, 504 no answer in time, 502 for a
// broken, unreadable or oversized answer or an Airflow 5xx.
func StatusOf(e *Error) int {
	switch e.Kind {
	case KindUnavailable:
		return http.StatusServiceUnavailable
	case KindTimeout:
		return http.StatusGatewayTimeout
	case KindRateLimited:
		return http.StatusTooManyRequests
	case KindBadGateway, KindTooLarge, KindUnknown:
		return http.StatusBadGateway
	}
	if e.Status >= 400 && e.Status < 500 {
		return e.Status
	}
	return http.StatusBadGateway
}
