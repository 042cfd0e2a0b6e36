// Package legacy is the only code in the gateway that talks to a legacy Airflow 2.x webserver
// (its stable REST API, /api/v1): the typed Client the merged listings, the cut-over and
// comparisons read and write through, and the PassThrough that hands a DAG-scoped request to
// Airflow unchanged. Both share one Transport with its own bounds, the legacy credential (or
// the caller's own, forwarded), a retry policy of their own (retry.go) and redaction of the
// credentials from everything Airflow sends back (redact.go).
//
// It imports neither package prefect nor package gateway: the gateway maps its Errors to
// problems at the edge.
package legacy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Options configure the connection to the legacy Airflow; the Client and the PassThrough
// take the same.
type Options struct {
	// URL is the Airflow webserver's base URL (http://airflow:8080, or with the path prefix
	// it is served under); the API is URL + "/api/v1".
	URL string
	// Username and Password are the gateway's own Airflow user (basic_auth API backend).
	Username, Password string
	// ForwardCaller sends every caller's own Authorization header to Airflow instead, so that
	// Airflow checks its own users and roles as well as the gateway's.
	ForwardCaller bool
	// Timeout bounds one attempt: until Airflow's answer headers arrive (pass-through), or
	// the whole answer (Client), when the request's own deadline is not earlier. Default 30s.
	Timeout time.Duration
	// MaxAttempts of a safe Client call (1 = no retries). Default 3: Airflow's webserver
	// answers from a small gunicorn pool, and the request deadline bounds retries anyway.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the capped exponential backoff with full jitter.
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After waited out before a retry. Default 5s.
	MaxRetryAfter time.Duration
	// MaxConnections bounds connections to Airflow (both kinds of calls) and the Client's
	// calls in flight. Default 16: a webserver with 4 gunicorn workers gains nothing beyond.
	MaxConnections int
	// MaxAnswerBytes caps one answer the Client reads. Default 16 MiB (a page of 100 DAGs
	// is well under 1 MiB).
	MaxAnswerBytes int64
	// MaxPassThroughBytes caps one answer passed through (logs are the large ones). Default
	// 1 GiB; an answer that exceeds it is cut off, its connection aborted.
	MaxPassThroughBytes int64
	// Transport, when set, carries the calls (tests; or one Transport shared by a Client and
	// a PassThrough, see NewTransport).
	Transport http.RoundTripper
	// Observer receives one event per call attempt and retry (/metrics).
	Observer Observer
	// UserAgent of the calls the Client makes (the pass-through keeps the caller's).
	UserAgent string
}

// Observer receives the legacy calls; the gateway's metrics implement it.
type Observer interface {
	ObserveLegacyCall(endpoint, outcome string, d time.Duration)
	ObserveLegacyRetry(endpoint string)
}

func (o *Options) setDefaults() error {
	o.URL = strings.TrimRight(strings.TrimSpace(o.URL), "/")
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("legacy Airflow URL %q is not an http(s) base URL", o.URL)
	}
	if u.User != nil {
		return fmt.Errorf("legacy Airflow URL must not carry credentials: set GATEWAY_LEGACY_AIRFLOW_USERNAME and _PASSWORD")
	}
	if o.ForwardCaller && (o.Username != "" || o.Password != "") {
		return fmt.Errorf("legacy Airflow credentials: set a username and password, or forward the caller's, not both")
	}
	if !o.ForwardCaller && (o.Username == "") != (o.Password == "") {
		return fmt.Errorf("legacy Airflow credentials: set both the username and the password")
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 2 * time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 5 * time.Second
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 16
	}
	if o.MaxAnswerBytes <= 0 {
		o.MaxAnswerBytes = 16 << 20
	}
	if o.MaxPassThroughBytes <= 0 {
		o.MaxPassThroughBytes = 1 << 30
	}
	if o.UserAgent == "" {
		o.UserAgent = "airflow-prefect-gateway"
	}
	return nil
}

