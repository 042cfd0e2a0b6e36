package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/spec"
)

// Request validation against the gateway's own document (spec/), in front of every handler
// registered through s.route, after authentication. The failures and their answers:
//
//   - a query parameter the operation does not declare: 400, detail
//     "Extra query parameter(s) a, b not in spec", exactly as Airflow (connexion) words it;
//   - a query parameter that does not parse as its type: 400 "Wrong type, expected 'integer'
//     for query parameter 'limit'" (Airflow's wording); a missing required one: 400
//     "Missing query parameter 'dag_id_pattern'"; any other schema failure: 400 naming it;
//   - a body that is not declared as JSON: 415 "Invalid Content-type (...), expected JSON data";
//     malformed JSON, a missing body, or a body that fails its schema (type, enum, required,
//     read-only field, format...): 400 whose detail names the field ("... - 'state'").
//
// The route is found from Echo's matched route (c.Path()) and the method in a map built once,
// never by matching the URL again. A request without a query string to an operation without
// a body costs one map lookup. Parameters go through openapi3filter.ValidateParameter (only
// those sent, or required, and not those that accept any string); bodies are decoded once and
// checked with the schema's VisitJSON as a request (so readOnly fields are refused). The
// whole-request openapi3filter.ValidateRequest is not used: it would check security
// requirements, which auth.go owns and has already checked, and write defaults into the
// request. Handlers see what the client sent (they apply Airflow's defaults, e.g. dry_run
// true). The body is read once and put back, so handlers can read it again.

// routeKey names an Echo route: method and full route path (/api/v1/dags/:dag_id).
type routeKey struct{ method, path string }

// opCheck is what the middleware checks for one operation, derived from the document once.
type opCheck struct {
	op spec.Operation
	// query holds the operation's query parameters (path-item ones included).
	query []*openapi3.Parameter
	// free[i] is set when query[i] accepts any value (a plain string, or an array of them):
	// such a parameter cannot fail, so it is not run through the validator.
	free []bool
	// requiredQuery is set when some query parameter is required.
	requiredQuery bool
	// pathParams are path parameters whose schema constrains more than "a string".
	pathParams []*openapi3.Parameter
	// body is the JSON schema of the request body, nil when the operation takes none.
	body         *openapi3.Schema
	bodyName     string // schema name, for messages
	bodyRequired bool
}

// apiPrefix is where the Airflow API is mounted; the document's paths are relative to it.
const apiPrefix = "/api/v1"

var validationOptions = &openapi3filter.Options{SkipSettingDefaults: true}

// specChecks maps every operation of the document to its checks, built once.
var specChecks = sync.OnceValue(func() map[routeKey]*opCheck {
	checks, err := buildChecks(spec.MustDocument(), apiPrefix)
	if err != nil {
		panic(err) // the embedded document is checked by tests: this is a build defect
	}
	return checks
})

// buildChecks derives the checks of every operation of doc, whose paths are relative to
// prefix ("" for a document with full paths, as Airflow 3's).
func buildChecks(doc *openapi3.T, prefix string) (map[routeKey]*opCheck, error) {
	checks := map[routeKey]*opCheck{}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			chk := &opCheck{op: spec.Operation{Method: method, Path: path, OperationID: op.OperationID}}
			params := append(openapi3.Parameters(nil), op.Parameters...)
			for _, p := range item.Parameters {
				if op.Parameters.GetByInAndName(p.Value.In, p.Value.Name) == nil {
					params = append(params, p)
				}
			}
			for _, ref := range params {
				p := ref.Value
				switch p.In {
				case openapi3.ParameterInQuery:
					chk.query = append(chk.query, p)
					chk.free = append(chk.free, !p.Required && acceptsAnyString(p.Schema))
					chk.requiredQuery = chk.requiredQuery || p.Required
				case openapi3.ParameterInPath:
					if constrained(p.Schema) {
						chk.pathParams = append(chk.pathParams, p)
					}
				case openapi3.ParameterInHeader:
					// Airflow 3 declares Accept and Content-Type as header parameters; the
					// handlers that take them read them (406 and 415 with Airflow's words).
					if prefix == apiPrefix {
						return nil, fmt.Errorf("%s %s: header parameter %q: only query and path parameters are validated", method, path, p.Name)
					}
				default:
					return nil, fmt.Errorf("%s %s: %s parameter %q: only query and path parameters are validated",
						method, path, p.In, p.Name)
				}
			}
			if rb := op.RequestBody; rb != nil {
				// Airflow 3's /auth/token also takes a form: its handler reads that itself.
				mt := rb.Value.Content.Get(echo.MIMEApplicationJSON)
				if mt == nil || mt.Schema == nil || (len(rb.Value.Content) != 1 && prefix == apiPrefix) {
					return nil, fmt.Errorf("%s %s: the request body must be application/json with a schema", method, path)
				}
				chk.body = mt.Schema.Value
				chk.bodyName = schemaName(mt.Schema)
				chk.bodyRequired = rb.Value.Required
			}
			checks[routeKey{method, prefix + EchoPath(path)}] = chk
		}
	}
	return checks, nil
}

