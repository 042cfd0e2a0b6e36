package gateway

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/spec"
	"airflow-prefect-gateway/spec/spectest"
)

// Drift tests: what the gateway serves, the routes it registers, its own document and
// Airflow's v1.yaml must agree.

// newDriftServer is the real gateway app, in front of a Prefect that is never called.
func newDriftServer(t *testing.T) *Server {
	t.Helper()
	pc, err := prefect.New(prefect.Options{BaseURL: "http://127.0.0.1:9/api"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Prefect: pc, Logger: zap.NewNop(), Auth: AuthOptions{Mode: "none"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, url string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestServedSpecIsTheEmbeddedOne(t *testing.T) {
	h := newDriftServer(t).Handler()
	js, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	css, err := fs.ReadFile(spec.UI(), "swagger-ui.css")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, wantType string
		wantBody      []byte
	}{
		{"/api/v1/openapi.yaml", "application/yaml", spec.YAML()},
		{"/api/v1/openapi.json", "application/json", js},
		{"/api/v1/ui/swagger-ui.css", "text/css", css}, // read from the binary as it is served
	}
	for _, tc := range tests {
		rec := get(t, h, tc.url)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", tc.url, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.url, ct, tc.wantType)
		}
		if !reflect.DeepEqual(rec.Body.Bytes(), tc.wantBody) {
			t.Errorf("GET %s: the body is not spec's document", tc.url)
		}
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(len(tc.wantBody)) {
			t.Errorf("GET %s: Content-Length %q, want %d", tc.url, cl, len(tc.wantBody))
		}
		etag := rec.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", tc.url)
		}
		if rec := get(t, h, tc.url, "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("GET %s with If-None-Match: %d, want 304 without a body", tc.url, rec.Code)
		}
		if rec := get(t, h, tc.url, "If-None-Match", `"other"`); rec.Code != http.StatusOK {
			t.Errorf("GET %s with a stale If-None-Match: %d, want 200", tc.url, rec.Code)
		}
	}
}

func TestViewerIsServedOffline(t *testing.T) {
	h := newDriftServer(t).Handler()
	tests := []struct {
		url        string
		wantStatus int
		wantType   string
		wantIn     string
	}{
		{"/api/v1/ui", 200, "text/html", `<div id="swagger-ui">`},
		{"/api/v1/ui/init.js", 200, "text/javascript", `url: "openapi.yaml"`},
		{"/api/v1/ui/swagger-ui-bundle.js", 200, "text/javascript", "SwaggerUIBundle"},
		{"/api/v1/ui/swagger-ui.css", 200, "text/css", ".swagger-ui"},
		{"/api/v1/ui/LICENSE.swagger-ui", 200, "text/plain", "Apache License"},
		{"/api/v1/ui/", 301, "", ""},
		{"/api/v1/ui/index.html", 404, problemContentType, "index.html"},
		{"/api/v1/ui/nope.js", 404, problemContentType, "nope.js"},
		{"/api/v1/ui/../openapi.yaml", 404, problemContentType, "../openapi.yaml"}, // no way out of the viewer's files
	}
	for _, tc := range tests {
		rec := get(t, h, tc.url)
		if rec.Code != tc.wantStatus {
			t.Errorf("GET %s: %d, want %d", tc.url, rec.Code, tc.wantStatus)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.url, ct, tc.wantType)
		}
		if !strings.Contains(rec.Body.String(), tc.wantIn) {
			t.Errorf("GET %s: body lacks %q", tc.url, tc.wantIn)
		}
	}
	if loc := get(t, h, "/api/v1/ui/").Header().Get("Location"); loc != "../ui" {
		t.Errorf("GET /api/v1/ui/ redirects to %q, want ../ui", loc)
	}
}

func TestNotImplementedAnswers501(t *testing.T) {
	h := newDriftServer(t).Handler()
	ops := notImplementedOperations()
	if len(ops) == 0 {
		return // every Airflow operation is implemented: no 501 route is left to check
	}
	for _, op := range ops {
		url := apiPrefix + fillParams(EchoPath(op.Path), "etl.daily")
		detail := "Airflow operation " + op.OperationID + " (" + op.Method + " " + op.Path + ") is not implemented by airflow-prefect-gateway"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(op.Method, url, nil))
		if rec.Code != http.StatusNotImplemented {
			t.Errorf("%s %s: %d, want 501; %s", op.Method, url, rec.Code, rec.Body)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != problemContentType {
			t.Errorf("%s %s: Content-Type %q", op.Method, url, ct)
		}
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p.Status != 501 || p.Title != "Not Implemented" || p.Detail != detail || p.Type == "" {
			t.Errorf("%s %s: problem %+v\nwant detail %q", op.Method, url, p, detail)
		}
	}
}

