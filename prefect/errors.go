package prefect

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies an upstream failure so that the HTTP edge can map it to one Airflow
// status without knowing anything about Prefect's wire format.
type Kind int

const (
	KindUnknown      Kind = iota
	KindNotFound          // Prefect 404
	KindConflict          // Prefect 409 (duplicate names, integrity, parameter schema)
	KindInvalid           // Prefect 400/422: the request was refused as malformed
	KindUnauthorized      // Prefect 401: the upstream credential is missing or wrong
	KindForbidden         // Prefect 403 other than CSRF
	KindRateLimited       // Prefect 429, RetryAfter set when Prefect sent one
	KindUnavailable       // refused connection, DNS failure, Prefect 503
	KindTimeout           // the request deadline passed while waiting on Prefect
	KindBadGateway        // Prefect 5xx other than 503, or an answer that cannot be read
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
	default:
		return "unknown"
	}
}

// Error is every failure the client returns. Message is Prefect's own text (its `detail` or
// `exception_message`), safe to show to a caller: it never holds credentials.
type Error struct {
	Kind       Kind
	Status     int           // Prefect's HTTP status, 0 when no answer arrived
	Op         string        // "POST /flow_runs/filter"
	Message    string        // Prefect's explanation
	RetryAfter time.Duration // from Retry-After on 429/503
	Err        error         // transport cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("prefect ")
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

// KindOf reports the Kind of err, KindUnknown when err is not (and wraps no) *Error.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return KindUnknown
}

// IsNotFound reports whether Prefect answered 404.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// IsConflict reports whether Prefect answered 409.
func IsConflict(err error) bool { return KindOf(err) == KindConflict }

// AsError unwraps err into *Error.
func AsError(err error) (*Error, bool) {
	var pe *Error
	ok := errors.As(err, &pe)
	return pe, ok
}

func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusConflict:
		return KindConflict
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity,
		status == http.StatusRequestEntityTooLarge, status == http.StatusLengthRequired:
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
	default:
		return KindUnknown
	}
}

// errorMessage extracts Prefect's explanation from either error shape:
// {"detail": "..."} (HTTPException, FastAPI) or {"exception_message": "...", "exception_detail": [...]}
// (validation failures and errors raised below the routes). detail may be a list of pydantic
// errors; those are summarised as "loc: msg" pairs.
func errorMessage(body []byte) string {
	var shape struct {
		Detail           json.RawMessage `json:"detail"`
		ExceptionMessage string          `json:"exception_message"`
		ExceptionDetail  json.RawMessage `json:"exception_detail"`
		Message          string          `json:"message"`
	}
	if err := json.Unmarshal(body, &shape); err != nil {
		return truncate(strings.TrimSpace(string(body)), 300)
	}
	var parts []string
	if len(shape.Detail) > 0 {
		parts = append(parts, describeDetail(shape.Detail))
	}
	if shape.ExceptionMessage != "" {
		parts = append(parts, shape.ExceptionMessage)
	}
	if len(shape.ExceptionDetail) > 0 {
		if d := describeDetail(shape.ExceptionDetail); d != "" {
			parts = append(parts, d)
		}
	}
	if len(parts) == 0 && shape.Message != "" {
		parts = append(parts, shape.Message)
	}
	return truncate(strings.Join(parts, ": "), 1000)
}

func describeDetail(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var items []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &items) == nil && len(items) > 0 {
		out := make([]string, 0, len(items))
		for _, it := range items {
			loc := make([]string, 0, len(it.Loc))
			for _, l := range it.Loc {
				loc = append(loc, fmt.Sprint(l))
			}
			if len(loc) > 0 {
				out = append(out, strings.Join(loc, ".")+": "+it.Msg)
			} else {
				out = append(out, it.Msg)
			}
		}
		return strings.Join(out, "; ")
	}
	return truncate(string(raw), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
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
