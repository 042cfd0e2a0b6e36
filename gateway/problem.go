package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"airflow-prefect-gateway/prefect"
)

// problemTypeBase is where Airflow points its problem types; clients that switch on `type`
// see the same values they see from Airflow.
const problemTypeBase = "https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/"

// problemTypeBlank is the type connexion gives the errors Flask raises before an operation
// is found (no such URL, method not allowed, unsupported media type).
const problemTypeBlank = "about:blank"

// Problem is the gateway's one error type. Every failure ends as one, rendered at the edge
// by the writer of the request's API generation: Airflow 2's RFC 7807 problem JSON under
// /api/v1 (writeProblem), Airflow 3's FastAPI {"detail": ...} under /api/v2 (writeDetail).
type Problem struct {
	Status   int    `json:"status"`
	Title    string `json:"title"`
	Detail   string `json:"detail"`
	Type     string `json:"type"`
	Instance string `json:"instance,omitempty"`

	// untitled renders title as null, as connexion words a few of its own 400s.
	untitled bool

	header http.Header // extra response headers: Retry-After, WWW-Authenticate, Allow
	cause  error       // logged, never rendered

	// fields are the failures of a request's fields, each with its location (v2 renders
	// them as FastAPI's 422 detail list; v1 as one detail line).
	fields []FieldError
	// v2Detail, when set, is what /api/v2 shows as detail (a string or an object) where
	// Airflow 3 words the same failure differently from Airflow 2.
	v2Detail any

	// alert, when set, makes the request's log line an error with this message for the
	// operator (a misconfiguration, a panic); logFields go on that line too.
	alert     string
	logFields []zap.Field
}

// WithAlert marks the problem as the operator's to fix: the request's one log line is then
// logged at error level and carries msg (and fields).
func (p *Problem) WithAlert(msg string, fields ...zap.Field) *Problem {
	p.alert = msg
	p.logFields = append(p.logFields, fields...)
	return p
}

// MarshalJSON writes the problem as Airflow does: an empty detail is null (Airflow's 401s,
// its 404s that put the message in the title), and so is the title of an untitled problem.
func (p *Problem) MarshalJSON() ([]byte, error) {
	var out struct {
		Detail   *string `json:"detail"`
		Instance string  `json:"instance,omitempty"`
		Status   int     `json:"status"`
		Title    *string `json:"title"`
		Type     string  `json:"type"`
	}
	if p.Detail != "" {
		out.Detail = &p.Detail
	}
	if !p.untitled {
		out.Title = &p.Title
	}
	out.Instance, out.Status, out.Type = p.Instance, p.Status, p.Type
	return json.Marshal(out)
}

// Untitled makes the title null.
func (p *Problem) Untitled() *Problem {
	p.untitled = true
	return p
}

func (p *Problem) Error() string {
	if p.cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", p.Status, p.Title, p.Detail, p.cause)
	}
	return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
}

func (p *Problem) Unwrap() error { return p.cause }

// WithHeader adds a response header to the problem.
func (p *Problem) WithHeader(key, value string) *Problem {
	if p.header == nil {
		p.header = http.Header{}
	}
	p.header.Set(key, value)
	return p
}

// WithCause records the underlying error for the log line.
func (p *Problem) WithCause(err error) *Problem {
	p.cause = err
	return p
}

// NewProblem builds a problem with Airflow's type URL and default title for status.
func NewProblem(status int, title, detail string) *Problem {
	if title == "" {
		title = defaultTitle(status)
	}
	return &Problem{Status: status, Title: title, Detail: detail, Type: problemTypeBase + typeFragment(status)}
}

// Problemf is NewProblem with a formatted detail.
func Problemf(status int, title, format string, args ...any) *Problem {
	return NewProblem(status, title, fmt.Sprintf(format, args...))
}

// BadRequest is a 400 problem.
func BadRequest(format string, args ...any) *Problem {
	return Problemf(http.StatusBadRequest, "", format, args...)
}

// NotFound is a 404 problem with a specific title, as Airflow titles them ("DAG not found").
func NotFound(title, format string, args ...any) *Problem {
	return Problemf(http.StatusNotFound, title, format, args...)
}

func defaultTitle(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "Bad Request"
	case http.StatusUnauthorized:
		return "Unauthorized"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return "Not Found"
	case http.StatusConflict:
		return "Conflict"
	case http.StatusMethodNotAllowed:
		return "Method Not Allowed"
	case http.StatusNotAcceptable:
		return "Not Acceptable"
	}
	if text := http.StatusText(status); text != "" {
		return text
	}
	// A problem always has a title (Airflow's Error schema requires one).
	return "Error"
}

