package gateway

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"

	"airflow-prefect-gateway/prefect"
)

// The users of testdata/auth/users.yaml; each password is "<username>-pw".
const usersFixture = "../testdata/auth/users.yaml"

const (
	gatewayAuthString = "gateway:default-secret" // the gateway's own upstream credential
	teamAKey          = "pnu_team-a-key"         // keyed's own API key, from TEST_TEAM_KEY
	teamBAuthString   = "team-b:file-secret"     // stringed's own auth string, from team-b.auth
)

func usersFixtureEnv(name string) string {
	if name == "TEST_TEAM_KEY" {
		return teamAKey
	}
	return ""
}

// recordedCall is one request the stub Prefect received.
type recordedCall struct {
	Method, Path, Authorization string
}

// recordingPrefect is an httptest Prefect that records every call and answers with handler.
type recordingPrefect struct {
	srv     *httptest.Server
	mu      sync.Mutex
	calls   []recordedCall
	handler http.HandlerFunc
}

func newRecordingPrefect(t *testing.T, handler http.HandlerFunc) *recordingPrefect {
	t.Helper()
	st := &recordingPrefect{handler: handler}
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		st.calls = append(st.calls, recordedCall{r.Method, r.URL.Path, r.Header.Get("Authorization")})
		h := st.handler
		st.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		h(w, r)
	}))
	t.Cleanup(st.srv.Close)
	return st
}

func (st *recordingPrefect) URL() string { return st.srv.URL + "/api" }

func (st *recordingPrefect) Calls() []recordedCall {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]recordedCall(nil), st.calls...)
}

func (st *recordingPrefect) CallsTo(path string) int {
	n := 0
	for _, c := range st.Calls() {
		if c.Path == path {
			n++
		}
	}
	return n
}

func (st *recordingPrefect) SetHandler(h http.HandlerFunc) {
	st.mu.Lock()
	st.handler = h
	st.mu.Unlock()
}

// emptyPrefect is a Prefect that knows nothing.
func emptyPrefect(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/filter") {
		_, _ = io.WriteString(w, "[]")
		return
	}
	if strings.HasSuffix(r.URL.Path, "/count") {
		_, _ = io.WriteString(w, "0")
		return
	}
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, `{"detail":"Not found"}`)
}

// newAuthServer builds a gateway in front of prefectURL with the given auth options, the
// fixture's environment, and a gateway credential of its own. Extra test routes go on it.
func newAuthServer(t testing.TB, prefectURL string, auth AuthOptions, log *zap.Logger) *Server {
	t.Helper()
	client, err := prefect.New(prefect.Options{BaseURL: prefectURL, Credential: prefect.BasicCredential(gatewayAuthString), MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if auth.Getenv == nil {
		auth.Getenv = usersFixtureEnv
	}
	if auth.LoginFailureBurst == 0 {
		auth.LoginFailureBurst = 1000 // tests of other things fail logins by the dozen
	}
	if log == nil {
		log = zap.NewNop()
	}
	s, err := New(Options{Prefect: client, Logger: log, Auth: auth})
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	addProbeRoutes(s)
	return s
}

// probeAnswer is what the probe routes answer: who the gateway thinks the caller is and which
// upstream credential it would use for them.
type probeAnswer struct {
	User       string `json:"user"`
	Role       string `json:"role"`
	Upstream   string `json:"upstream"` // prefect.Credential.String(): mode and fingerprint
	Deployment string `json:"deployment,omitempty"`
}

// addProbeRoutes adds authenticated routes beside the real ones:
// GET /api/v1/probe/whoami (Viewer), POST /api/v1/probe/write (User),
// GET /api/v1/probe/dags/:dag_id (Viewer, resolves the DAG through Prefect).
func addProbeRoutes(s *Server) {
	g := s.Echo().Group("/api/v1/probe")
	me := func(c echo.Context) probeAnswer {
		p := principalOf(c)
		return probeAnswer{User: p.User, Role: p.Role.String(), Upstream: s.prefect.CredentialFor(c.Request().Context()).String()}
	}
	s.route(g, http.MethodGet, "/whoami", func(c echo.Context) error { return c.JSON(http.StatusOK, me(c)) }, RoleViewer)
	s.route(g, http.MethodPost, "/write", func(c echo.Context) error { return c.JSON(http.StatusOK, me(c)) }, RoleUser)
	s.route(g, http.MethodGet, "/dags/:dag_id", func(c echo.Context) error {
		res, err := s.dags.Resolve(c.Request().Context(), c.Param("dag_id"))
		if err != nil {
			return err
		}
		w := me(c)
		w.Deployment = res.Deployment.ID
		return c.JSON(http.StatusOK, w)
	}, RoleViewer)
}

type authCall struct {
	method, path string
	auth         string // the whole Authorization header; "" sends none
	body         string
}

func basicCred(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func asUser(user string) string { return basicCred(user, user+"-pw") }

func (c authCall) do(s *Server) *httptest.ResponseRecorder {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.path, body)
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func authGet(s *Server, path, auth string) *httptest.ResponseRecorder {
	return authCall{method: http.MethodGet, path: path, auth: auth}.do(s)
}

func readProbeAnswer(t *testing.T, rec *httptest.ResponseRecorder) probeAnswer {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	var w probeAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	return w
}

// readProblem checks that rec is Airflow's problem JSON with the given status.
func authProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) renderedProblem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json: %s", ct, rec.Body)
	}
	var p renderedProblem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %s: %v", rec.Body, err)
	}
	if p.Status != status || p.Title == "" || p.Type == "" {
		t.Fatalf("incomplete problem %+v", p)
	}
	return p
}

