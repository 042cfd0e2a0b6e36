package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/spec"
)

// Request validation of /api/v2 against the gateway's v2 document (spec/v2.yaml, Airflow 3's
// own schemas), with FastAPI's answers instead of connexion's:
//
//   - query parameters the operation does not declare are ignored, as FastAPI ignores them;
//   - a declared parameter that does not parse or fails its schema, and a missing required
//     one, is a field error at ["query", name] (or ["path", name]);
//   - bodies are pydantic models with extra="forbid" (additionalProperties: false in the
//     document): an unknown field is "extra_forbidden", a missing one "missing", a wrong type
//     "string_type", "int_type"..., malformed JSON "json_invalid";
//
// all collected, as pydantic reports every failure at once, into one 422 whose detail is the
// list [{type, loc, msg, input}]. The operations and their checks are the v1 validator's
// (opCheck, built once from the document); only the wording and the status differ.

var v2SpecChecks = sync.OnceValue(func() map[routeKey]*opCheck {
	checks, err := buildChecks(spec.MustV2Document(), "")
	if err != nil {
		panic(err) // the generated document is checked by tests: a build defect
	}
	return checks
})

// validateV2 checks each /api/v2 request against the gateway's v2 document.
func (s *Server) validateV2(next echo.HandlerFunc) echo.HandlerFunc {
	checks := v2SpecChecks()
	return func(c echo.Context) error {
		chk := checks[routeKey{c.Request().Method, c.Path()}]
		if chk == nil {
			return next(c)
		}
		if err := chk.validateV2(c); err != nil {
			return err
		}
		return next(c)
	}
}

func (chk *opCheck) validateV2(c echo.Context) error {
	var fields []FieldError
	req := c.Request()
	if req.URL.RawQuery != "" || chk.requiredQuery || len(chk.pathParams) > 0 {
		fields = chk.paramErrorsV2(c)
	}
	if chk.body != nil {
		bodyFields, err := chk.bodyErrorsV2(req)
		if err != nil {
			return err
		}
		fields = append(fields, bodyFields...)
	}
	if len(fields) > 0 {
		if strings.HasPrefix(chk.op.OperationID, "create_token") {
			maskPasswords(fields)
		}
		return ValidationProblem(fields...)
	}
	return nil
}

// maskPasswords keeps a login's password out of the inputs a 422 quotes back.
func maskPasswords(fields []FieldError) {
	for i := range fields {
		if obj, ok := fields[i].Input.(map[string]any); ok {
			if _, has := obj["password"]; has {
				masked := make(map[string]any, len(obj))
				for k, v := range obj {
					masked[k] = v
				}
				masked["password"] = "***"
				fields[i].Input = masked
			}
		}
		if len(fields[i].Loc) == 2 && fields[i].Loc[1] == "password" {
			fields[i].Input = "***"
		}
	}
}

func (chk *opCheck) paramErrorsV2(c echo.Context) []FieldError {
	req := c.Request()
	q := url.Values{}
	if req.URL.RawQuery != "" {
		q = c.QueryParams()
	}
	in := &openapi3filter.RequestValidationInput{Request: req, QueryParams: q, Options: validationOptions}
	var out []FieldError
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
				out = append(out, paramFieldError(p, in.PathParams[p.Name], true, err))
			}
		}
	}
	for i, p := range chk.query {
		vs, sent := q[p.Name]
		if chk.free[i] || (!sent && !p.Required) {
			continue
		}
		if err := openapi3filter.ValidateParameter(req.Context(), in, p); err != nil {
			var input any
			if len(vs) == 1 && !isArraySchema(p.Schema) {
				input = vs[0]
			} else if sent {
				input = vs
			}
			out = append(out, paramFieldError(p, input, sent, err))
		}
	}
	return out
}

func isArraySchema(s *openapi3.SchemaRef) bool {
	return s != nil && s.Value != nil && s.Value.Type.Is(openapi3.TypeArray)
}

// paramFieldError words a parameter failure as pydantic does.
func paramFieldError(p *openapi3.Parameter, input any, sent bool, err error) FieldError {
	loc := []any{p.In, p.Name}
	if !sent || errors.Is(err, openapi3filter.ErrInvalidRequired) {
		return FieldError{Type: "missing", Loc: loc, Msg: "Field required", Input: nil}
	}
	schema := nonNullSchema(p.Schema)
	if schema != nil && schema.Type.Is(openapi3.TypeArray) && schema.Items != nil {
		schema = nonNullSchema(schema.Items)
	}
	var schemaErr *openapi3.SchemaError
	if errors.As(err, &schemaErr) {
		if fe, ok := schemaFieldError(schemaErr, loc, input); ok && fe.Type != "" {
			fe.Input = input // a query value is a string, as pydantic quotes it
			return fe
		}
	}
	return typeFieldError(schema, loc, input)
}

