package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"airflow-prefect-gateway/spec/spectest"
)

// Validator checks gateway responses against Airflow's v1.yaml with kin-openapi.
type Validator struct {
	router routers.Router
}

var (
	validatorOnce sync.Once
	validator     *Validator
	validatorErr  error
)

// AirflowValidator loads Airflow's spec once per test binary.
func AirflowValidator() (*Validator, error) {
	validatorOnce.Do(func() {
		path, err := spectest.AirflowSpecPath()
		if err != nil {
			validatorErr = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			validatorErr = fmt.Errorf("load %s: %w", path, err)
			return
		}
		// Match requests by path only, whatever host the test server listens on.
		doc.Servers = openapi3.Servers{{URL: "/api/v1"}}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			validatorErr = fmt.Errorf("route %s: %w", path, err)
			return
		}
		validator = &Validator{router: r}
	})
	return validator, validatorErr
}

// Check validates one exchange: the status must be documented for the operation (or be a
// problem JSON for a status Airflow uses everywhere), the content type must match, and the
// body must validate against the documented schema.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s is not an operation of Airflow's API: %w", req.Method, req.URL.Path, err)
	}
	// Airflow documents its errors as application/json and sends them as
	// application/problem+json (RFC 7807), a JSON type: validate the body as the former.
	if strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") {
		header = header.Clone()
		header.Set("Content-Type", "application/json")
		body = withoutNulls(body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: status,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s → %d does not conform to Airflow's spec: %w\nbody: %s",
			req.Method, req.URL.RequestURI(), status, err, truncate(string(body), 2000))
	}
	return nil
}

// withoutNulls drops a problem's null members: Airflow's server sends "detail": null (and, for
// connexion's "Extra query parameter(s)", "title": null) where its Error schema has plain
// strings; the gateway answers as the server does, so the check is the document's schema
// less that slip (a null title counts as an empty one, still present).
func withoutNulls(body []byte) []byte {
	var p map[string]any
	if json.Unmarshal(body, &p) != nil {
		return body
	}
	if title, ok := p["title"]; ok && title == nil {
		p["title"] = ""
	}
	for k, v := range p {
		if v == nil {
			delete(p, k)
		}
	}
	out, err := json.Marshal(p)
	if err != nil {
		return body
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Response is one gateway answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.Body)
	}
}

// Map decodes the body into a generic object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// API is an HTTP client for the gateway that validates every answer against Airflow's spec
// and fails the test when one does not conform.
type API struct {
	t        testing.TB
	base     string
	user     string
	password string
	v        *Validator
	client   *http.Client
	// NoValidate skips conformance checks, for answers outside Airflow's API (501s).
	NoValidate bool
}

// NewAPI returns a validating client for the gateway at base (its root URL, without /api/v1).
func NewAPI(t testing.TB, base string) *API {
	t.Helper()
	v, err := AirflowValidator()
	if err != nil {
		t.Fatalf("conformance validator: %v", err)
	}
	return &API{t: t, base: strings.TrimRight(base, "/"), v: v, client: &http.Client{}}
}

// URL is the gateway's root URL (without /api/v1).
func (a *API) URL() string { return a.base }

// As returns a copy that sends HTTP Basic credentials.
func (a *API) As(user, password string) *API {
	c := *a
	c.user, c.password = user, password
	return &c
}

// WithT returns a copy that reports to another test (for subtests).
func (a *API) WithT(t testing.TB) *API {
	c := *a
	c.t = t
	return &c
}

// Do sends method path (relative to /api/v1, with its query) with an optional JSON body.
func (a *API) Do(method, path string, body any) *Response {
	a.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			a.t.Fatalf("encode body: %v", err)
		}
	}
	req, err := http.NewRequest(method, a.base+"/api/v1"+path, bytes.NewReader(raw))
	if err != nil {
		a.t.Fatalf("request: %v", err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if a.user != "" || a.password != "" {
		req.SetBasicAuth(a.user, a.password)
	}
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if !a.NoValidate {
		// Validate against a copy of the request whose body can be read again.
		vreq, _ := http.NewRequest(method, "http://gateway/api/v1"+path, bytes.NewReader(raw))
		vreq.Header = req.Header.Clone()
		if err := a.v.Check(vreq, res.StatusCode, res.Header, data); err != nil {
			a.t.Errorf("%v", err)
		}
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// Get is Do(GET).
func (a *API) Get(path string) *Response { a.t.Helper(); return a.Do(http.MethodGet, path, nil) }

// Query builds "?k=v&..." from pairs, escaping values.
func Query(pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		q.Add(pairs[i], pairs[i+1])
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// DecodeProblem checks that res is an application/problem+json answer and decodes it.
func DecodeProblem(t testing.TB, res *http.Response, p any) {
	t.Helper()
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s %s: content type %q, want application/problem+json", res.Request.Method, res.Request.URL.Path, ct)
	}
	if err := json.NewDecoder(res.Body).Decode(p); err != nil {
		t.Errorf("%s %s: problem body: %v", res.Request.Method, res.Request.URL.Path, err)
	}
}