// constrained reports whether a path parameter's schema says more than "a string", the only
// case in which a path parameter can fail validation.
func constrained(s *openapi3.SchemaRef) bool {
	if s == nil || s.Value == nil {
		return false
	}
	v := s.Value
	// Airflow 3 writes an optional string as anyOf [string, null]: the string decides.
	if len(v.AnyOf) == 2 && len(v.Type.Slice()) == 0 {
		for i, alt := range v.AnyOf {
			if alt.Value != nil && alt.Value.Type.Is(openapi3.TypeNull) {
				return constrained(v.AnyOf[1-i])
			}
		}
	}
	// Airflow's format "path" (a dataset URI) only says the value may hold slashes.
	format := v.Format
	if format == "path" {
		format = ""
	}
	// A schema without a type (Airflow 3's task_id: {title: Task Id}) takes any string.
	typed := len(v.Type.Slice()) > 0 || len(v.AnyOf) > 0 || len(v.OneOf) > 0 || len(v.AllOf) > 0
	return (typed && !v.Type.Is(openapi3.TypeString)) || v.Pattern != "" || format != "" || len(v.Enum) > 0 ||
		v.MinLength != 0 || v.MaxLength != nil
}

// acceptsAnyString reports whether every value of a query parameter passes its schema: a
// string without constraints, or an array of those without size rules.
func acceptsAnyString(s *openapi3.SchemaRef) bool {
	if s == nil || s.Value == nil {
		return true
	}
	v := s.Value
	if v.Type.Is(openapi3.TypeArray) {
		return v.MinItems == 0 && v.MaxItems == nil && !v.UniqueItems && len(v.Enum) == 0 && acceptsAnyString(v.Items)
	}
	return !constrained(s)
}

func schemaName(s *openapi3.SchemaRef) string {
	if i := strings.LastIndexByte(s.Ref, '/'); i >= 0 {
		return s.Ref[i+1:]
	}
	return "object"
}

// validateRequest checks each request against the gateway's own OpenAPI document (spec/)
// before it reaches a handler.
func (s *Server) validateRequest(next echo.HandlerFunc) echo.HandlerFunc {
	checks := specChecks()
	return func(c echo.Context) error {
		chk := checks[routeKey{c.Request().Method, c.Path()}]
		if chk == nil {
			// Not an operation of the document; the drift tests keep this from happening.
			return next(c)
		}
		if err := chk.validate(c); err != nil {
			return err
		}
		return next(c)
	}
}

func (chk *opCheck) validate(c echo.Context) error {
	req := c.Request()
	if req.URL.RawQuery != "" || chk.requiredQuery || len(chk.pathParams) > 0 {
		if err := chk.validateParams(c); err != nil {
			return err
		}
	}
	if chk.body != nil {
		return chk.validateBody(req)
	}
	return nil
}