// NewTransport is a Transport for the legacy Airflow with its own bounds: at most
// MaxConnections connections, Timeout to the answer's headers, idle connections dropped
// after 50 s (gunicorn keeps them 2 s by default, and a request sent on a closing one is
// resent by net/http only when it is safe).
func NewTransport(opts Options) *http.Transport {
	_ = opts.setDefaults()
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = opts.MaxConnections
	t.MaxIdleConnsPerHost = opts.MaxConnections
	t.MaxIdleConns = opts.MaxConnections
	t.ResponseHeaderTimeout = opts.Timeout
	t.IdleConnTimeout = 50 * time.Second
	// Airflow's answers are passed on byte for byte: never ask for a compression the
	// caller did not ask for (the pass-through keeps the caller's Accept-Encoding).
	t.DisableCompression = true
	return t
}

// Credential is what the gateway sends to Airflow: its own user, or a caller's header.
// It never prints its secret.
type Credential struct {
	user, password string
	header         string // a forwarded Authorization header
}

// BasicCredential is an Airflow user of the basic_auth backend.
func BasicCredential(user, password string) Credential {
	return Credential{user: user, password: password}
}

// ForwardedCredential is a caller's own Authorization header, sent on as it came.
func ForwardedCredential(authorization string) Credential {
	return Credential{header: authorization}
}

// IsZero reports whether the credential sends nothing.
func (c Credential) IsZero() bool { return c.password == "" && c.header == "" && c.user == "" }

func (c Credential) authorization() string {
	if c.header != "" {
		return c.header
	}
	if c.user == "" && c.password == "" {
		return ""
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.user+":"+c.password))
}

// String never shows the secret.
func (c Credential) String() string {
	switch {
	case c.header != "":
		return "forwarded"
	case c.user != "":
		return "basic:" + c.user
	}
	return "none"
}

type ctxKey int

const (
	credentialKey ctxKey = iota
	counterKey
	endpointKey
)

// WithCredential makes the calls made with ctx carry cred (forward mode: the caller's).
func WithCredential(ctx context.Context, cred Credential) context.Context {
	return context.WithValue(ctx, credentialKey, cred)
}

// CallCounter counts the legacy calls (attempts included) made for one request.
type CallCounter struct{ n atomic.Int64 }

// Load is the number counted so far.
func (c *CallCounter) Load() int64 { return c.n.Load() }

// WithCallCounter attaches a fresh counter to ctx; the access log reads it.
func WithCallCounter(ctx context.Context) (context.Context, *CallCounter) {
	c := &CallCounter{}
	return context.WithValue(ctx, counterKey, c), c
}

// WithEndpoint names, for /metrics, the route a pass-through call serves (a template such as
// "dags/{dag_id}/dagRuns", never an id).
func WithEndpoint(ctx context.Context, endpoint string) context.Context {
	return context.WithValue(ctx, endpointKey, endpoint)
}

func count(ctx context.Context) {
	if c, ok := ctx.Value(counterKey).(*CallCounter); ok {
		c.n.Add(1)
	}
}

// Client is a typed client of the legacy Airflow's /api/v1. Safe for concurrent use.
type Client struct {
	opts  Options
	api   string // URL + "/api/v1"
	http  *http.Client
	cred  Credential
	own   redactor // the gateway's own credential
	slots chan struct{}
}

// New builds a Client. It does not contact Airflow.
func New(opts Options) (*Client, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	transport := opts.Transport
	if transport == nil {
		transport = NewTransport(opts)
	}
	c := &Client{opts: opts, api: opts.URL + "/api/v1", http: &http.Client{Transport: transport},
		slots: make(chan struct{}, opts.MaxConnections)}
	if !opts.ForwardCaller {
		c.cred = BasicCredential(opts.Username, opts.Password)
	}
	c.own = newRedactor(c.cred)
	return c, nil
}

// URL is the webserver's base URL (no credentials ever: they are refused).
func (c *Client) URL() string { return c.opts.URL }

// ForwardsCaller tells whether calls carry the caller's credential (WithCredential).
func (c *Client) ForwardsCaller() bool { return c.opts.ForwardCaller }