func TestEchoPath(t *testing.T) {
	for in, want := range map[string]string{
		"/dags":                "/dags",
		"/dags/{dag_id}":       "/dags/:dag_id",
		"/dags/~/dagRuns/list": "/dags/~/dagRuns/list",
		"/dags/{dag_id}/dagRuns/{dag_run_id}/clear": "/dags/:dag_id/dagRuns/:dag_run_id/clear",
	} {
		if got := EchoPath(in); got != want {
			t.Errorf("EchoPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// routeSets classifies the Airflow API's operations for route checks.
type routeSets struct {
	implemented    map[routeKey]spec.Operation // in the gateway's document
	notImplemented map[routeKey]spec.Operation // the other Airflow operations: 501
	meta           map[routeKey]bool           // document and viewer
}

func newRouteSets(t *testing.T) routeSets {
	t.Helper()
	ops, err := spec.Operations()
	if err != nil {
		t.Fatal(err)
	}
	rs := routeSets{implemented: map[routeKey]spec.Operation{}, notImplemented: map[routeKey]spec.Operation{}, meta: map[routeKey]bool{}}
	for _, op := range ops {
		rs.implemented[routeKey{op.Method, apiPrefix + EchoPath(op.Path)}] = op
	}
	for _, op := range spec.AirflowOperations() {
		k := routeKey{op.Method, apiPrefix + EchoPath(op.Path)}
		if _, ok := rs.implemented[k]; !ok {
			rs.notImplemented[k] = op
		}
	}
	for _, p := range metaRoutes {
		rs.meta[routeKey{http.MethodGet, apiPrefix + p}] = true
	}
	if len(rs.implemented)+len(rs.notImplemented) != 89 {
		t.Fatalf("%d implemented + %d not implemented, want Airflow's 89 operations", len(rs.implemented), len(rs.notImplemented))
	}
	return rs
}

// Every Echo route under /api/v1 is an operation of the document, a 501 route for another
// Airflow operation, or a meta route; every operation of the document is routed; every other
// Airflow operation has its 501 route.
func TestRoutesMatchTheDocument(t *testing.T) {
	rs := newRouteSets(t)
	routed := map[routeKey]bool{}
	for _, r := range newDriftServer(t).Echo().Routes() {
		if r.Path != apiPrefix && !strings.HasPrefix(r.Path, apiPrefix+"/") {
			continue
		}
		k := routeKey{r.Method, r.Path}
		routed[k] = true
		_, impl := rs.implemented[k]
		_, ni := rs.notImplemented[k]
		if !impl && !ni && !rs.meta[k] {
			t.Errorf("route %s %s is not an operation of spec/openapi.yaml (add it there, with Airflow's schemas)", r.Method, r.Path)
		}
	}
	for k, op := range rs.implemented {
		if !routed[k] {
			t.Errorf("operation %s (%s %s) is in spec/openapi.yaml but not routed", op.OperationID, op.Method, op.Path)
		}
	}
	for k, op := range rs.notImplemented {
		if !routed[k] {
			t.Errorf("Airflow operation %s (%s %s) has no 501 route", op.OperationID, op.Method, op.Path)
		}
	}
	for k := range rs.meta {
		if !routed[k] {
			t.Errorf("meta route %s %s is not routed", k.method, k.path)
		}
	}
}

// Routing precedence: a URL reaches the operation OpenAPI's rules choose (static segments
// before templated ones, leftmost first), so no 501 route and no static path like
// /dags/~/dagRuns/list shadows another operation. Checked on a stub app with every route of
// the document (always complete) and on the real app (complete once every handler exists).
func TestRoutingPrecedence(t *testing.T) {
	rs := newRouteSets(t)
	stub := echo.New()
	g := stub.Group(apiPrefix)
	for k := range rs.implemented {
		g.Add(k.method, strings.TrimPrefix(k.path, apiPrefix), func(echo.Context) error { return nil })
	}
	registerNotImplemented(g)
	for _, app := range []struct {
		name string
		e    *echo.Echo
	}{{"stub", stub}, {"real", newDriftServer(t).Echo()}} {
		t.Run(app.name, func(t *testing.T) {
			checkPrecedence(t, app.e, rs)
		})
	}
}

func checkPrecedence(t *testing.T, e *echo.Echo, rs routeSets) {
	airflow := spec.AirflowOperations()
	// Values that collide with static segments of Airflow's paths.
	values := []string{"x", "~", "list", "clear", "setNote", "details", "tasks", "dagRuns", "taskInstances",
		"events", "test", "queuedEvent", "a.b", "x%2Fy"}
	failures := 0
	for _, op := range airflow {
		for _, v := range values {
			url := fillTemplate(op.Path, v)
			want, ok := openapiMatch(airflow, op.Method, url)
			if !ok {
				t.Fatalf("%s %s does not match its own template", op.Method, url)
			}
			wantRoute := apiPrefix + EchoPath(want.Path)
			c := e.NewContext(httptest.NewRequest(op.Method, apiPrefix+url, nil), httptest.NewRecorder())
			e.Router().Find(op.Method, apiPrefix+url, c)
			if got := c.Path(); got != wantRoute {
				t.Errorf("%s %s routes to %q, want %s (%s)", op.Method, apiPrefix+url, got, wantRoute, want.OperationID)
				if failures++; failures > 20 {
					t.Fatal("too many routing failures")
				}
			}
		}
	}
}

func fillTemplate(path, v string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = v
		}
	}
	return strings.Join(segs, "/")
}

// openapiMatch picks the operation for method and a concrete path among ops the way OpenAPI
// prescribes: among matching templates, the one whose first differing segment is static.
func openapiMatch(ops []spec.Operation, method, path string) (spec.Operation, bool) {
	segs := strings.Split(path, "/")
	var best spec.Operation
	var bestSegs []string
	found := false
	for _, op := range ops {
		if op.Method != method {
			continue
		}
		tpl := strings.Split(op.Path, "/")
		if len(tpl) != len(segs) {
			continue
		}
		match := true
		for i := range tpl {
			if !strings.HasPrefix(tpl[i], "{") && tpl[i] != segs[i] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if !found || moreSpecific(tpl, bestSegs) {
			best, bestSegs, found = op, tpl, true
		}
	}
	return best, found
}

func moreSpecific(a, b []string) bool {
	for i := range a {
		pa, pb := strings.HasPrefix(a[i], "{"), strings.HasPrefix(b[i], "{")
		if pa != pb {
			return !pa
		}
	}
	return false
}

// The gateway's document agrees with Airflow's v1.yaml for every operation it lists:
// operationId, parameters (name, in, required, style, schema), request body and responses,
// with $refs resolved on both sides and schemas compared in full except prose.
func TestDocumentAgreesWithAirflow(t *testing.T) {
	ours := spec.MustDocument()
	theirs, err := spectest.LoadAirflow()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := spec.Operations()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		t.Run(op.OperationID, func(t *testing.T) {
			oItem, tItem := ours.Paths.Value(op.Path), theirs.Paths.Value(op.Path)
			if tItem == nil || tItem.GetOperation(op.Method) == nil {
				t.Fatalf("%s %s is not in Airflow's document", op.Method, op.Path)
			}
			o, a := oItem.GetOperation(op.Method), tItem.GetOperation(op.Method)
			if o.OperationID != a.OperationID {
				t.Errorf("operationId %q, Airflow's %q", o.OperationID, a.OperationID)
			}
			compareParameters(t, mergedParams(oItem, o), mergedParams(tItem, a))
			compareRequestBodies(t, o.RequestBody, a.RequestBody)
			compareResponses(t, op.OperationID, o.Responses, a.Responses, theirs)
		})
	}
}

// Every schema and parameter the gateway's document declares is Airflow's, by name.
func TestComponentsAgreeWithAirflow(t *testing.T) {
	ours := spec.MustDocument()
	theirs, err := spectest.LoadAirflow()
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range ours.Components.Schemas {
		a := theirs.Components.Schemas[name]
		if a == nil {
			t.Errorf("schema %s is not one of Airflow's", name)
			continue
		}
		diffSchemas(t, "#/components/schemas/"+name, s, a)
	}
	for name, p := range ours.Components.Parameters {
		a := theirs.Components.Parameters[name]
		if a == nil {
			t.Errorf("parameter %s is not one of Airflow's", name)
			continue
		}
		compareParameters(t, map[string]*openapi3.Parameter{name: p.Value}, map[string]*openapi3.Parameter{name: a.Value})
	}
}

func mergedParams(item *openapi3.PathItem, op *openapi3.Operation) map[string]*openapi3.Parameter {
	out := map[string]*openapi3.Parameter{}
	for _, p := range item.Parameters {
		out[p.Value.In+" "+p.Value.Name] = p.Value
	}
	for _, p := range op.Parameters {
		out[p.Value.In+" "+p.Value.Name] = p.Value
	}
	return out
}

func compareParameters(t *testing.T, ours, theirs map[string]*openapi3.Parameter) {
	t.Helper()
	if got, want := sortedKeys(ours), sortedKeys(theirs); !reflect.DeepEqual(got, want) {
		t.Errorf("parameters %v, Airflow's %v", got, want)
	}
	for k, a := range theirs {
		o := ours[k]
		if o == nil {
			continue
		}
		if o.Required != a.Required || o.AllowEmptyValue != a.AllowEmptyValue || o.Deprecated != a.Deprecated {
			t.Errorf("parameter %s: required/allowEmptyValue/deprecated %v/%v/%v, Airflow's %v/%v/%v",
				k, o.Required, o.AllowEmptyValue, o.Deprecated, a.Required, a.AllowEmptyValue, a.Deprecated)
		}
		os, _ := o.SerializationMethod()
		as, _ := a.SerializationMethod()
		if !reflect.DeepEqual(os, as) {
			t.Errorf("parameter %s: serialization %+v, Airflow's %+v", k, os, as)
		}
		diffSchemas(t, "parameter "+k, o.Schema, a.Schema)
	}
}

func compareRequestBodies(t *testing.T, ours, theirs *openapi3.RequestBodyRef) {
	t.Helper()
	if (ours == nil) != (theirs == nil) {
		t.Errorf("request body present %v, in Airflow's %v", ours != nil, theirs != nil)
		return
	}
	if ours == nil {
		return
	}
	o, a := ours.Value, theirs.Value
	if o.Required != a.Required {
		t.Errorf("request body required %v, Airflow's %v", o.Required, a.Required)
	}
	if got, want := sortedKeys(o.Content), sortedKeys(a.Content); !reflect.DeepEqual(got, want) {
		t.Errorf("request body media types %v, Airflow's %v", got, want)
	}
	for mt, am := range a.Content {
		if om := o.Content[mt]; om != nil {
			diffSchemas(t, "request body "+mt, om.Schema, am.Schema)
		}
	}
}

// responseExemptions are deliberate differences from Airflow's document, each checked by its
// own rule instead of equality.
var responseExemptions = map[string]func(t *testing.T, ours *openapi3.Response, airflow *openapi3.T){
	// Airflow's server answers a dry run with {task_instances: [TaskInstanceReference]};
	// its document says TaskInstanceCollection. The gateway documents what is sent.
	"clear_dag_run 200": func(t *testing.T, ours *openapi3.Response, airflow *openapi3.T) {
		mt := ours.Content.Get("application/json")
		if mt == nil || len(ours.Content) != 1 {
			t.Fatal("clear_dag_run 200: want one application/json content")
		}
		members := mt.Schema.Value.AnyOf
		if len(members) != 2 {
			t.Fatalf("clear_dag_run 200: want anyOf [DAGRun, TaskInstanceReferenceCollection], got %d members", len(members))
		}
		diffSchemas(t, "clear_dag_run 200 anyOf[0]", members[0], airflow.Components.Schemas["DAGRun"])
		diffSchemas(t, "clear_dag_run 200 anyOf[1]", members[1], airflow.Components.Schemas["TaskInstanceReferenceCollection"])
	},
}

func compareResponses(t *testing.T, opID string, ours, theirs *openapi3.Responses, airflow *openapi3.T) {
	t.Helper()
	errorSchema := airflow.Components.Schemas["Error"]
	for code, ar := range theirs.Map() {
		or := ours.Value(code)
		if or == nil {
			t.Errorf("response %s of Airflow's document is missing", code)
			continue
		}
		if check, ok := responseExemptions[opID+" "+code]; ok {
			check(t, or.Value, airflow)
			continue
		}
		if code[0] != '2' {
			continue // error answers: checked below with the gateway's own
		}
		if got, want := sortedKeys(or.Value.Content), sortedKeys(ar.Value.Content); !reflect.DeepEqual(got, want) {
			t.Errorf("response %s media types %v, Airflow's %v", code, got, want)
		}
		for mt, am := range ar.Value.Content {
			if om := or.Value.Content[mt]; om != nil {
				diffSchemas(t, "response "+code+" "+mt, om.Schema, am.Schema)
			}
		}
	}
	// Error answers (Airflow's and the gateway's own) are problem JSON with Airflow's Error.
	for code, or := range ours.Map() {
		if code[0] == '2' {
			if theirs.Value(code) == nil {
				t.Errorf("success response %s is not in Airflow's document", code)
			}
			continue
		}
		mt := or.Value.Content.Get(problemContentType)
		if mt == nil || len(or.Value.Content) != 1 {
			t.Errorf("response %s: want exactly %s content", code, problemContentType)
			continue
		}
		diffSchemas(t, "response "+code, mt.Schema, errorSchema)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diffSchemas reports every difference between two schemas, refs resolved, prose ignored.
func diffSchemas(t *testing.T, where string, ours, theirs *openapi3.SchemaRef) {
	t.Helper()
	var diffs []string
	diffValues(where, normSchema(ours, nil), normSchema(theirs, nil), &diffs)
	for i, d := range diffs {
		if i == 10 {
			t.Errorf("%s: %d more differences", where, len(diffs)-i)
			break
		}
		t.Error(d)
	}
}

// normSchema is the comparable content of a schema: everything but prose (description,
// title, example, externalDocs, extensions) and the $ref names themselves.
func normSchema(ref *openapi3.SchemaRef, stack []*openapi3.Schema) any {
	if ref == nil || ref.Value == nil {
		return nil
	}
	s := ref.Value
	for _, seen := range stack {
		if seen == s {
			return map[string]any{"$cycle": ref.Ref}
		}
	}
	stack = append(stack, s)
	m := map[string]any{}
	put := func(k string, v any, zero bool) {
		if !zero {
			m[k] = v
		}
	}
	put("type", s.Type.Slice(), len(s.Type.Slice()) == 0)
	put("format", s.Format, s.Format == "")
	put("nullable", s.Nullable, !s.Nullable)
	put("readOnly", s.ReadOnly, !s.ReadOnly)
	put("writeOnly", s.WriteOnly, !s.WriteOnly)
	put("deprecated", s.Deprecated, !s.Deprecated)
	put("uniqueItems", s.UniqueItems, !s.UniqueItems)
	put("enum", s.Enum, len(s.Enum) == 0)
	put("default", s.Default, s.Default == nil)
	put("pattern", s.Pattern, s.Pattern == "")
	put("minimum", s.Min, s.Min == nil)
	put("maximum", s.Max, s.Max == nil)
	put("exclusiveMinimum", s.ExclusiveMin, s.ExclusiveMin == openapi3.ExclusiveBound{})
	put("exclusiveMaximum", s.ExclusiveMax, s.ExclusiveMax == openapi3.ExclusiveBound{})
	put("minLength", s.MinLength, s.MinLength == 0)
	put("maxLength", s.MaxLength, s.MaxLength == nil)
	put("minItems", s.MinItems, s.MinItems == 0)
	put("maxItems", s.MaxItems, s.MaxItems == nil)
	put("minProperties", s.MinProps, s.MinProps == 0)
	put("maxProperties", s.MaxProps, s.MaxProps == nil)
	if len(s.Required) > 0 {
		req := append([]string(nil), s.Required...)
		sort.Strings(req)
		m["required"] = req
	}
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for name, p := range s.Properties {
			props[name] = normSchema(p, stack)
		}
		m["properties"] = props
	}
	if s.Items != nil {
		m["items"] = normSchema(s.Items, stack)
	}
	if ap := s.AdditionalProperties; ap.Has != nil || ap.Schema != nil {
		m["additionalProperties"] = map[string]any{"has": ap.Has, "schema": normSchema(ap.Schema, stack)}
	}
	for name, list := range map[string]openapi3.SchemaRefs{"allOf": s.AllOf, "anyOf": s.AnyOf, "oneOf": s.OneOf} {
		if len(list) > 0 {
			l := make([]any, len(list))
			for i, x := range list {
				l[i] = normSchema(x, stack)
			}
			m[name] = l
		}
	}
	if s.Not != nil {
		m["not"] = normSchema(s.Not, stack)
	}
	if d := s.Discriminator; d != nil {
		m["discriminator"] = map[string]any{"propertyName": d.PropertyName, "mapping": fmt.Sprint(d.Mapping)}
	}
	return m
}

func diffValues(path string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			av, ain := am[k]
			bv, bin := bm[k]
			switch {
			case !ain:
				*out = append(*out, fmt.Sprintf("%s.%s: missing here, Airflow has %s", path, k, show(bv)))
			case !bin:
				*out = append(*out, fmt.Sprintf("%s.%s: %s here, absent in Airflow's", path, k, show(av)))
			default:
				diffValues(path+"."+k, av, bv, out)
			}
		}
		return
	}
	al, alok := a.([]any)
	bl, blok := b.([]any)
	if alok && blok && len(al) == len(bl) {
		for i := range al {
			diffValues(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, fmt.Sprintf("%s: %s here, Airflow has %s", path, show(a), show(b)))
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
