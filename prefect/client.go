// Package prefect is the only code in the gateway that talks to a Prefect 3 server. It knows
// Prefect's URLs, auth modes, CSRF dance, retry rules and error shapes, and hands the rest
// of the gateway typed objects and typed errors.
package prefect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
)

// AuthMode is how the gateway presents itself to Prefect.
type AuthMode int

const (
	AuthNone   AuthMode = iota // open self-hosted server
	AuthBearer                 // Prefect Cloud: Authorization: Bearer <PREFECT_API_KEY>
	AuthBasic                  // self-hosted with PREFECT_SERVER_API_AUTH_STRING: Basic base64(auth string)
)

func (m AuthMode) String() string {
	switch m {
	case AuthBearer:
		return "bearer"
	case AuthBasic:
		return "basic"
	default:
		return "none"
	}
}

// Credential is one upstream identity. Secret is never logged or rendered.
type Credential struct {
	Mode   AuthMode
	Secret string
}

// BearerCredential is a Prefect API key (Cloud).
func BearerCredential(apiKey string) Credential { return Credential{Mode: AuthBearer, Secret: apiKey} }

// BasicCredential is a Prefect auth string "user:pass" (self-hosted with auth).
func BasicCredential(authString string) Credential {
	return Credential{Mode: AuthBasic, Secret: authString}
}

func (c Credential) header() string {
	switch c.Mode {
	case AuthBearer:
		return "Bearer " + c.Secret
	case AuthBasic:
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Secret))
	default:
		return ""
	}
}

// Fingerprint names the credential without revealing it: caches key on it so that data read
// with one credential never answers a request made with another. "anonymous" for AuthNone.
func (c Credential) Fingerprint() string {
	if c.Mode == AuthNone {
		return "anonymous"
	}
	sum := sha256.Sum256([]byte(c.Mode.String() + "\x00" + c.Secret))
	return hex.EncodeToString(sum[:12])
}

// String never shows the secret, so a Credential printed by accident leaks nothing.
func (c Credential) String() string { return c.Mode.String() + ":" + c.Fingerprint() }

type ctxKey int

const (
	credentialKey ctxKey = iota
	callCounterKey
	callerKey
)

// WithCredential makes every call made with ctx use cred instead of the client's default.
func WithCredential(ctx context.Context, cred Credential) context.Context {
	return context.WithValue(ctx, credentialKey, cred)
}

// CallCounter counts the Prefect calls (attempts included) made on behalf of one request.
type CallCounter struct{ n atomic.Int64 }

// Load returns the number of calls counted so far.
func (c *CallCounter) Load() int64 { return c.n.Load() }

// WithCallCounter attaches a fresh counter to ctx; the request log line and the call-budget
// tests read it.
func WithCallCounter(ctx context.Context) (context.Context, *CallCounter) {
	c := &CallCounter{}
	return context.WithValue(ctx, callCounterKey, c), c
}

// Observer receives one event per upstream attempt and per retry; /metrics implements it.
type Observer interface {
	ObserveCall(endpoint, outcome string, d time.Duration)
	ObserveRetry(endpoint string)
}