// nonNullSchema is the schema behind Airflow's `anyOf: [X, {type: null}]`, or s itself.
func nonNullSchema(ref *openapi3.SchemaRef) *openapi3.Schema {
	if ref == nil || ref.Value == nil {
		return nil
	}
	s := ref.Value
	for _, alt := range s.AnyOf {
		if alt.Value != nil && !alt.Value.Type.Is(openapi3.TypeNull) {
			return alt.Value
		}
	}
	return s
}

// typeFieldError is pydantic's error for a value of the wrong type for schema.
func typeFieldError(s *openapi3.Schema, loc []any, input any) FieldError {
	fe := FieldError{Loc: loc, Input: input}
	if s == nil {
		fe.Type, fe.Msg = "value_error", "Value error, invalid input"
		return fe
	}
	if len(s.Enum) > 0 {
		expected := enumList(s.Enum)
		fe.Type, fe.Msg, fe.Ctx = "enum", "Input should be "+expected, map[string]any{"expected": expected}
		return fe
	}
	_, isString := input.(string)
	switch {
	case s.Type.Is(openapi3.TypeInteger):
		fe.Type, fe.Msg = "int_type", "Input should be a valid integer"
		if isString {
			fe.Type, fe.Msg = "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
		}
	case s.Type.Is(openapi3.TypeNumber):
		fe.Type, fe.Msg = "float_type", "Input should be a valid number"
		if isString {
			fe.Type, fe.Msg = "float_parsing", "Input should be a valid number, unable to parse string as a number"
		}
	case s.Type.Is(openapi3.TypeBoolean):
		fe.Type, fe.Msg = "bool_type", "Input should be a valid boolean"
		if isString {
			fe.Type, fe.Msg = "bool_parsing", "Input should be a valid boolean, unable to interpret input"
		}
	case s.Type.Is(openapi3.TypeString) && s.Format == "date-time":
		fe.Type, fe.Msg = "datetime_type", "Input should be a valid datetime"
		if isString {
			fe.Type, fe.Msg = "datetime_from_date_parsing", "Input should be a valid datetime or date, invalid character in year"
		}
	case s.Type.Is(openapi3.TypeString):
		fe.Type, fe.Msg = "string_type", "Input should be a valid string"
	case s.Type.Is(openapi3.TypeArray):
		fe.Type, fe.Msg = "list_type", "Input should be a valid list"
	case s.Type.Is(openapi3.TypeObject):
		fe.Type, fe.Msg = "dict_type", "Input should be a valid dictionary"
		if len(s.Properties) > 0 {
			fe.Type, fe.Msg = "model_attributes_type", "Input should be a valid dictionary or object to extract fields from"
		}
	default:
		fe.Type, fe.Msg = "value_error", "Value error, invalid input"
	}
	return fe
}

// enumList words allowed values as pydantic does: 'a', 'b' or 'c'.
func enumList(values []any) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + fmt.Sprint(v) + "'"
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// schemaFieldError maps one kin-openapi schema failure at loc (the location of the value
// validated) to pydantic's error; ok is false when it has no better wording than the type's.
func schemaFieldError(e *openapi3.SchemaError, loc []any, input any) (FieldError, bool) {
	ptr := e.JSONPointer()
	at := append(append([]any(nil), loc...), pointerLoc(ptr)...)
	value := e.Value
	switch e.SchemaField {
	case "properties":
		// "property \"x\" is unsupported": an extra field of a model that forbids them.
		var name string
		if _, err := fmt.Sscanf(e.Reason, "property %q is unsupported", &name); err == nil {
			v := valueAt(input, ptr)
			obj, _ := v.(map[string]any)
			return FieldError{Type: "extra_forbidden", Loc: append(at, name), Msg: "Extra inputs are not permitted", Input: obj[name]}, true
		}
	case "required":
		return FieldError{Type: "missing", Loc: at, Msg: "Field required", Input: valueAt(input, ptr[:max(0, len(ptr)-1)])}, true
	case "readOnly":
		return FieldError{Type: "extra_forbidden", Loc: at, Msg: "Extra inputs are not permitted", Input: value}, true
	case "minimum", "exclusiveMinimum":
		if e.Schema.Min != nil {
			bound := numberOf(*e.Schema.Min)
			if e.SchemaField == "minimum" {
				return FieldError{Type: "greater_than_equal", Loc: at, Msg: fmt.Sprintf("Input should be greater than or equal to %v", bound), Input: value, Ctx: map[string]any{"ge": bound}}, true
			}
			return FieldError{Type: "greater_than", Loc: at, Msg: fmt.Sprintf("Input should be greater than %v", bound), Input: value, Ctx: map[string]any{"gt": bound}}, true
		}
	case "maximum", "exclusiveMaximum":
		if e.Schema.Max != nil {
			bound := numberOf(*e.Schema.Max)
			return FieldError{Type: "less_than_equal", Loc: at, Msg: fmt.Sprintf("Input should be less than or equal to %v", bound), Input: value, Ctx: map[string]any{"le": bound}}, true
		}
	case "minLength":
		return FieldError{Type: "string_too_short", Loc: at, Msg: fmt.Sprintf("String should have at least %d characters", e.Schema.MinLength), Input: value, Ctx: map[string]any{"min_length": e.Schema.MinLength}}, true
	case "maxLength":
		if e.Schema.MaxLength != nil {
			return FieldError{Type: "string_too_long", Loc: at, Msg: fmt.Sprintf("String should have at most %d characters", *e.Schema.MaxLength), Input: value, Ctx: map[string]any{"max_length": *e.Schema.MaxLength}}, true
		}
	case "minItems":
		return FieldError{Type: "too_short", Loc: at, Msg: fmt.Sprintf("List should have at least %d items", e.Schema.MinItems), Input: value}, true
	case "anyOf", "oneOf":
		// Airflow's optional fields are anyOf [X, null]: the failure is X's.
		alts := e.Schema.AnyOf
		if e.SchemaField == "oneOf" {
			alts = e.Schema.OneOf
		}
		for _, alt := range alts {
			if alt.Value == nil || alt.Value.Type.Is(openapi3.TypeNull) {
				continue
			}
			if err := alt.Value.VisitJSON(value, openapi3.VisitAsRequest()); err != nil {
				var inner *openapi3.SchemaError
				if errors.As(err, &inner) {
					if fe, ok := schemaFieldError(inner, at, value); ok {
						return fe, true
					}
					return typeFieldError(inner.Schema, append(at, pointerLoc(inner.JSONPointer())...), inner.Value), true
				}
			}
			return typeFieldError(alt.Value, at, value), true
		}
	case "enum":
		expected := enumList(e.Schema.Enum)
		return FieldError{Type: "enum", Loc: at, Msg: "Input should be " + expected, Input: value, Ctx: map[string]any{"expected": expected}}, true
	case "type", "nullable", "format":
		return typeFieldError(e.Schema, at, value), true
	}
	return FieldError{}, false
}

