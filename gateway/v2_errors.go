package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/spec"
)

// Airflow 3's error shapes (FastAPI), the /api/v2 side of the one Problem type:
//
//   - every HTTPException is {"detail": "..."} (a string, or an object such as the 409 of a
//     duplicate run), with the problem's status and headers, except WWW-Authenticate: Airflow 3
//     challenges nobody (no token is 401 "Not authenticated" without the header);
//   - request validation is 422 {"detail": [{"type", "loc", "msg", "input"}, ...]}, pydantic's
//     errors, from the problem's field errors;
//   - a problem built for v1 shows its v1 detail, unless it carries Airflow 3's own wording
//     (ForV2), which v2 handlers and shared helpers set where the two differ.
//
// The generation of a request is recorded once, from its path, before routing (so that
// Echo's own 404/405 and the body limit answer in the right shape too), as moby records the
// API version on the request; errorHandler and the JSON writer read it.

// generation is an Airflow REST API generation.
type generation uint8

const (
	generationV1 generation = iota // Airflow 2's /api/v1
	generationV2                   // Airflow 3's /api/v2 and its /auth token endpoints
)

const generationKey = "gateway.generation"

// v2Prefix is where Airflow 3 serves its REST API; the token endpoints are under /auth.
const (
	v2Prefix     = "/api/v2"
	v2AuthPrefix = "/auth"
)

// recordGeneration marks the requests of Airflow 3's API (/api/v2..., /auth/..., and the
// document and viewer Airflow 3 serves at the root) before routing.
func recordGeneration(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isV2Path(c.Request().URL.Path) {
			c.Set(generationKey, generationV2)
		}
		return next(c)
	}
}

func isV2Path(p string) bool {
	return underPrefix(p, v2Prefix) || underPrefix(p, v2AuthPrefix) || p == rootSpecJSONPath ||
		underPrefix(p, rootDocsPath)
}

func underPrefix(p, prefix string) bool {
	return p == prefix || (strings.HasPrefix(p, prefix) && p[len(prefix)] == '/')
}

func generationOf(c echo.Context) generation {
	g, _ := c.Get(generationKey).(generation)
	return g
}

// FieldError is one failed field of a request, as pydantic reports it: where (Loc, e.g.
// ["body", "logical_date"] or ["query", "limit"]), what (Type, pydantic's error type such as
// "missing", "extra_forbidden", "int_parsing"), Airflow's message, and the input that failed.
type FieldError struct {
	Type  string         `json:"type"`
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Input any            `json:"input"`
	Ctx   map[string]any `json:"ctx,omitempty"`
}

// ValidationProblem is a request whose fields fail: 422 with FastAPI's detail list in v2;
// v1 (which never builds one: its validator words connexion's 400s) would show the
// messages as one detail.
func ValidationProblem(fields ...FieldError) *Problem {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		parts = append(parts, fmt.Sprintf("%s: %s", locString(f.Loc), f.Msg))
	}
	p := NewProblem(http.StatusUnprocessableEntity, "Unprocessable Entity", strings.Join(parts, "; "))
	p.fields = fields
	return p
}

func locString(loc []any) string {
	parts := make([]string, 0, len(loc))
	for _, l := range loc {
		parts = append(parts, fmt.Sprint(l))
	}
	return strings.Join(parts, ".")
}

// ForV2 sets what /api/v2 shows as the detail: Airflow 3's wording of the failure (a
// string), or an object detail.
func (p *Problem) ForV2(detail any) *Problem {
	p.v2Detail = detail
	return p
}

// Fields are the problem's field errors (nil for most problems).
func (p *Problem) Fields() []FieldError { return p.fields }

// v2Body is the FastAPI body of a problem.
func (p *Problem) v2Body() any {
	if len(p.fields) > 0 {
		return struct {
			Detail []FieldError `json:"detail"`
		}{p.fields}
	}
	detail := p.v2Detail
	if detail == nil {
		// Airflow 2 puts some messages in the title and leaves detail null.
		detail = orDefault(p.Detail, p.Title)
	}
	return struct {
		Detail any `json:"detail"`
	}{detail}
}

// writeDetail renders a problem as Airflow 3 does: compact JSON {"detail": ...}.
func writeDetail(c echo.Context, p *Problem) {
	h := c.Response().Header()
	for k, vs := range p.header {
		if http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(echo.HeaderWWWAuthenticate) {
			continue
		}
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	body, err := json.Marshal(p.v2Body())
	if err != nil {
		// An input that JSON cannot hold (never from a decoded request): leave it out.
		for i := range p.fields {
			p.fields[i].Input = nil
		}
		body, _ = json.Marshal(p.v2Body())
	}
	_ = jsonWriterOf(c).write(c, p.Status, echo.MIMEApplicationJSON, body)
}

// v2RouteNotFound is the 404 of a URL under /api/v2 that names no route, or an Airflow 3
// operation the gateway does not serve: the detail says which.
func v2RouteNotFound(method, path string, op *spec.Operation) *Problem {
	if op != nil {
		return NewProblem(http.StatusNotFound, "", fmt.Sprintf(
			"airflow-prefect-gateway does not serve Airflow's %s (%s %s) on Prefect", op.OperationID, op.Method, op.Path))
	}
	return NewProblem(http.StatusNotFound, "", fmt.Sprintf("Not Found: %s %s is not a route of Airflow's REST API", method, path))
}