// Redact removes the legacy credentials from s (and cred's, when given): for text that came
// from Airflow by another way than this package.
func (c *Client) Redact(s string, creds ...Credential) string {
	return c.redactorFor(creds...).text(s)
}

func (c *Client) credentialFor(ctx context.Context) Credential {
	if cred, ok := ctx.Value(credentialKey).(Credential); ok && c.opts.ForwardCaller {
		return cred
	}
	return c.cred
}

func (c *Client) redactorFor(extra ...Credential) redactor {
	if len(extra) == 0 || (len(extra) == 1 && extra[0] == c.cred) {
		return c.own
	}
	return newRedactor(append([]Credential{c.cred}, extra...)...)
}

// call is one logical call under /api/v1.
type call struct {
	method   string
	path     string // under /api/v1, escaped, starts with "/"
	query    url.Values
	body     any
	out      any    // decoded from a 2xx answer when non-nil
	endpoint string // metrics label
	safe     bool   // a read: may be sent again (never a write)
}

// do runs cl with the retry policy of retry.go.
func (c *Client) do(ctx context.Context, cl call) error {
	var payload []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return &Error{Kind: KindInvalid, Op: cl.method + " " + cl.path, Err: fmt.Errorf("encode body: %w", err)}
		}
		payload = b
	}
	op := cl.method + " /api/v1" + cl.path
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, cl, op, payload)
		if err == nil {
			return nil
		}
		le, _ := AsError(err)
		wait, again := c.retryWait(ctx, cl, attempt, le)
		if !again {
			return err
		}
		if c.opts.Observer != nil {
			c.opts.Observer.ObserveLegacyRetry(cl.endpoint)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (c *Client) attempt(ctx context.Context, cl call, op string, payload []byte) error {
	count(ctx)
	cred := c.credentialFor(ctx)
	red := c.redactorFor(cred)
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	target := c.api + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, target, body)
	if err != nil {
		return &Error{Kind: KindInvalid, Op: op, Err: red.err(err)}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.safe {
		// Lets net/http resend it by itself on a keep-alive connection closed under it.
		req.Header["Idempotency-Key"] = nil
	}
	if h := cred.authorization(); h != "" {
		req.Header.Set("Authorization", h)
	}
	select {
	case c.slots <- struct{}{}:
	case <-actx.Done():
		return transportError(actx, op, actx.Err(), red)
	}
	defer func() { <-c.slots }()
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		e := transportError(actx, op, err, red)
		c.observe(cl.endpoint, e.Kind, start)
		return e
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, c.opts.MaxAnswerBytes+1))
	if err != nil {
		e := transportError(actx, op, err, red)
		if e.Kind == KindUnavailable {
			e.Kind = KindBadGateway // the connection broke mid-answer
		}
		c.observe(cl.endpoint, e.Kind, start)
		return e
	}
	if int64(len(raw)) > c.opts.MaxAnswerBytes {
		e := errorf(KindTooLarge, op, "the legacy Airflow's answer is larger than %d bytes", c.opts.MaxAnswerBytes)
		e.Status = res.StatusCode
		c.observe(cl.endpoint, e.Kind, start)
		return e
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := answerError(op, res.StatusCode, res.Header, raw, red)
		c.observe(cl.endpoint, e.Kind, start)
		return e
	}
	if cl.out != nil && res.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, cl.out); err != nil {
			c.observe(cl.endpoint, KindBadGateway, start)
			return &Error{Kind: KindBadGateway, Status: res.StatusCode, Op: op,
				Message: "the legacy Airflow's answer could not be read", Err: red.err(err)}
		}
	}
	c.observe(cl.endpoint, KindUnknown, start)
	return nil
}

// observe reports an attempt; KindUnknown stands for success here.
func (c *Client) observe(endpoint string, k Kind, start time.Time) {
	if c.opts.Observer == nil {
		return
	}
	outcome := "ok"
	if k != KindUnknown {
		outcome = k.String()
	}
	c.opts.Observer.ObserveLegacyCall(endpoint, outcome, time.Since(start))
}