func numberOf(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}

// pointerLoc turns a JSON pointer into pydantic's loc items (list indexes as integers).
func pointerLoc(ptr []string) []any {
	out := make([]any, len(ptr))
	for i, p := range ptr {
		if n, err := strconv.Atoi(p); err == nil {
			out[i] = n
		} else {
			out[i] = p
		}
	}
	return out
}

// valueAt follows ptr into a decoded JSON value.
func valueAt(v any, ptr []string) any {
	for _, p := range ptr {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(x) {
				return nil
			}
			v = x[n]
		default:
			return nil
		}
	}
	return v
}

// bodyErrorsV2 reads the body once (and puts it back for the handler) and reports its field
// errors; a body that cannot be read at all is an error of its own (413 from the limit).
func (chk *opCheck) bodyErrorsV2(req *http.Request) ([]FieldError, error) {
	data, err := io.ReadAll(req.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, BadRequest("The request body could not be read.").WithCause(err).ForV2("The request body could not be read.")
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }

	if len(bytes.TrimSpace(data)) == 0 {
		if chk.bodyRequired {
			return []FieldError{{Type: "missing", Loc: []any{"body"}, Msg: "Field required", Input: nil}}, nil
		}
		return nil, nil
	}
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" && !isJSONMediaType(ct) {
		// FastAPI reads a body of another media type as bytes, which no model accepts.
		return []FieldError{{Type: "model_attributes_type", Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from", Input: string(data)}}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		pos := int64(0)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			pos = se.Offset
		}
		return []FieldError{{Type: "json_invalid", Loc: []any{"body", pos}, Msg: "JSON decode error",
			Input: map[string]any{}, Ctx: map[string]any{"error": jsonErrorWords(err)}}}, nil
	}
	err = chk.body.VisitJSON(v, openapi3.VisitAsRequest(), openapi3.MultiErrors())
	if err == nil {
		return nil, nil
	}
	var errs []error
	var me openapi3.MultiError
	if errors.As(err, &me) {
		errs = flattenMultiError(me)
	} else {
		errs = []error{err}
	}
	var out []FieldError
	for _, e := range errs {
		var se *openapi3.SchemaError
		if !errors.As(e, &se) {
			continue
		}
		fe, ok := schemaFieldError(se, []any{"body"}, v)
		if !ok || fe.Type == "" {
			fe = typeFieldError(se.Schema, append([]any{"body"}, pointerLoc(se.JSONPointer())...), se.Value)
		}
		out = append(out, fe)
	}
	if len(out) == 0 {
		out = []FieldError{typeFieldError(chk.body, []any{"body"}, v)}
	}
	sort.SliceStable(out, func(i, j int) bool { return locString(out[i].Loc) < locString(out[j].Loc) })
	return out, nil
}

func flattenMultiError(me openapi3.MultiError) []error {
	var out []error
	for _, e := range me {
		var inner openapi3.MultiError
		if errors.As(e, &inner) {
			out = append(out, flattenMultiError(inner)...)
			continue
		}
		out = append(out, e)
	}
	return out
}

func jsonErrorWords(err error) string {
	if err == nil {
		return "Extra data"
	}
	return "Expecting value"
}