// Options configure a Client.
type Options struct {
	// BaseURL is PREFECT_API_URL: http://host:4200/api, or a Cloud workspace URL
	// https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>. A trailing slash is fine.
	BaseURL string
	// Credential is the gateway's own upstream identity, used when a request carries none.
	Credential Credential
	// Timeout bounds one attempt when the caller's context has no earlier deadline.
	Timeout time.Duration
	// MaxAttempts for retryable calls (1 = no retries). Default 8: a busy SQLite-backed
	// Prefect answers 503 ("database is locked") in runs lasting seconds, and the caller's
	// deadline bounds the retries anyway.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the capped exponential backoff with full jitter.
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out by itself. Default 5s.
	MaxRetryAfter time.Duration
	// MaxConcurrentCalls bounds the calls in flight to Prefect at once; more wait their turn
	// (within their deadline). A burst of Airflow requests then queues in the gateway instead
	// of overrunning Prefect (a SQLite-backed server answers 503 "database is locked" to
	// concurrent writes). Default 32; negative means no bound.
	MaxConcurrentCalls int
	// MaxConcurrentCallsPerCaller bounds one caller's share of them (WithCaller names the
	// caller: a user, a credential, a client address), so that one caller cannot take every
	// slot. Default three quarters of MaxConcurrentCalls (at least 1); negative means no share.
	MaxConcurrentCallsPerCaller int
	// MaxConcurrentWrites is the ceiling of the adaptive bound on calls in flight that write
	// (creates, state changes, updates, deletes; reads, filters and counts do not count).
	// The bound starts at 2, halves whenever Prefect answers a write with overload (503, a
	// reset connection, 429) and grows back by one per bound's worth of clean answers:
	// Prefect's SQLite backend serialises writes and answers concurrent ones with 503
	// "database is locked", while PostgreSQL or Prefect Cloud take many. Default 32;
	// negative means no bound at all.
	MaxConcurrentWrites int
	Transport           http.RoundTripper
	Observer            Observer
	UserAgent           string
}

// Client is safe for concurrent use.
type Client struct {
	base     string
	http     *http.Client
	cred     Credential
	attempts int
	backoff  [2]time.Duration
	maxWait  time.Duration
	observer Observer
	agent    string

	timeout time.Duration
	// slots bounds the calls in flight, shared fairly between callers (nil: unbounded);
	// writes also need one of writeSlots (nil: unbounded).
	slots      *fairSlots
	writeSlots *adaptiveLimit

	// secrets are the client's own: its credential and PREFECT_API_URL's password; every
	// upstream error text is cleaned of them (redact.go).
	secrets    []string
	ownSecrets redactor

	csrfMu     sync.Mutex
	csrf       csrfState
	csrfWanted bool // the server refused a call for want of a token
	csrfClient string
}

type csrfState struct {
	known   bool // the server told us whether it wants tokens
	enabled bool
	token   string
	expires time.Time
}

// New builds a Client. It does not contact Prefect.
func New(opts Options) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	u, err := url.Parse(base)
	if err != nil {
		return nil, errors.New("PREFECT_API_URL is not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("PREFECT_API_URL %q is not an http(s) URL", u.Redacted())
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 2 * time.Second
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 5 * time.Second
	}
	slots := newFairSlots(opts.MaxConcurrentCalls, opts.MaxConcurrentCallsPerCaller)
	var writeSlots *adaptiveLimit
	switch {
	case opts.MaxConcurrentWrites == 0:
		writeSlots = newAdaptiveLimit(2, 32)
	case opts.MaxConcurrentWrites > 0:
		writeSlots = newAdaptiveLimit(2, opts.MaxConcurrentWrites)
	}
	transport := opts.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 128
		// Below uvicorn's keep-alive (Prefect's default is 5 s), so that the client never
		// sends a request on a connection the server is closing: a POST lost that way could
		// not be sent again.
		t.IdleConnTimeout = 4 * time.Second
		transport = t
	}
	agent := opts.UserAgent
	if agent == "" {
		agent = "airflow-prefect-gateway"
	}
	idBytes := sha256.Sum256([]byte(fmt.Sprintf("%d-%d", time.Now().UnixNano(), rand.Int64())))
	secrets := append(urlSecrets(u), opts.Credential.Secret)
	return &Client{
		secrets:    secrets,
		ownSecrets: redactor{forms: secretForms(secrets...)},
		base:       base,
		http:       &http.Client{Transport: transport, Timeout: 0},
		cred:       opts.Credential,
		attempts:   opts.MaxAttempts,
		backoff:    [2]time.Duration{opts.BaseBackoff, opts.MaxBackoff},
		maxWait:    opts.MaxRetryAfter,
		observer:   opts.Observer,
		timeout:    opts.Timeout,
		slots:      slots,
		writeSlots: writeSlots,
		agent:      agent,
		csrfClient: "airflow-prefect-gateway-" + hex.EncodeToString(idBytes[:8]),
	}, nil
}

