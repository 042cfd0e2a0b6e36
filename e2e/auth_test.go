package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
)

// authUser is one user of an end-to-end users file.
type authUser struct {
	name, password, role string
	dags                 []string
	authStringEnv        string // names the variable holding the user's own Prefect auth string
}

// withUsersFile runs the gateway in auth mode "users" with a users file written by the same
// code as `airflow-prefect-gateway hash-password`; env answers the variables it names.
func withUsersFile(t *testing.T, users []authUser, env map[string]string) harness.GatewayOption {
	t.Helper()
	var b strings.Builder
	b.WriteString("users:\n")
	for _, u := range users {
		hash, err := gateway.HashPassword([]byte(u.password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		entry, err := gateway.FormatUserEntry(gateway.UserEntry{Username: u.name, PasswordBcrypt: hash, Role: u.role,
			DAGs: u.dags, PrefectAuthStringEnv: u.authStringEnv})
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(entry)
	}
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(o *gateway.Options, _ *prefect.Options) {
		o.Auth = gateway.AuthOptions{Mode: gateway.AuthModeUsers, UsersFile: path, Getenv: func(k string) string { return env[k] }}
	}
}

func withPassthrough(upstream string) harness.GatewayOption {
	return func(o *gateway.Options, _ *prefect.Options) {
		o.Auth = gateway.AuthOptions{Mode: gateway.AuthModePassthrough, PassthroughUpstream: upstream}
	}
}

func withUpstreamCredential(cred prefect.Credential) harness.GatewayOption {
	return func(_ *gateway.Options, po *prefect.Options) { po.Credential = cred }
}

// exchanges keeps every gateway answer of a test, for the secret scan.
type exchanges struct {
	mu  sync.Mutex
	all []*harness.Response
}

func (x *exchanges) do(api *harness.API, method, path string, body any) *harness.Response {
	res := api.Do(method, path, body)
	x.mu.Lock()
	x.all = append(x.all, res)
	x.mu.Unlock()
	return res
}

func (x *exchanges) get(api *harness.API, path string) *harness.Response {
	return x.do(api, http.MethodGet, path, nil)
}

// assertNoSecrets fails when a secret, its base64 Basic form or its URL escape appears in
// the gateways' logs or in any answer (body or header).
func assertNoSecrets(t *testing.T, gateways []*harness.Gateway, x *exchanges, secrets ...string) {
	t.Helper()
	var forms []string
	for _, s := range secrets {
		forms = append(forms, s, base64.StdEncoding.EncodeToString([]byte(s)), url.QueryEscape(s))
		if _, pw, ok := strings.Cut(s, ":"); ok && len(pw) >= 8 {
			forms = append(forms, pw) // the password half of an auth string
		}
	}
	var logs strings.Builder
	for _, gw := range gateways {
		logs.WriteString(gw.Logs.String())
	}
	if logs.Len() == 0 {
		t.Fatal("the gateways logged nothing: the scan would prove nothing")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	// Failures name the secret form by its index, so that the test's own output leaks nothing.
	for i, f := range forms {
		if strings.Contains(logs.String(), f) {
			t.Errorf("the gateway's logs hold secret form #%d", i)
		}
		for _, res := range x.all {
			if strings.Contains(string(res.Body), f) {
				t.Errorf("an answer's body holds secret form #%d", i)
			}
			for k, vs := range res.Header {
				for _, v := range vs {
					if strings.Contains(v, f) {
						t.Errorf("an answer's header %s holds secret form #%d", k, i)
					}
				}
			}
		}
	}
	t.Logf("scanned %d bytes of logs and %d answers for %d secret forms", logs.Len(), len(x.all), len(forms))
}

func requireChallenge(t *testing.T, res *harness.Response) {
	t.Helper()
	if res.Status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401: %s", res.Status, res.Body)
	}
	if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="`) {
		t.Errorf("WWW-Authenticate %q, want a Basic challenge", got)
	}
}

func requireStatus(t *testing.T, res *harness.Response, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("status %d, want %d: %s", res.Status, want, res.Body)
	}
}

