package gateway

import (
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/spec"
)

// Airflow 3's REST API beside Airflow 2's: /api/v2 (and the token endpoints under /auth)
// served by files named v2_<resource>.go, on the same translate/ and prefect/ code as
// /api/v1. Every route goes through s.routeV2, which fixes the order authenticateV2 (a
// bearer token) → requireRole → validateV2 (the gateway's v2 document), as s.route does for
// v1. What the gateway does not serve answers Airflow 3's not-found shape, naming it.

// Meta routes of Airflow 3's API: the document FastAPI serves at /openapi.json and its viewer
// at /docs, and the same under /api/v2 beside the gateway's v1 document and viewer.
const (
	rootSpecJSONPath = "/openapi.json"
	rootDocsPath     = "/docs"
)

// v2MetaRoutes are the routes beside Airflow's operations, as full paths; the drift tests
// exempt exactly these.
var v2MetaRoutes = []string{rootSpecJSONPath, rootDocsPath, rootDocsPath + "/*",
	v2Prefix + specJSONPath, v2Prefix + specYAMLPath, v2Prefix + uiPath, v2Prefix + uiAssetPath, v2Prefix + "/*", v2AuthPrefix + "/*"}

// registerV2Routes wires Airflow 3's API.
func (s *Server) registerV2Routes(e *echo.Echo) {
	s.registerTokenRoutes(e.Group(v2AuthPrefix))
	v2 := e.Group(v2Prefix)
	// Open, as in Airflow.
	v2.GET("/version", s.getVersionV2, s.validateV2)
	v2.GET("/monitor/health", s.getHealth, s.validateV2)

	s.registerV2DAGRoutes(v2)
	s.registerV2DAGRunRoutes(v2)
	s.registerV2TaskInstanceRoutes(v2)
	s.registerV2SpecRoutes(e, v2)
	// Every other Airflow 3 operation has a route of its own that answers v2's not-found
	// naming it, so that its static segments (xcomEntries, dependencies, ...) are never
	// taken for a parameter of a served route; anything else under /api/v2 or /auth gets
	// the same shape from the catch-all.
	registerV2NotServed(e)
	v2.Any("/*", v2NotServed)
	e.Any(v2AuthPrefix+"/*", v2NotServed)
}

// registerV2NotServed routes the Airflow 3 operations the gateway's v2 document leaves out.
func registerV2NotServed(e *echo.Echo) {
	served := map[string]bool{}
	for _, op := range mustV2Operations() {
		served[op.OperationID] = true
	}
	for _, op := range spec.AirflowV2Operations() {
		if served[op.OperationID] {
			continue
		}
		op := op
		e.Add(op.Method, EchoPath(op.Path), func(c echo.Context) error {
			return v2RouteNotFound(c.Request().Method, c.Request().URL.Path, &op)
		})
	}
}

// routeV2 registers an authenticated /api/v2 route that needs at least role min.
func (s *Server) routeV2(g *echo.Group, method, path string, h echo.HandlerFunc, min Role) {
	g.Add(method, path, h, s.authenticateV2, requireRole(min), s.validateV2)
}

// v2NotServed answers a URL no route of the gateway's takes: Airflow 3's 404 detail naming
// the Airflow operation the gateway does not serve, or saying the URL is none of Airflow's;
// a path Airflow serves with other methods is Starlette's 405.
func v2NotServed(c echo.Context) error {
	method, path := c.Request().Method, c.Request().URL.Path
	op, otherMethods := airflowV2Operation(method, path)
	switch {
	case op != nil:
		return v2RouteNotFound(method, path, op)
	case len(otherMethods) > 0:
		return NewProblem(http.StatusMethodNotAllowed, "", "Method Not Allowed").ForV2("Method Not Allowed").
			WithHeader("Allow", strings.Join(otherMethods, ", "))
	}
	return v2RouteNotFound(method, path, nil)
}

var airflowV2Templates = sync.OnceValue(func() []spec.Operation { return spec.AirflowV2Operations() })

// airflowV2Operation finds Airflow 3's operation for a concrete method and path (a template
// segment {x} takes any one segment; static segments win), or the methods the path has.
func airflowV2Operation(method, path string) (*spec.Operation, []string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *spec.Operation
	bestParams := -1
	var methods []string
	for _, op := range airflowV2Templates() {
		params, ok := templateMatch(strings.Split(strings.Trim(op.Path, "/"), "/"), segs)
		if !ok {
			continue
		}
		if op.Method != method {
			methods = append(methods, op.Method)
			continue
		}
		if best == nil || params < bestParams {
			o := op
			best, bestParams = &o, params
		}
	}
	return best, methods
}

func templateMatch(tmpl, segs []string) (params int, ok bool) {
	if len(tmpl) != len(segs) {
		return 0, false
	}
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") {
			if segs[i] == "" {
				return 0, false
			}
			params++
			continue
		}
		if t != segs[i] {
			return 0, false
		}
	}
	return params, true
}

func mustV2Operations() []spec.Operation {
	ops, err := spec.V2Operations()
	if err != nil {
		panic(err)
	}
	return ops
}
