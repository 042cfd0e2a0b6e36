package spectest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// V2Validator checks answers of the gateway's /api/v2 and /auth routes against Airflow
// 3.3.2's own documents (the core API's and the simple auth manager's), loaded from the
// pinned apache-airflow-core package.
type V2Validator struct {
	routers []routers.Router
}

var v2Validator = sync.OnceValues(func() (*V2Validator, error) {
	v := &V2Validator{}
	for _, find := range []func() (string, error){AirflowV2SpecPath, AirflowV2AuthSpecPath} {
		path, err := find()
		if err != nil {
			return nil, err
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
		// The paths are absolute (/api/v2/..., /auth/...): match them whatever the host.
		doc.Servers = openapi3.Servers{{URL: "/"}}
		oneOfAsAnyOf(doc)
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", path, err)
		}
		v.routers = append(v.routers, r)
	}
	return v, nil
})

// AirflowV2Validator loads Airflow 3's documents once per test binary.
func AirflowV2Validator() (*V2Validator, error) { return v2Validator() }

// Check validates one exchange: the operation exists in Airflow's documents, the status is
// one it documents, and the body validates against the documented schema.
func (v *V2Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	for _, r := range v.routers {
		route, params, err := r.FindRoute(req)
		if err != nil {
			continue
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			},
			Status:  status,
			Header:  header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		in.SetBodyBytes(body)
		err = openapi3filter.ValidateResponse(context.Background(), in)
		if err != nil && status >= 400 && isErrorBody(body) {
			// FastAPI raises HTTPExceptions an operation does not declare (Airflow's 400 for
			// a disallowed order_by on get_dags, say): the body must still be Airflow's
			// error shape, {"detail": string | object | [field errors]}.
			err = nil
		}
		if err != nil {
			b := string(body)
			if len(b) > 2000 {
				b = b[:2000] + "…"
			}
			return fmt.Errorf("%s %s → %d does not conform to Airflow 3's document: %w\nbody: %s",
				req.Method, req.URL.RequestURI(), status, err, b)
		}
		return nil
	}
	return fmt.Errorf("%s %s is not an operation of Airflow 3's API", req.Method, req.URL.Path)
}

// isErrorBody reports whether body is FastAPI's error: {"detail": ...} and nothing else,
// detail a string, an object, or a list of {loc, msg, type} objects.
func isErrorBody(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || len(m) != 1 || m["detail"] == nil {
		return false
	}
	var d any
	if json.Unmarshal(m["detail"], &d) != nil {
		return false
	}
	switch d := d.(type) {
	case string, map[string]any:
		return true
	case []any:
		for _, e := range d {
			fe, ok := e.(map[string]any)
			if !ok || fe["loc"] == nil || fe["msg"] == nil || fe["type"] == nil {
				return false
			}
		}
		return true
	}
	return false
}

// oneOfAsAnyOf reads Airflow's oneOf unions as pydantic serializes them: a value of the first
// member that fits, whether or not it also fits another (ClearTaskInstanceCollectionResponse's
// TaskInstanceResponse | NewTaskResponse: every task instance also fits NewTaskResponse, so a
// strict oneOf would refuse Airflow's own answers). Unions with a discriminator stay oneOf.
func oneOfAsAnyOf(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		sc := ref.Value
		seen[sc] = true
		if len(sc.OneOf) > 0 && sc.Discriminator == nil {
			sc.AnyOf, sc.OneOf = append(sc.AnyOf, sc.OneOf...), nil
		}
		for _, list := range []openapi3.SchemaRefs{sc.AnyOf, sc.AllOf, sc.OneOf} {
			for _, x := range list {
				walk(x)
			}
		}
		for _, p := range sc.Properties {
			walk(p)
		}
		walk(sc.Items)
		walk(sc.AdditionalProperties.Schema)
	}
	for _, sc := range doc.Components.Schemas {
		walk(sc)
	}
}