// BaseURL is the normalised API root, without a trailing slash. It may hold a password:
// log DisplayURL instead.
func (c *Client) BaseURL() string { return c.base }

// DisplayURL is BaseURL with its password, if any, replaced: fit for a log line.
func (c *Client) DisplayURL() string { return RedactedURL(c.base) }

// DefaultCredential is the gateway's own upstream credential.
func (c *Client) DefaultCredential() Credential { return c.cred }

// CredentialFor is the credential a call made with ctx will use.
func (c *Client) CredentialFor(ctx context.Context) Credential {
	if cred, ok := ctx.Value(credentialKey).(Credential); ok {
		return cred
	}
	return c.cred
}

// call describes one logical Prefect call.
type call struct {
	method   string
	path     string // relative to the API root, starts with "/"
	query    url.Values
	body     any
	out      any    // decoded from a 2xx answer when non-nil
	endpoint string // metrics label, e.g. "flow_runs/filter"
	// retry marks calls that are safe to repeat: reads, filters, counts, upserts,
	// idempotency-keyed creates, updates that set values, and deletes.
	retry bool
	// goneMeansDone marks a delete: after a failed attempt, Prefect's 404 means the object is
	// gone (that attempt, or somebody else, deleted it), which is what the call wanted.
	goneMeansDone bool
}

// response is what a call returns besides the decoded body.
type response struct {
	status int
}

func (c *Client) do(ctx context.Context, cl call) (response, error) {
	var payload []byte
	if cl.body != nil {
		b, err := gojson.Marshal(cl.body) // the same bytes as encoding/json's, in half the time
		if err != nil {
			return response{}, &Error{Kind: KindInvalid, Op: cl.method + " " + cl.path, Err: fmt.Errorf("encode body: %w", err)}
		}
		payload = b
	}
	op := cl.method + " " + cl.path
	csrfRetried := false
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, cl, op, payload)
		if err == nil {
			return resp, nil
		}
		pe, _ := AsError(err)
		if cl.goneMeansDone && attempt > 1 && pe != nil && pe.Kind == KindNotFound {
			return resp, nil
		}
		// A CSRF refusal happens before Prefect looks at the request, so sending it again
		// with a fresh token is safe for every method.
		if pe != nil && pe.Kind == KindForbidden && isCSRFRefusal(pe.Message) && !csrfRetried {
			csrfRetried = true
			c.invalidateCSRF()
			attempt--
			continue
		}
		// The policy lives in retry.go.
		wait, again := c.retryWait(ctx, cl, attempt, pe)
		if !again {
			return resp, err
		}
		if c.observer != nil {
			c.observer.ObserveRetry(cl.endpoint)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, err
		case <-t.C:
		}
	}
}

