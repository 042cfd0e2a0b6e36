package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestUsersRolesAndPermissions(t *testing.T) {
	stub := newRecordingPrefect(t, emptyPrefect)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeUsers, UsersFile: usersFixture}, nil)
	get := func(path string) (int, map[string]any) {
		rec := authCall{method: http.MethodGet, path: "/api/v1" + path, auth: asUser("admin")}.do(s)
		var m map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m
	}
	code, users := get("/users")
	list, _ := users["users"].([]any)
	if code != 200 || int(users["total_entries"].(float64)) != len(list) || len(list) == 0 {
		t.Fatalf("users: %d %v", code, users)
	}
	first := list[0].(map[string]any)
	if first["active"] != true || first["roles"] == nil || first["last_login"] != nil {
		t.Errorf("user %v", first)
	}
	if code, u := get("/users/viewer"); code != 200 || u["username"] != "viewer" || u["roles"].([]any)[0].(map[string]any)["name"] != "Viewer" {
		t.Errorf("viewer: %d %v", code, u)
	}
	if code, p := get("/users/nobody"); code != 404 || p["title"] != "User not found" || p["detail"] != "The User with username `nobody` was not found" {
		t.Errorf("nobody: %d %v", code, p)
	}
	if code, p := get("/users?order_by=-id"); code != 400 || !strings.Contains(p["detail"].(string), "Ordering with '-id' is disallowed") {
		t.Errorf("-id: %d %v", code, p)
	}
	code, roles := get("/roles")
	if code != 200 || roles["total_entries"] != float64(4) {
		t.Fatalf("roles: %d %v", code, roles)
	}
	names := []string{}
	for _, r := range roles["roles"].([]any) {
		names = append(names, r.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "Admin,Op,User,Viewer" {
		t.Errorf("roles by name: %v", names)
	}
	_, viewer := get("/roles/Viewer")
	perms := map[string]bool{}
	for _, a := range viewer["actions"].([]any) {
		m := a.(map[string]any)
		perms[m["action"].(map[string]any)["name"].(string)+" on "+m["resource"].(map[string]any)["name"].(string)] = true
	}
	if !perms["can_read on Pools"] || perms["can_read on Variables"] || perms["can_read on Connections"] {
		t.Errorf("Viewer's permissions: %v", perms)
	}
	if code, p := get("/permissions"); code != 200 || p["total_entries"] != float64(5) {
		t.Errorf("permissions: %d %v", code, p)
	}
	for _, w := range []struct{ method, path string }{{"POST", "/users"}, {"PATCH", "/users/viewer"}, {"DELETE", "/users/viewer"},
		{"POST", "/roles"}, {"PATCH", "/roles/Viewer"}, {"DELETE", "/roles/Viewer"}} {
		rec := authCall{method: w.method, path: "/api/v1" + w.path, body: `{"name":"x"}`, auth: asUser("admin")}.do(s)
		if rec.Code != 405 || rec.Header().Get("Allow") != "GET" || !strings.Contains(rec.Body.String(), "cannot") {
			t.Errorf("%s %s: %d %s", w.method, w.path, rec.Code, rec.Body)
		}
	}
	stub.mu.Lock()
	defer stub.mu.Unlock()
	if len(stub.calls) != 0 {
		t.Errorf("users and roles called Prefect: %v", stub.calls)
	}
}

func TestConfigPluginsProviders(t *testing.T) {
	hidden := newRunsEnv(t)
	if a := hidden.do(http.MethodGet, "/config", ""); a.status != 403 || a.problem(t).Detail != configNotExposed {
		t.Errorf("not exposed: %d %s", a.status, a.body)
	}
	e := newRunsEnv(t, func(o *Options) {
		o.ExposeConfig = "True"
		o.Config = []ConfigOption{{"api", "maximum_page_limit", "100", false}, {"prefect", "api_url", "http://p/api", false},
			{"prefect", "api_key", "pnu_secret", true}}
	})
	req := func(path, accept string) (int, string, string) {
		r, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return res.StatusCode, res.Header.Get("Content-Type"), b.String()
	}
	code, ct, body := req("/config", "")
	want := "[api]\nmaximum_page_limit = 100\n\n[prefect]\napi_url = http://p/api\napi_key = < hidden >\n"
	if code != 200 || !strings.HasPrefix(ct, "text/plain") || body != want {
		t.Errorf("text: %d %s %q", code, ct, body)
	}
	code, _, body = req("/config?section=api", "application/json")
	if code != 200 || body != "{\n    \"sections\": [\n        {\n            \"name\": \"api\",\n            \"options\": [\n                {\n                    \"key\": \"maximum_page_limit\",\n                    \"value\": \"100\"\n                }\n            ]\n        }\n    ]\n}" {
		t.Errorf("json: %d %q", code, body)
	}
	if code, _, body = req("/config/section/prefect/option/api_key", "text/plain"); code != 200 || body != "[prefect]\napi_key = < hidden >\n" {
		t.Errorf("secret option: %d %q", code, body)
	}
	if code, _, body = req("/config/section/prefect/option/nope", "application/json"); code != 404 || !strings.Contains(body, "The option [prefect/nope] is not found in config.") {
		t.Errorf("missing option: %d %s", code, body)
	}
	if code, _, body = req("/config?section=nope", "application/json"); code != 404 || !strings.Contains(body, "section=nope not found.") {
		t.Errorf("missing section: %d %s", code, body)
	}
	if code, _, _ = req("/config", "image/png"); code != 406 {
		t.Errorf("406: %d", code)
	}
	if strings.Contains(body, "pnu_secret") {
		t.Error("a secret reached an answer")
	}
	if a := e.do(http.MethodGet, "/plugins", ""); a.status != 200 || a.object(t)["total_entries"] != float64(0) || len(a.object(t)["plugins"].([]any)) != 0 {
		t.Errorf("plugins: %s", a.body)
	}
	if a := e.do(http.MethodGet, "/providers", ""); a.status != 200 || len(a.object(t)["providers"].([]any)) != 0 {
		t.Errorf("providers: %s", a.body)
	}
}