func assertChallenge(t *testing.T, rec *httptest.ResponseRecorder) renderedProblem {
	t.Helper()
	p := authProblem(t, rec, http.StatusUnauthorized)
	if got := rec.Header().Get("WWW-Authenticate"); got != `Basic realm="Airflow API (airflow-prefect-gateway)", charset="UTF-8"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	if p.Title != "Unauthorized" || !strings.HasSuffix(p.Type, "#section/Errors/Unauthenticated") {
		t.Errorf("401 problem %+v, want Airflow's Unauthorized/Unauthenticated", p)
	}
	return p
}

func TestUsersModeAuthentication(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	const whoamiPath = "/api/v1/probe/whoami"
	refusals := []struct {
		name, auth string
	}{
		{"no credentials", ""},
		{"bearer instead of basic", "Bearer " + teamAKey},
		{"not base64", "Basic !!!"},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("viewer"))},
		{"unknown user", basicCred("nobody", "viewer-pw")},
		{"wrong password", basicCred("viewer", "admin-pw")},
		{"empty password", basicCred("viewer", "")},
		{"password with extra bytes", basicCred("viewer", "viewer-pw ")},
		{"username in another case", basicCred("Viewer", "viewer-pw")},
		{"password longer than bcrypt reads", basicCred("viewer", "viewer-pw"+strings.Repeat("x", 80))},
	}
	details := map[string]bool{}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			p := assertChallenge(t, authGet(s, whoamiPath, tc.auth))
			if strings.Contains(p.Detail, "pw") || strings.Contains(p.Detail, teamAKey) {
				t.Errorf("the refusal echoes the credential: %q", p.Detail)
			}
			if strings.HasPrefix(tc.auth, "Basic ") && strings.Contains(tc.name, "user") || strings.Contains(tc.name, "password") {
				details[p.Detail] = true
			}
		})
	}
	if len(details) != 1 {
		t.Errorf("wrong usernames and wrong passwords get different answers: %v", details)
	}

	accepted := []struct {
		name, auth string
		want       probeAnswer
	}{
		{"viewer", asUser("viewer"), probeAnswer{User: "viewer", Role: "Viewer", Upstream: prefect.BasicCredential(gatewayAuthString).String()}},
		{"admin", asUser("admin"), probeAnswer{User: "admin", Role: "Admin", Upstream: prefect.BasicCredential(gatewayAuthString).String()}},
		{"lower-case scheme", "basic " + base64.StdEncoding.EncodeToString([]byte("op:op-pw")), probeAnswer{User: "op", Role: "Op", Upstream: prefect.BasicCredential(gatewayAuthString).String()}},
		{"own API key", asUser("keyed"), probeAnswer{User: "keyed", Role: "User", Upstream: prefect.BearerCredential(teamAKey).String()}},
		{"own auth string from a file", asUser("stringed"), probeAnswer{User: "stringed", Role: "Viewer", Upstream: prefect.BasicCredential(teamBAuthString).String()}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 2; i++ { // the second answer comes from the verification cache
				if got := readProbeAnswer(t, authGet(s, whoamiPath, tc.auth)); got != tc.want {
					t.Fatalf("request %d: %+v, want %+v", i+1, got, tc.want)
				}
			}
		})
	}
	if n := len(stub.Calls()); n != 0 {
		t.Errorf("authentication cost %d Prefect calls, want 0", n)
	}
}

func TestOpenRoutesNeedNoCredentials(t *testing.T) {
	stub := newRecordingPrefect(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	})
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	for _, path := range []string{"/api/v1/health", "/api/v1/version"} {
		for _, auth := range []string{"", basicCred("viewer", "wrong")} {
			if rec := authGet(s, path, auth); rec.Code != http.StatusOK {
				t.Errorf("GET %s with %q: %d, want 200: %s", path, auth, rec.Code, rec.Body)
			}
		}
	}
}

// A wrong username costs exactly what a wrong password costs: one bcrypt check at the
// file's cost. Verified pairs are remembered; refused ones never are.
func TestUnknownUserCostsOneBcryptCheck(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	var mu sync.Mutex
	var costs []int
	s.auth.compare = func(hash, password []byte) error {
		cost, err := bcrypt.Cost(hash)
		if err != nil {
			t.Errorf("compared against a non-bcrypt hash: %v", err)
		}
		mu.Lock()
		costs = append(costs, cost)
		mu.Unlock()
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	checks := func() []int {
		mu.Lock()
		defer mu.Unlock()
		out := costs
		costs = nil
		return out
	}
	cases := []struct {
		name, auth string
		status     int
		wantCosts  []int
	}{
		{"unknown user", basicCred("nobody", "x"), 401, []int{4}},
		{"unknown user again", basicCred("nobody", "x"), 401, []int{4}},
		{"wrong password", basicCred("viewer", "x"), 401, []int{4}},
		{"wrong password again", basicCred("viewer", "x"), 401, []int{4}},
		{"too long a password", basicCred("viewer", strings.Repeat("x", 100)), 401, []int{4}},
		{"right password", asUser("viewer"), 200, []int{4}},
		{"right password, cached", asUser("viewer"), 200, nil},
		{"another user's right password", asUser("op"), 200, []int{4}},
	}
	for _, tc := range cases {
		rec := authGet(s, "/api/v1/probe/whoami", tc.auth)
		if rec.Code != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.name, rec.Code, tc.status)
		}
		if got := checks(); fmt.Sprint(got) != fmt.Sprint(tc.wantCosts) {
			t.Errorf("%s: bcrypt checks at costs %v, want %v", tc.name, got, tc.wantCosts)
		}
	}
}

// A password that only starts with the right one is refused, though bcrypt alone would
// accept it (it reads 72 bytes).
func TestPasswordBeyond72BytesIsRefused(t *testing.T) {
	pw72 := strings.Repeat("p", 72)
	hash, err := HashPassword([]byte(pw72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	file := writeUsersFile(t, "users:\n  - username: long\n    password_bcrypt: \""+hash+"\"\n    role: Viewer\n")
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: file}, nil)
	if rec := authGet(s, "/api/v1/probe/whoami", basicCred("long", pw72)); rec.Code != http.StatusOK {
		t.Fatalf("the exact password: %d", rec.Code)
	}
	assertChallenge(t, authGet(s, "/api/v1/probe/whoami", basicCred("long", pw72+"suffix")))
	if _, err := HashPassword([]byte(pw72+"x"), bcrypt.MinCost); err == nil {
		t.Error("HashPassword accepted a 73-byte password")
	}
}

func TestRoleBelowTheRouteIsForbidden(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	p := authProblem(t, authCall{method: http.MethodPost, path: "/api/v1/probe/write", auth: asUser("viewer")}.do(s), http.StatusForbidden)
	if p.Title != "Forbidden" || !strings.HasSuffix(p.Type, "#section/Errors/PermissionDenied") || !strings.Contains(p.Detail, "User role") {
		t.Errorf("403 problem %+v", p)
	}
	if rec := (authCall{method: http.MethodPost, path: "/api/v1/probe/write", auth: asUser("user")}).do(s); rec.Code != http.StatusOK {
		t.Errorf("User on a User route: %d", rec.Code)
	}
}

// Each request goes to Prefect with its user's own credential, else the gateway's, and the
// resolver's cache never answers one credential with what another fetched.
func TestOutboundCredentialPerUser(t *testing.T) {
	stub := newRecordingPrefect(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/deployments/name/") {
			// Each credential sees its own deployment, as two Prefect workspaces would.
			id := map[string]string{
				basicOf(gatewayAuthString): "dep-gateway",
				"Bearer " + teamAKey:       "dep-team-a",
				basicOf(teamBAuthString):   "dep-team-b",
			}[r.Header.Get("Authorization")]
			if id == "" {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"exception_message":"Unauthorized"}`)
				return
			}
			fmt.Fprintf(w, `{"id":%q,"name":"daily","flow_id":"flow-1"}`, id)
			return
		}
		emptyPrefect(w, r)
	})
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	sequence := []struct {
		user, deployment, header string
		calls                    int // Prefect calls this request costs
	}{
		{"admin", "dep-gateway", basicOf(gatewayAuthString), 2}, // tag lookup + by name
		{"keyed", "dep-team-a", "Bearer " + teamAKey, 2},
		{"stringed", "dep-team-b", basicOf(teamBAuthString), 2},
		{"viewer", "dep-gateway", "", 0}, // shares the gateway's credential, so its cache
		{"keyed", "dep-team-a", "", 0},
		{"admin", "dep-gateway", "", 0},
	}
	for i, step := range sequence {
		before := len(stub.Calls())
		w := readProbeAnswer(t, authGet(s, "/api/v1/probe/dags/etl.daily", asUser(step.user)))
		if w.Deployment != step.deployment {
			t.Errorf("step %d (%s): deployment %q, want %q", i+1, step.user, w.Deployment, step.deployment)
		}
		calls := stub.Calls()[before:]
		if len(calls) != step.calls {
			t.Errorf("step %d (%s): %d Prefect calls, want %d: %+v", i+1, step.user, len(calls), step.calls, calls)
		}
		for _, c := range calls {
			if c.Authorization != step.header {
				t.Errorf("step %d (%s): %s %s sent Authorization %q, want %q", i+1, step.user, c.Method, c.Path, c.Authorization, step.header)
			}
		}
	}
}