func (c *Client) attempt(ctx context.Context, cl call, op string, payload []byte) (_ response, attemptErr error) {
	if counter, ok := ctx.Value(callCounterKey).(*CallCounter); ok {
		counter.n.Add(1)
	}
	actx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	target := c.base + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, target, body)
	if err != nil {
		return response{}, &Error{Kind: KindInvalid, Op: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if cl.retry {
		// Marks the request as safe to replay without sending a header: net/http then resends
		// it by itself when a reused keep-alive connection turns out to be closed or reset
		// before any answer, which a busy Prefect (uvicorn) does under load.
		req.Header["Idempotency-Key"] = nil
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	cred := c.CredentialFor(ctx)
	if h := cred.header(); h != "" {
		req.Header.Set("Authorization", h)
	}
	if cl.method != http.MethodGet && cl.method != http.MethodHead {
		if token, ok := c.csrfToken(ctx, cred); ok {
			req.Header.Set("Prefect-Csrf-Token", token)
			req.Header.Set("Prefect-Csrf-Client", c.csrfClient)
		}
	}

	// Writes take their write slot first, so that queued writes never hold a general slot.
	if cl.isWrite() && c.writeSlots != nil {
		if err := c.writeSlots.acquire(actx); err != nil {
			return response{}, transportError(ctx, op, err)
		}
		defer func() { c.writeSlots.release(overloaded(attemptErr)) }()
	}
	caller := callerOf(ctx)
	if err := c.slots.acquire(actx, caller); err != nil {
		return response{}, transportError(ctx, op, err)
	}
	defer c.slots.release(caller)
	rd := c.redactorFor(cred)
	defer func() {
		// Whatever Prefect (or a proxy) wrote back, none of the call's secrets leave here.
		if pe, ok := attemptErr.(*Error); ok {
			pe.Message = rd.text(pe.Message)
			pe.Err = rd.err(pe.Err)
		}
	}()
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		e := transportError(ctx, op, err)
		c.observe(cl.endpoint, e.Kind.String(), start)
		return response{}, e
	}
	defer res.Body.Close()
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer putAnswerBuffer(buf)
	if n := res.ContentLength; n > 0 && n <= 64<<20 {
		buf.Grow(int(n) + bytes.MinRead) // one allocation at most, and ReadFrom's EOF probe fits
	}
	_, readErr := buf.ReadFrom(io.LimitReader(res.Body, 64<<20))
	raw := buf.Bytes()
	if readErr != nil {
		e := transportError(ctx, op, readErr)
		if e.Kind == KindUnavailable {
			e.Kind = KindBadGateway // the connection broke mid-answer
		}
		c.observe(cl.endpoint, e.Kind.String(), start)
		return response{status: res.StatusCode}, e
	}
	resp := response{status: res.StatusCode}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if cl.out != nil && res.StatusCode != http.StatusNoContent {
			if err := decodeAnswer(raw, cl.out); err != nil {
				c.observe(cl.endpoint, KindBadGateway.String(), start)
				return resp, &Error{Kind: KindBadGateway, Status: res.StatusCode, Op: op,
					Message: "Prefect's answer could not be read", Err: err}
			}
		}
		c.observe(cl.endpoint, "ok", start)
		return resp, nil
	}
	retryAfter := parseRetryAfter(res.Header.Get("Retry-After"), time.Now())
	e := &Error{Kind: kindForStatus(res.StatusCode), Status: res.StatusCode, Op: op,
		Message: errorMessage(raw), RetryAfter: retryAfter}
	if e.Kind == KindUnknown {
		e.Kind = KindBadGateway
	}
	c.observe(cl.endpoint, e.Kind.String(), start)
	return resp, e
}

// answerBuffers recycles the buffers Prefect's answers are read into: a list page is tens of
// kilobytes, and growing a new buffer for each was a tenth of what a list cost. Decode copies
// what it keeps, so a buffer is free again once the call returns.
var answerBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putAnswerBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return // a rare huge answer: let it go rather than pin it
	}
	buf.Reset()
	answerBuffers.Put(buf)
}

func (c *Client) observe(endpoint, outcome string, start time.Time) {
	if c.observer != nil {
		c.observer.ObserveCall(endpoint, outcome, time.Since(start))
	}
}

func transportError(ctx context.Context, op string, err error) *Error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(ctx.Err(), context.Canceled) {
			return &Error{Kind: KindTimeout, Op: op, Message: "request cancelled", Err: ctx.Err()}
		}
		return &Error{Kind: KindTimeout, Op: op, Message: "Prefect did not answer before the deadline", Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, Op: op, Message: "Prefect did not answer before the deadline", Err: err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &Error{Kind: KindBadGateway, Op: op, Message: "Prefect closed the connection mid-answer", Err: err}
	}
	return &Error{Kind: KindUnavailable, Op: op, Message: "Prefect is unreachable", Err: redactURLError(err)}
}