func (chk *opCheck) knows(name string) bool {
	for _, p := range chk.query {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (chk *opCheck) validateParams(c echo.Context) error {
	req := c.Request()
	var q url.Values
	if req.URL.RawQuery != "" {
		q = c.QueryParams() // parsed once per request by Echo, shared with the handler
		var extra []string
		for name := range q {
			if !chk.knows(name) {
				extra = append(extra, name)
			}
		}
		if extra != nil {
			sort.Strings(extra)
			return BadRequest("Extra query parameter(s) %s not in spec", strings.Join(extra, ", ")).Untitled()
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, QueryParams: q, Options: validationOptions}
	if q == nil {
		in.QueryParams = url.Values{}
	}
	if len(chk.pathParams) > 0 {
		in.PathParams = make(map[string]string, len(c.ParamNames()))
		for i, name := range c.ParamNames() {
			v := c.ParamValues()[i]
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			in.PathParams[name] = v
		}
		for _, p := range chk.pathParams {
			if err := openapi3filter.ValidateParameter(req.Context(), in, p); err != nil {
				return paramProblem(p, err)
			}
		}
	}
	for i, p := range chk.query {
		if _, sent := q[p.Name]; chk.free[i] || (!sent && !p.Required) {
			continue
		}
		if err := openapi3filter.ValidateParameter(req.Context(), in, p); err != nil {
			return paramProblem(p, err)
		}
	}
	return nil
}

// paramProblem words a parameter failure as Airflow does where it has a wording, and always
// names the parameter.
func paramProblem(p *openapi3.Parameter, err error) *Problem {
	var parseErr *openapi3filter.ParseError
	var schemaErr *openapi3.SchemaError
	switch {
	case errors.Is(err, openapi3filter.ErrInvalidRequired):
		return BadRequest("Missing %s parameter '%s'", p.In, p.Name).WithCause(err)
	case errors.Is(err, openapi3filter.ErrInvalidEmptyValue), errors.As(err, &parseErr):
		return BadRequest("Wrong type, expected '%s' for %s parameter '%s'", paramType(p), p.In, p.Name).WithCause(err)
	case errors.As(err, &schemaErr):
		return BadRequest("Invalid %s parameter '%s': %s", p.In, p.Name, describeSchemaError(schemaErr, false)).WithCause(err)
	}
	return BadRequest("Invalid %s parameter '%s'.", p.In, p.Name).WithCause(err)
}

// paramType is the type a parameter's values must have: the item type for arrays.
func paramType(p *openapi3.Parameter) string {
	if p.Schema == nil || p.Schema.Value == nil {
		return "string"
	}
	s := p.Schema.Value
	if s.Type.Is(openapi3.TypeArray) && s.Items != nil && s.Items.Value != nil {
		s = s.Items.Value
	}
	if t := s.Type.Slice(); len(t) > 0 {
		return t[0]
	}
	return "string"
}

func (chk *opCheck) validateBody(req *http.Request) error {
	data, err := io.ReadAll(req.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he // 413 from the body limit
		}
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
			// The client is the slow one, not Prefect: Airflow's (Werkzeug's) 408.
			return NewProblem(http.StatusRequestTimeout, "", "The request body did not arrive before the request's deadline.").
				WithHeader(echo.HeaderConnection, "close").WithCause(err)
		}
		return BadRequest("The request body could not be read.").WithCause(err)
	}
	// Put the body back for the handler.
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }

	if len(bytes.TrimSpace(data)) == 0 {
		if chk.bodyRequired {
			return BadRequest("Request body is required: a JSON %s object.", chk.bodyName)
		}
		return nil
	}
	if ct := req.Header.Get(echo.HeaderContentType); !isJSONMediaType(ct) {
		return NewProblem(http.StatusUnsupportedMediaType, "Unsupported Media Type",
			fmt.Sprintf("Invalid Content-type (%s), expected JSON data", ct))
	}
	if at, why := invalidJSONText(data); at >= 0 {
		return BadRequest("Request body is not valid JSON: %s (at byte %d)", why, at)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return BadRequest("Request body is not valid JSON: %v (at byte %d)", se, se.Offset).WithCause(err)
		}
		return BadRequest("Request body is not valid JSON: %v", err).WithCause(err)
	}
	if err := chk.body.VisitJSON(v, openapi3.VisitAsRequest()); err != nil {
		var me openapi3.MultiError
		if errors.As(err, &me) && len(me) > 0 {
			err = me[0]
		}
		var schemaErr *openapi3.SchemaError
		if errors.As(err, &schemaErr) {
			return BadRequest("%s", describeSchemaError(schemaErr, true)).WithCause(err)
		}
		return BadRequest("The request body does not match the %s schema.", chk.bodyName).WithCause(err)
	}
	return nil
}

// isJSONMediaType accepts application/json and application/*+json, with parameters.
func isJSONMediaType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, echo.MIMEApplicationJSON) ||
		(len(ct) > len("application/+json") && strings.EqualFold(ct[:len("application/")], "application/") &&
			strings.EqualFold(ct[len(ct)-len("+json"):], "+json"))
}

// describeSchemaError words a schema failure in the style of Airflow's (jsonschema's)
// messages; in a body the field follows as " - 'path.to.field'", as in Airflow.
func describeSchemaError(e *openapi3.SchemaError, withPath bool) string {
	pointer := e.JSONPointer()
	var msg string
	switch e.SchemaField {
	case "type", "nullable":
		msg = fmt.Sprintf("%s is not of type '%s'", shortJSON(e.Value), schemaType(e.Schema))
	case "enum":
		msg = fmt.Sprintf("%s is not one of %s", shortJSON(e.Value), shortJSON(e.Schema.Enum))
	case "required":
		msg = fmt.Sprintf("'%s' is a required property", lastOf(pointer))
	case "readOnly":
		msg = fmt.Sprintf("'%s' is read-only and cannot be set", lastOf(pointer))
	case "minimum":
		msg = fmt.Sprintf("%s is less than the minimum of %v", shortJSON(e.Value), *e.Schema.Min)
	case "maximum":
		msg = fmt.Sprintf("%s is greater than the maximum of %v", shortJSON(e.Value), *e.Schema.Max)
	case "format":
		msg = fmt.Sprintf("%s is not a '%s'", shortJSON(e.Value), e.Schema.Format)
	default:
		msg = e.Reason
		if msg == "" {
			msg = "does not match the schema (" + e.SchemaField + ")"
		}
	}
	if withPath && len(pointer) > 0 {
		msg += " - '" + strings.Join(pointer, ".") + "'"
	}
	return msg
}

func schemaType(s *openapi3.Schema) string {
	if s == nil {
		return "object"
	}
	if t := s.Type.Slice(); len(t) > 0 {
		return strings.Join(t, "' or '")
	}
	return "object"
}

func lastOf(pointer []string) string {
	if len(pointer) == 0 {
		return ""
	}
	return pointer[len(pointer)-1]
}

// shortJSON renders a value for a message, cut to a readable length.
func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const max = 80
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