func basicOf(authString string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(authString))
}

// A Prefect 401 while serving a users-mode request means the operator's credential is
// wrong: 502 and an error log line, never a 401 that blames the caller's password.
func TestUpstreamRefusalInUsersModeIsBadGateway(t *testing.T) {
	stub := newRecordingPrefect(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"exception_message":"Unauthorized"}`)
	})
	core, logs := observer.New(zap.InfoLevel)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, zap.New(core))
	rec := authGet(s, "/api/v1/probe/dags/etl.daily", asUser("keyed"))
	p := authProblem(t, rec, http.StatusBadGateway)
	if rec.Header().Get("WWW-Authenticate") != "" {
		t.Error("a 502 carries a Basic challenge")
	}
	if !strings.Contains(p.Detail, "operator") {
		t.Errorf("detail %q does not point at the operator", p.Detail)
	}
	entries := logs.FilterMessage("request").All()
	if len(entries) != 1 || entries[0].Level != zap.ErrorLevel || entries[0].ContextMap()["user"] != "keyed" ||
		!strings.Contains(fmt.Sprint(entries[0].ContextMap()["alert"]), "Prefect refused the gateway's upstream credential") {
		t.Fatalf("log lines %+v, want one error line naming user keyed and the refused credential", entries)
	}
	for _, e := range logs.All() {
		if line := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(line, teamAKey) || strings.Contains(line, "keyed-pw") {
			t.Errorf("a log line holds a secret: %s", line)
		}
	}
}

func TestModeNone(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	core, logs := observer.New(zap.WarnLevel)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeNone}, zap.New(core))
	if w := readProbeAnswer(t, authGet(s, "/api/v1/probe/whoami", "")); w.Role != "Admin" || w.Upstream != prefect.BasicCredential(gatewayAuthString).String() {
		t.Errorf("mode none: %+v, want an Admin with the gateway's credential", w)
	}
	if logs.FilterMessageSnippet("authentication is OFF").Len() != 1 {
		t.Errorf("no start-up warning in mode none: %v", logs.All())
	}
}

func TestAuthOptionsThatCannotStart(t *testing.T) {
	cases := []struct {
		name string
		opts AuthOptions
		want string
	}{
		{"users without a file", AuthOptions{Mode: AuthModeUsers}, "GATEWAY_USERS_FILE"},
		{"default mode without a file", AuthOptions{}, "GATEWAY_USERS_FILE"},
		{"unknown mode", AuthOptions{Mode: "ldap"}, `auth mode "ldap"`},
		{"missing users file", AuthOptions{Mode: AuthModeUsers, UsersFile: "testdata/nope.yaml"}, "testdata/nope.yaml"},
		{"passthrough by smoke", AuthOptions{Mode: AuthModePassthrough, PassthroughUpstream: "smoke"}, `"smoke"`},
		{"passthrough role", AuthOptions{Mode: AuthModePassthrough, PassthroughRole: "Root"}, `"Root"`},
	}
	client, err := prefect.New(prefect.Options{BaseURL: "http://127.0.0.1:1/api"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		_, err := New(Options{Prefect: client, Auth: tc.opts})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line naming %s", tc.name, err, tc.want)
		}
	}
}

func writeUsersFile(t testing.TB, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestBasicAuthHeader(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		header, user, password string
		ok                     bool
	}{
		{"Basic " + enc("a:b"), "a", "b", true},
		{"basic " + enc("a:b"), "a", "b", true},
		{"BASIC   " + enc("a:b:c"), "a", "b:c", true}, // only the first colon splits
		{"Basic " + enc(":key"), "", "key", true},
		{"Basic " + enc("a:"), "a", "", true},
		{"Basic " + enc("ab"), "", "", false},
		{"Basic", "", "", false},
		{"Basic !!", "", "", false},
		{"Bearer " + enc("a:b"), "", "", false},
		{"", "", "", false},
	}
	for _, tc := range cases {
		user, password, ok := basicAuth(tc.header)
		if user != tc.user || password != tc.password || ok != tc.ok {
			t.Errorf("basicAuth(%q) = %q, %q, %v; want %q, %q, %v", tc.header, user, password, ok, tc.user, tc.password, tc.ok)
		}
	}
}

func TestCanAccessDAG(t *testing.T) {
	cases := []struct {
		patterns []string
		dagID    string
		want     bool
	}{
		{nil, "anything", true},
		{[]string{"etl.*"}, "etl.daily", true},
		{[]string{"etl.*"}, "etl", false},
		{[]string{"etl.*"}, "etl_x.daily", false},
		{[]string{"etl.*", "reports.daily"}, "reports.daily", true},
		{[]string{"etl.*", "reports.daily"}, "reports.weekly", false},
		{[]string{"*.daily"}, "sales.daily", true},
		{[]string{"team-[ab].*"}, "team-b.sync", true},
		{[]string{"team-[ab].*"}, "team-c.sync", false},
	}
	for _, tc := range cases {
		p := &Principal{DAGPatterns: tc.patterns}
		if got := p.CanAccessDAG(tc.dagID); got != tc.want {
			t.Errorf("%v CanAccessDAG(%q) = %v, want %v", tc.patterns, tc.dagID, got, tc.want)
		}
	}
	var nobody *Principal
	if nobody.CanAccessDAG("x") {
		t.Error("a nil principal may access a DAG")
	}
}