// redactURLError keeps the cause but drops the URL (which could carry userinfo) from it.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isCSRFRefusal(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "csrf") || strings.Contains(m, "client identifier")
}

// csrfToken returns the token to send, fetching one the first time a mutating call is made
// and again when it expires. When the server has CSRF protection off (it answers 422 on
// /csrf-token) no header is sent, ever.
func (c *Client) csrfToken(ctx context.Context, cred Credential) (string, bool) {
	c.csrfMu.Lock()
	defer c.csrfMu.Unlock()
	if c.csrf.known && !c.csrf.enabled {
		return "", false
	}
	if c.csrf.known && c.csrf.enabled && time.Until(c.csrf.expires) > 30*time.Second {
		return c.csrf.token, true
	}
	if !c.csrf.known && !c.csrfWanted {
		// Not asked yet: optimistic, costs no call on servers without CSRF. A 403 refusal
		// flips csrfWanted and the call is sent again.
		return "", false
	}
	c.fetchCSRFLocked(ctx, cred)
	if c.csrf.enabled {
		return c.csrf.token, true
	}
	return "", false
}

func (c *Client) fetchCSRFLocked(ctx context.Context, cred Credential) {
	q := url.Values{"client": {c.csrfClient}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/csrf-token?"+q.Encode(), nil)
	if err != nil {
		return
	}
	if h := cred.header(); h != "" {
		req.Header.Set("Authorization", h)
	}
	req.Header.Set("Accept", "application/json")
	if counter, ok := ctx.Value(callCounterKey).(*CallCounter); ok {
		counter.n.Add(1)
	}
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		c.observe("csrf-token", "unavailable", start)
		return
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	c.observe("csrf-token", strconv.Itoa(res.StatusCode), start)
	switch {
	case res.StatusCode == http.StatusOK:
		var tok struct {
			Token      string    `json:"token"`
			Expiration time.Time `json:"expiration"`
		}
		if json.Unmarshal(raw, &tok) == nil && tok.Token != "" {
			c.csrf = csrfState{known: true, enabled: true, token: tok.Token, expires: tok.Expiration}
		}
	case res.StatusCode == http.StatusUnprocessableEntity || res.StatusCode == http.StatusNotFound:
		c.csrf = csrfState{known: true, enabled: false}
	}
}

func (c *Client) invalidateCSRF() {
	c.csrfMu.Lock()
	c.csrf = csrfState{}
	c.csrfWanted = true
	c.csrfMu.Unlock()
}

// CheckCredential asks Prefect whether it accepts cred, with one cheap authenticated call:
// POST /flows/count exists on self-hosted servers and Cloud workspaces alike and, unlike
// /health and /ready, is never exempt from Prefect's auth. nil means accepted; an *Error of
// KindUnauthorized means refused; any other error says nothing about the credential.
func (c *Client) CheckCredential(ctx context.Context, cred Credential) error {
	var n int
	_, err := c.do(WithCredential(ctx, cred), call{method: http.MethodPost, path: "/flows/count",
		body: struct{}{}, out: &n, endpoint: "flows/count", retry: true})
	if err != nil {
		return fmt.Errorf("check %s credential: %w", cred.Mode, err)
	}
	return nil
}

// Decode reads one Prefect answer into v. go-json decodes Prefect's answers about twice as
// fast as encoding/json with the same semantics (unknown fields are ignored).
func Decode(raw []byte, v any) error { return gojson.Unmarshal(raw, v) }

// answerReader is a call's out that reads Prefect's answer itself, while the buffer holding
// it is still the call's.
type answerReader func(raw []byte) error

func decodeAnswer(raw []byte, out any) error {
	if read, ok := out.(answerReader); ok {
		return read(raw)
	}
	return Decode(raw, out)
}