func typeFragment(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BadRequest"
	case http.StatusUnauthorized:
		return "Unauthenticated"
	case http.StatusForbidden:
		return "PermissionDenied"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusMethodNotAllowed:
		return "MethodNotAllowed"
	case http.StatusNotAcceptable:
		return "NotAcceptable"
	case http.StatusConflict:
		return "AlreadyExists"
	}
	return "Unknown"
}

// FromUpstream turns a Prefect failure into the problem DESIGN §7 prescribes. what names
// the object for 404/409 details, e.g. `DAG "etl.daily"`.
func FromUpstream(err error) *Problem {
	pe, ok := prefect.AsError(err)
	if !ok {
		return NewProblem(http.StatusInternalServerError, "", "The gateway failed to handle the request.").WithCause(err)
	}
	var p *Problem
	switch pe.Kind {
	case prefect.KindNotFound:
		p = NewProblem(http.StatusNotFound, "", "Prefect: "+orDefault(pe.Message, "not found"))
	case prefect.KindConflict:
		p = NewProblem(http.StatusConflict, "", "Prefect: "+orDefault(pe.Message, "conflict"))
	case prefect.KindInvalid:
		p = NewProblem(http.StatusBadRequest, "", "Prefect refused the request: "+orDefault(pe.Message, "invalid request"))
	case prefect.KindUnauthorized:
		// The gateway's (or the user's) upstream credential was refused. For the caller
		// this is an authentication problem, not a server fault.
		p = NewProblem(http.StatusUnauthorized, "", "Prefect refused the upstream credential.")
	case prefect.KindForbidden:
		p = NewProblem(http.StatusForbidden, "", "Prefect refused the operation: "+orDefault(pe.Message, "forbidden"))
	case prefect.KindRateLimited:
		p = NewProblem(http.StatusTooManyRequests, "Too Many Requests", "Prefect is rate-limiting requests; retry later.")
		p.WithHeader("Retry-After", retryAfterSeconds(pe.RetryAfter, 1))
	case prefect.KindUnavailable:
		p = NewProblem(http.StatusServiceUnavailable, "Service Unavailable", "Prefect is unavailable: "+orDefault(pe.Message, "no answer"))
		p.WithHeader("Retry-After", retryAfterSeconds(pe.RetryAfter, 5))
	case prefect.KindTimeout:
		p = NewProblem(http.StatusGatewayTimeout, "Gateway Timeout", "Prefect did not answer in time.")
	default:
		p = NewProblem(http.StatusBadGateway, "Bad Gateway", "Prefect answered with an error: "+orDefault(pe.Message, "unreadable answer"))
	}
	return p.WithCause(err)
}

func retryAfterSeconds(d time.Duration, fallback int) string {
	if d <= 0 {
		return strconv.Itoa(fallback)
	}
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// asProblem maps any error reaching the edge to a Problem.
func asProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		detail := http.StatusText(he.Code)
		if msg, ok := he.Message.(string); ok && msg != "" {
			detail = msg
		}
		blank := false
		switch he.Code {
		case http.StatusNotFound:
			// Werkzeug's words, as Airflow answers them.
			detail, blank = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.", true
		case http.StatusMethodNotAllowed:
			detail, blank = "The method is not allowed for the requested URL.", true
		case http.StatusUnsupportedMediaType:
			blank = true
		case http.StatusRequestEntityTooLarge:
			detail = "The request body is larger than the gateway accepts."
		}
		p := NewProblem(he.Code, "", detail).WithCause(he.Internal)
		if blank {
			p.Type = problemTypeBlank
			// Starlette's words for the same failures.
			p.ForV2(http.StatusText(he.Code))
		}
		return p
	}
	if _, ok := prefect.AsError(err); ok {
		return FromUpstream(err)
	}
	return NewProblem(http.StatusInternalServerError, "", "The gateway failed to handle the request.").WithCause(err)
}

// renderedErrorKey holds the error errorHandler rendered, for the request's log line.
const renderedErrorKey = "gateway.error"

// errorHandler renders every error in the shape of the request's API generation; it is
// Echo's HTTPErrorHandler.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	// Not logged here: the request's one access-log line carries the error (logging.go).
	c.Set(renderedErrorKey, err)
	p := asProblem(err)
	if generationOf(c) == generationV2 {
		writeDetail(c, p)
		return
	}
	writeProblem(c, p)
}

func writeProblem(c echo.Context, p *Problem) {
	h := c.Response().Header()
	for k, vs := range p.header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	body, _ := p.MarshalJSON() // fields are plain strings and ints: cannot fail
	_ = jsonWriterOf(c).write(c, p.Status, problemContentType, body)
}

const problemContentType = "application/problem+json"