type dagList struct {
	DAGs []struct {
		DAGID string `json:"dag_id"`
	} `json:"dags"`
	TotalEntries int `json:"total_entries"`
}

type runList struct {
	DAGRuns []struct {
		DAGID    string `json:"dag_id"`
		DAGRunID string `json:"dag_run_id"`
	} `json:"dag_runs"`
	TotalEntries int `json:"total_entries"`
}

// Roles and DAG limits against the real Prefect server, through the gateway's real routes.
func TestAuthRolesAndDAGLimits(t *testing.T) {
	ctx := testCtx(t)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	etlFlow, secretFlow := "auth_etl_"+suffix, "auth_secret_"+suffix
	etlDAG, secretDAG := etlFlow+".daily", secretFlow+".daily"
	etlDep, err := seed.Deployment(ctx, etlFlow, "daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	secretDep, err := seed.Deployment(ctx, secretFlow, "daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.FlowRun(ctx, etlDep.ID, "etl-run", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.FlowRun(ctx, secretDep.ID, "secret-run", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	users := []authUser{
		{name: "viewer", password: "pw-viewer-e2e-Q7x2k", role: "Viewer"},
		{name: "user", password: "pw-user-e2e-M3n8v", role: "User"},
		{name: "op", password: "pw-op-e2e-R5t1z", role: "Op"},
		{name: "admin", password: "pw-admin-e2e-L9w4c", role: "Admin"},
		{name: "limited", password: "pw-limited-e2e-H2j6p", role: "Viewer", dags: []string{etlFlow + ".*"}},
		{name: "limited_user", password: "pw-limiteduser-e2e-B8s3d", role: "User", dags: []string{etlFlow + ".*"}},
	}
	gw := harness.StartGateway(t, prefectServer.URL, withUsersFile(t, users, nil))
	api := harness.NewAPI(t, gw.URL)
	as := map[string]*harness.API{}
	for _, u := range users {
		as[u.name] = api.As(u.name, u.password)
	}
	x := &exchanges{}

	t.Run("401 without or with wrong credentials; health and version open", func(t *testing.T) {
		requireChallenge(t, x.get(api, "/dags"))
		requireChallenge(t, x.get(api.As("admin", "pw-viewer-e2e-Q7x2k"), "/dags"))
		requireChallenge(t, x.get(api.As("nobody", "pw-admin-e2e-L9w4c"), "/dags/"+etlDAG))
		requireChallenge(t, x.do(api, http.MethodPost, "/dags/"+etlDAG+"/dagRuns", map[string]any{}))
		requireStatus(t, x.get(api, "/health"), http.StatusOK)
		requireStatus(t, x.get(api, "/version"), http.StatusOK)
	})

	t.Run("roles", func(t *testing.T) {
		runID := "auth-e2e-" + suffix
		cases := []struct {
			name, method, path string
			body               any
			allowed            map[string]bool
		}{
			{"read a DAG", http.MethodGet, "/dags/" + etlDAG, nil, map[string]bool{"viewer": true, "user": true, "op": true, "admin": true}},
			{"list runs", http.MethodGet, "/dags/" + etlDAG + "/dagRuns", nil, map[string]bool{"viewer": true, "user": true, "op": true, "admin": true}},
			{"pause a DAG", http.MethodPatch, "/dags/" + etlDAG + "?update_mask=is_paused", map[string]any{"is_paused": false}, map[string]bool{"user": true, "op": true, "admin": true}},
			{"trigger a run", http.MethodPost, "/dags/" + etlDAG + "/dagRuns", nil, map[string]bool{"user": true, "op": true, "admin": true}},
		}
		for _, tc := range cases {
			for _, who := range []string{"viewer", "user", "op", "admin"} {
				body := tc.body
				if tc.name == "trigger a run" {
					body = map[string]any{"dag_run_id": runID + "-" + who}
				}
				res := x.do(as[who], tc.method, tc.path, body)
				switch {
				case tc.allowed[who] && res.Status != http.StatusOK:
					t.Errorf("%s as %s: %d, want 200: %s", tc.name, who, res.Status, res.Body)
				case !tc.allowed[who] && res.Status != http.StatusForbidden:
					t.Errorf("%s as %s: %d, want 403: %s", tc.name, who, res.Status, res.Body)
				}
			}
		}
	})

	t.Run("a limited user sees only its DAGs", func(t *testing.T) {
		var mine, all dagList
		x.get(as["limited"], "/dags"+harness.Query("dag_id_pattern", "auth_")).JSON(t, &mine)
		x.get(as["admin"], "/dags"+harness.Query("dag_id_pattern", "auth_")).JSON(t, &all)
		seen := map[string]bool{}
		for _, d := range mine.DAGs {
			seen[d.DAGID] = true
			if !strings.HasPrefix(d.DAGID, etlFlow+".") {
				t.Errorf("limited lists %s", d.DAGID)
			}
		}
		if !seen[etlDAG] || mine.TotalEntries != len(mine.DAGs) {
			t.Errorf("limited's DAG list: %+v", mine)
		}
		adminSees := map[string]bool{}
		for _, d := range all.DAGs {
			adminSees[d.DAGID] = true
		}
		if !adminSees[etlDAG] || !adminSees[secretDAG] {
			t.Errorf("admin's DAG list lacks the seeded DAGs: %+v", all)
		}

		requireStatus(t, x.get(as["limited"], "/dags/"+etlDAG), http.StatusOK)
		hidden := x.get(as["limited"], "/dags/"+secretDAG)
		missing := x.get(as["limited"], "/dags/"+etlFlow+".nope")
		requireStatus(t, hidden, http.StatusNotFound)
		requireStatus(t, missing, http.StatusNotFound)
		if strings.ReplaceAll(string(hidden.Body), secretDAG, "X") != strings.ReplaceAll(string(missing.Body), etlFlow+".nope", "X") {
			t.Errorf("a hidden DAG answers differently from a missing one:\n%s\n%s", hidden.Body, missing.Body)
		}
		requireStatus(t, x.get(as["limited"], "/dags/"+secretDAG+"/dagRuns/secret-run"), http.StatusNotFound)
		var none runList
		x.get(as["limited"], "/dags/"+secretDAG+"/dagRuns").JSON(t, &none)
		if len(none.DAGRuns) != 0 || none.TotalEntries != 0 {
			t.Errorf("limited reads the runs of a hidden DAG: %+v", none)
		}
		requireStatus(t, x.do(as["limited_user"], http.MethodPost, "/dags/"+secretDAG+"/dagRuns", map[string]any{}), http.StatusNotFound)
		requireStatus(t, x.do(as["limited_user"], http.MethodPatch, "/dags/"+secretDAG, map[string]any{"is_paused": true}), http.StatusNotFound)

		for _, res := range []*harness.Response{
			x.get(as["limited"], "/dags/~/dagRuns"+harness.Query("limit", "100")),
			x.do(as["limited"], http.MethodPost, "/dags/~/dagRuns/list", map[string]any{"dag_ids": []string{etlDAG, secretDAG}}),
		} {
			var runs runList
			res.JSON(t, &runs)
			found := false
			for _, r := range runs.DAGRuns {
				if r.DAGID != etlDAG {
					t.Errorf("limited sees a run of %s across DAGs", r.DAGID)
				}
				found = found || r.DAGRunID == "etl-run"
			}
			if !found || runs.TotalEntries != len(runs.DAGRuns) {
				t.Errorf("limited's runs across DAGs: %+v", runs)
			}
		}
		var adminRuns runList
		x.do(as["admin"], http.MethodPost, "/dags/~/dagRuns/list", map[string]any{"dag_ids": []string{etlDAG, secretDAG}}).JSON(t, &adminRuns)
		dags := map[string]bool{}
		for _, r := range adminRuns.DAGRuns {
			dags[r.DAGID] = true
		}
		if !dags[etlDAG] || !dags[secretDAG] {
			t.Errorf("admin's runs across DAGs: %+v", adminRuns)
		}
	})

	t.Run("no secret in logs or answers", func(t *testing.T) {
		var secrets []string
		for _, u := range users {
			secrets = append(secrets, u.password, u.name+":"+u.password)
		}
		assertNoSecrets(t, []*harness.Gateway{gw}, x, secrets...)
	})
}

// Against a second real Prefect server that requires PREFECT_SERVER_API_AUTH_STRING, so that
// every refusal below is Prefect's own: the gateway's own auth string, users' own auth
// strings, basic and bearer passthrough; then the logs of all of it are searched for secrets.
func TestAuthAgainstPrefectWithAuthString(t *testing.T) {
	const (
		authString  = "admin:Pf-AuthString-e2e-9c41d"
		wrongString = "admin:Wrong-AuthString-e2e-5521"
		apiKey      = "pnu_e2eLeakProbe7731xyz"
	)
	srv, err := harness.StartPrefect("PREFECT_SERVER_API_AUTH_STRING=" + authString)
	if err != nil {
		t.Fatalf("cannot start a Prefect server with basic auth: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	ctx := testCtx(t)
	locked, err := harness.NewSeeder(srv.URL, prefect.BasicCredential(authString))
	if err != nil {
		t.Fatal(err)
	}
	dep, err := locked.Deployment(ctx, "auth_basic", "daily", nil)
	if err != nil {
		t.Fatalf("seed through the auth string: %v\n%s", err, srv.Log())
	}
	if _, err := locked.FlowRun(ctx, dep.ID, "basic-run", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	const dagID = "auth_basic.daily"

	// Prefect's refusal is real: without the auth string it answers 401.
	if err := prefectCheck(srv.URL, prefect.Credential{}); prefect.KindOf(err) != prefect.KindUnauthorized {
		t.Fatalf("Prefect without credentials: %v, want its 401", err)
	}

	x := &exchanges{}
	var gateways []*harness.Gateway
	start := func(opts ...harness.GatewayOption) *harness.API {
		gw := harness.StartGateway(t, srv.URL, opts...)
		gateways = append(gateways, gw)
		return harness.NewAPI(t, gw.URL)
	}
	users := []authUser{{name: "admin", password: "pw-admin-basic-e2e-T4y7u", role: "Admin"}}

	t.Run("the gateway's own auth string", func(t *testing.T) {
		api := start(withUsersFile(t, users, nil), withUpstreamCredential(prefect.BasicCredential(authString))).As("admin", users[0].password)
		var dags dagList
		x.get(api, "/dags"+harness.Query("dag_id_pattern", "auth_basic")).JSON(t, &dags)
		if len(dags.DAGs) != 1 || dags.DAGs[0].DAGID != dagID {
			t.Fatalf("DAGs through the gateway's auth string: %+v", dags)
		}
		requireStatus(t, x.do(api, http.MethodPost, "/dags/"+dagID+"/dagRuns", map[string]any{"dag_run_id": "by-gateway"}), http.StatusOK)
	})

	t.Run("a wrong gateway auth string is the operator's problem: 502, health still open", func(t *testing.T) {
		api := start(withUsersFile(t, users, nil), withUpstreamCredential(prefect.BasicCredential(wrongString)))
		nv := api.As("admin", users[0].password)
		nv.NoValidate = true // 502 is the gateway's own status, outside Airflow's documented ones
		requireStatus(t, x.get(nv, "/dags/"+dagID), http.StatusBadGateway)
		h := x.get(api, "/health")
		requireStatus(t, h, http.StatusOK)
		var health struct {
			Metadatabase struct{ Status string } `json:"metadatabase"`
		}
		if json.Unmarshal(h.Body, &health) != nil || health.Metadatabase.Status != "healthy" {
			t.Errorf("health without credentials: %s", h.Body)
		}
	})

	t.Run("each user's own auth string", func(t *testing.T) {
		env := map[string]string{"TEAM_A_PREFECT_AUTH": authString, "TEAM_X_PREFECT_AUTH": wrongString}
		api := start(withUsersFile(t, []authUser{
			{name: "team_a", password: "pw-team-a-e2e-P1o9i", role: "User", authStringEnv: "TEAM_A_PREFECT_AUTH"},
			{name: "team_x", password: "pw-team-x-e2e-K6l2m", role: "User", authStringEnv: "TEAM_X_PREFECT_AUTH"},
			{name: "no_cred", password: "pw-nocred-e2e-W3e8r", role: "User"},
		}, env))
		requireStatus(t, x.get(api.As("team_a", "pw-team-a-e2e-P1o9i"), "/dags/"+dagID), http.StatusOK)
		requireStatus(t, x.do(api.As("team_a", "pw-team-a-e2e-P1o9i"), http.MethodPost, "/dags/"+dagID+"/dagRuns", map[string]any{"dag_run_id": "by-team-a"}), http.StatusOK)
		for _, who := range []struct{ name, pw string }{{"team_x", "pw-team-x-e2e-K6l2m"}, {"no_cred", "pw-nocred-e2e-W3e8r"}} {
			nv := api.As(who.name, who.pw)
			nv.NoValidate = true
			requireStatus(t, x.get(nv, "/dags/"+dagID), http.StatusBadGateway)
		}
	})

	t.Run("basic passthrough: user:password is the caller's auth string", func(t *testing.T) {
		api := start(withPassthrough(gateway.PassthroughBasic))
		user, pw, _ := strings.Cut(authString, ":")
		ok := api.As(user, pw)
		var runs runList
		x.get(ok, "/dags/"+dagID+"/dagRuns").JSON(t, &runs)
		if runs.TotalEntries == 0 {
			t.Errorf("no runs through passthrough: %+v", runs)
		}
		requireStatus(t, x.do(ok, http.MethodPost, "/dags/"+dagID+"/dagRuns", map[string]any{"dag_run_id": "by-passthrough"}), http.StatusOK)
		wrongUser, wrongPw, _ := strings.Cut(wrongString, ":")
		requireChallenge(t, x.get(api.As(wrongUser, wrongPw), "/dags/"+dagID))
		requireChallenge(t, x.get(api.As(wrongUser, wrongPw), "/dags/"+dagID)) // remembered refusal
		requireChallenge(t, x.get(api, "/dags"))
		requireStatus(t, x.get(api, "/health"), http.StatusOK)
	})

	t.Run("bearer passthrough: Prefect refuses a key it does not know", func(t *testing.T) {
		api := start(withPassthrough(gateway.PassthroughBearer))
		requireChallenge(t, x.get(api.As("ci", apiKey), "/dags"))
		// A self-hosted server takes Basic only: even its auth string is refused as a bearer.
		requireChallenge(t, x.get(api.As("ci", authString), "/dags"))
	})

	t.Run("no secret in logs or answers", func(t *testing.T) {
		secrets := []string{authString, wrongString, apiKey, "admin:" + users[0].password,
			users[0].password, "pw-team-a-e2e-P1o9i", "pw-team-x-e2e-K6l2m", "pw-nocred-e2e-W3e8r"}
		assertNoSecrets(t, gateways, x, secrets...)
	})
}

// prefectCheck asks the server directly whether it accepts cred.
func prefectCheck(apiURL string, cred prefect.Credential) error {
	c, err := prefect.New(prefect.Options{BaseURL: apiURL, MaxAttempts: 1})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.CheckCredential(ctx, cred)
}
