package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/spec/spectest"
)

// v2Env is the real gateway app in users mode (testdata/auth/users.yaml) in front of the
// stateful fake Prefect, with a helper that logs in through POST /auth/token. Every answer
// it gets is checked against Airflow 3.3.2's own documents.
type v2Env struct {
	t     *testing.T
	fake  *fakePrefect
	srv   *Server
	url   string
	dep   *fakeDeployment
	token string
	// noCheck turns the conformance check off for one call (answers outside Airflow's API).
	noCheck bool
}

func newV2Env(t *testing.T, adjust ...func(*Options)) *v2Env {
	t.Helper()
	fake := newFakePrefect(t)
	dep := fake.addDeployment("etl", "daily")
	client, err := prefect.New(prefect.Options{BaseURL: fake.URL(), BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Prefect: client, Auth: AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture, Getenv: usersFixtureEnv},
		JWT: JWTOptions{Secret: "a test secret that is long enough for HS512"}}
	for _, a := range adjust {
		a(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &v2Env{t: t, fake: fake, srv: srv, url: hs.URL, dep: dep}
}

type v2Answer struct {
	status int
	header http.Header
	body   []byte
}

// decode parses the answer into v.
func (a v2Answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d is not the JSON expected (%v): %s", a.status, err, a.body)
	}
}

// detail is the answer's {"detail": ...}.
func (a v2Answer) detail(t *testing.T) any {
	t.Helper()
	var d struct {
		Detail any `json:"detail"`
	}
	a.decode(t, &d)
	return d.Detail
}

// login gets a token for user (password "<user>-pw") and keeps it for later calls.
func (e *v2Env) login(user string) {
	e.t.Helper()
	a := e.send(http.MethodPost, "/auth/token", `{"username":"`+user+`","password":"`+user+`-pw"}`, "Content-Type", "application/json")
	if a.status != http.StatusCreated {
		e.t.Fatalf("login %s: %d %s", user, a.status, a.body)
	}
	var tok loginResponse
	a.decode(e.t, &tok)
	e.token = tok.AccessToken
}

// do sends a call with the kept token (if any) and a JSON body.
func (e *v2Env) do(method, path, body string, header ...string) v2Answer {
	e.t.Helper()
	h := []string{}
	if e.token != "" {
		h = append(h, "Authorization", "Bearer "+e.token)
	}
	if body != "" {
		h = append(h, "Content-Type", "application/json")
	}
	return e.send(method, path, body, append(h, header...)...)
}

// send sends a call with exactly the headers given, and checks the answer's conformance.
func (e *v2Env) send(method, path, body string, header ...string) v2Answer {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := v2Answer{status: res.StatusCode, header: res.Header, body: b}
	if !e.noCheck && res.Header.Get("Content-Type") == "application/json" && isAirflowV2Operation(method, path) {
		v, err := spectest.AirflowV2Validator()
		if err != nil {
			e.t.Fatal(err)
		}
		check, _ := http.NewRequest(method, e.url+path, nil)
		check.Header = req.Header
		if err := v.Check(check, a.status, res.Header, b); err != nil {
			e.t.Errorf("conformance: %v", err)
		}
	}
	return a
}

// isAirflowV2Operation tells the calls Airflow's documents describe from the gateway's meta
// routes (its document, the viewer) and the operations it does not serve (a 404 naming them).
func isAirflowV2Operation(method, path string) bool {
	p, _, _ := strings.Cut(path, "?")
	if !strings.HasPrefix(p, "/api/v2/") && !strings.HasPrefix(p, "/auth/") {
		return false
	}
	op, _ := airflowV2Operation(method, p)
	if op == nil {
		return false
	}
	for _, served := range mustV2Operations() {
		if served.OperationID == op.OperationID {
			return true
		}
	}
	return false
}
