package harness

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"airflow-prefect-gateway/spec/spectest"
)

// V2API is a client of the gateway's Airflow 3 API (/api/v2, /auth) that validates every
// answer of an Airflow operation against Airflow 3.3.2's own documents.
type V2API struct {
	t      testing.TB
	base   string
	token  string
	v      *spectest.V2Validator
	client *http.Client
	// NoValidate skips conformance checks (answers outside Airflow's API).
	NoValidate bool
}

// NewV2API returns a validating client for the gateway at base (its root URL).
func NewV2API(t testing.TB, base string) *V2API {
	t.Helper()
	v, err := spectest.AirflowV2Validator()
	if err != nil {
		t.Fatalf("v2 conformance validator: %v", err)
	}
	return &V2API{t: t, base: strings.TrimRight(base, "/"), v: v, client: &http.Client{}}
}

// Login gets a token from POST /auth/token and returns a copy that sends it.
func (a *V2API) Login(user, password string) *V2API {
	a.t.Helper()
	res := a.Do(http.MethodPost, "/auth/token", map[string]string{"username": user, "password": password})
	if res.Status != http.StatusCreated {
		a.t.Fatalf("login %s: %d %s", user, res.Status, res.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	res.JSON(a.t, &tok)
	c := *a
	c.token = tok.AccessToken
	return &c
}

// Token is the token the client sends.
func (a *V2API) Token() string { return a.token }

// WithT returns a copy that reports to another test.
func (a *V2API) WithT(t testing.TB) *V2API {
	c := *a
	c.t = t
	return &c
}

// Do sends method path (from the root: /api/v2/..., /auth/...) with an optional JSON body.
func (a *V2API) Do(method, path string, body any, header ...string) *Response {
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
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(raw))
	if err != nil {
		a.t.Fatalf("request: %v", err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
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
	if !a.NoValidate && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		vreq, _ := http.NewRequest(method, "http://gateway"+path, bytes.NewReader(raw))
		vreq.Header = req.Header.Clone()
		if err := a.v.Check(vreq, res.StatusCode, res.Header, data); err != nil {
			a.t.Errorf("%v", err)
		}
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// Get is Do(GET).
func (a *V2API) Get(path string) *Response { a.t.Helper(); return a.Do(http.MethodGet, path, nil) }
