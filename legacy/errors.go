package legacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a failure of the legacy Airflow so that the gateway's edge maps it to one
// status without knowing Airflow's wire format. It mirrors prefect.Kind on purpose (the two
// packages never import each other).
type Kind int

const (
	KindUnknown      Kind = iota
	KindNotFound          // Airflow 404
	KindConflict          // Airflow 409
	KindInvalid           // Airflow 400/422, or a request the client could not build
	KindUnauthorized      // Airflow 401: the legacy credential is missing or wrong
	KindForbidden         // Airflow 403
	KindRateLimited       // Airflow (or a proxy in front of it) 429
	KindUnavailable       // refused connection, DNS failure, Airflow 503
	KindTimeout           // no answer before the deadline
	KindBadGateway        // Airflow 5xx other than 503, or an answer that cannot be read
	KindTooLarge          // the answer is over the configured size limit
)

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindInvalid:
		return "invalid"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindRateLimited:
		return "rate_limited"
	case KindUnavailable:
		return "unavailable"
	case KindTimeout:
		return "timeout"
	case KindBadGateway:
		return "bad_gateway"
	case KindTooLarge:
		return "too_large"
	default:
		return "unknown"
	}
}

// Error is every failure the client and the pass-through report. Its texts are redacted of
// the legacy credentials (and of the caller's, in forward mode) before they are set, so an
// Error is safe to log and, where the edge chooses, to show.
type Error struct {
	Kind   Kind
	Status int    // Airflow's HTTP status, 0 when no answer arrived
	Op     string // "GET /api/v1/dags"
	// Message is Airflow's explanation (its problem's detail, else its title) or the
	// client's own words for a transport failure.
	Message string
	// Problem is Airflow's own problem document when it answered one (4xx and 5xx): status,
	// title, detail, type, instance, redacted. The edge re-renders Airflow's 4xx from it.
	Problem    *Problem
	RetryAfter time.Duration // from Retry-After on 429/503
	Err        error         // transport cause, if any (redacted)
}

// Problem is Airflow's RFC 7807 error document.
type Problem struct {
	Status   int     `json:"status"`
	Title    *string `json:"title"`
	Detail   *string `json:"detail"`
	Type     string  `json:"type"`
	Instance string  `json:"instance,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("legacy airflow ")
	b.WriteString(e.Op)
	if e.Status != 0 {
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.Status))
	}
	b.WriteString(" (")
	b.WriteString(e.Kind.String())
	b.WriteString(")")
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// AsError unwraps err into *Error.
func AsError(err error) (*Error, bool) {
	var le *Error
	ok := errors.As(err, &le)
	return le, ok
}

// KindOf reports the Kind of err, KindUnknown when err is not (and wraps no) *Error.
func KindOf(err error) Kind {
	if le, ok := AsError(err); ok {
		return le.Kind
	}
	return KindUnknown
}

// IsNotFound reports whether Airflow answered 404.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// Down reports whether err says the legacy Airflow could not be reached or did not answer
// in time: the failures after which the gateway answers for Prefect's side alone.
func Down(err error) bool {
	switch KindOf(err) {
	case KindUnavailable, KindTimeout, KindBadGateway:
		return true
	}
	return false
}

func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusConflict:
		return KindConflict
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity,
		status == http.StatusRequestEntityTooLarge, status == http.StatusLengthRequired,
		status == http.StatusMethodNotAllowed, status == http.StatusUnsupportedMediaType,
		status == http.StatusNotAcceptable:
		return KindInvalid
	case status == http.StatusUnauthorized:
		return KindUnauthorized
	case status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusServiceUnavailable:
		return KindUnavailable
	case status == http.StatusGatewayTimeout, status == http.StatusRequestTimeout:
		return KindTimeout
	case status >= 500:
		return KindBadGateway
	}
	return KindUnknown
}

// answerError builds the Error of a non-2xx answer from Airflow, its texts redacted.
func answerError(op string, status int, header http.Header, body []byte, red redactor) *Error {
	e := &Error{Kind: kindForStatus(status), Status: status, Op: op,
		RetryAfter: parseRetryAfter(header.Get("Retry-After"), time.Now())}
	if e.Kind == KindUnknown {
		e.Kind = KindBadGateway
	}
	var p Problem
	if json.Unmarshal(body, &p) == nil && p.Status != 0 {
		if p.Title != nil {
			t := red.text(*p.Title)
			p.Title = &t
		}
		if p.Detail != nil {
			d := red.text(*p.Detail)
			p.Detail = &d
		}
		p.Instance = red.text(p.Instance)
		e.Problem = &p
		switch {
		case p.Detail != nil && *p.Detail != "":
			e.Message = *p.Detail
		case p.Title != nil:
			e.Message = *p.Title
		}
	} else {
		e.Message = truncate(red.text(strings.TrimSpace(string(body))), 300)
	}
	return e
}

// transportError classifies a failure that left no answer (or a broken one).
func transportError(ctx context.Context, op string, err error, red redactor) *Error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(ctx.Err(), context.Canceled) {
			return &Error{Kind: KindTimeout, Op: op, Message: "request cancelled", Err: ctx.Err()}
		}
		return &Error{Kind: KindTimeout, Op: op, Message: "the legacy Airflow did not answer before the deadline", Err: red.err(err)}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, Op: op, Message: "the legacy Airflow did not answer in time", Err: red.err(err)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &Error{Kind: KindBadGateway, Op: op, Message: "the legacy Airflow closed the connection mid-answer", Err: red.err(err)}
	}
	return &Error{Kind: KindUnavailable, Op: op, Message: "the legacy Airflow is unreachable", Err: red.err(dropURL(err))}
}

// dropURL keeps the cause of a *url.Error but not its URL (which could carry userinfo).
func dropURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseRetryAfter reads a Retry-After header in either of its forms (seconds, HTTP date).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func errorf(kind Kind, op, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Message: fmt.Sprintf(format, args...)}
}
