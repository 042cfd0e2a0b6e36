package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"airflow-prefect-gateway/e2e/harness"
)

func TestHashPasswordPrintsAnEntry(t *testing.T) {
	cases := []struct {
		name, stdin string
		args        []string
		want        map[string]any // the entry as YAML reads it, hash aside
	}{
		{"as scripts/run.sh calls it", "pw-Zq81", []string{"--username", "admin", "--role", "Admin"},
			map[string]any{"username": "admin", "role": "Admin"}},
		{"echo's newline is not part of the password", "pw-Zq81\n", []string{"--username", "admin", "--role", "Admin"},
			map[string]any{"username": "admin", "role": "Admin"}},
		{"role defaults to Viewer", "pw-Zq81", []string{"--username", "ro"},
			map[string]any{"username": "ro", "role": "Viewer"}},
		{"DAG patterns and an own key", "pw-Zq81", []string{"--username", "team", "--role", "User", "--dags", "etl.*, *.daily", "--prefect-api-key-env", "TEAM_KEY"},
			map[string]any{"username": "team", "role": "User", "dags": []any{"etl.*", "*.daily"}, "prefect_api_key_env": "TEAM_KEY"}},
		{"own auth string file", "pw-Zq81", []string{"--username", "b", "--prefect-auth-string-file", "/run/secrets/prefect"},
			map[string]any{"username": "b", "role": "Viewer", "prefect_auth_string_file": "/run/secrets/prefect"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := hashPassword(append(tc.args, "--cost", "4"), strings.NewReader(tc.stdin), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var file struct {
				Users []map[string]any `yaml:"users"`
			}
			if err := yaml.Unmarshal([]byte("users:\n"+stdout.String()), &file); err != nil || len(file.Users) != 1 {
				t.Fatalf("output does not sit under `users:` (%v):\n%s", err, stdout.String())
			}
			entry := file.Users[0]
			hash, _ := entry["password_bcrypt"].(string)
			if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("pw-Zq81")); err != nil {
				t.Errorf("hash %q does not verify the password: %v", hash, err)
			}
			delete(entry, "password_bcrypt")
			if !equalYAML(entry, tc.want) {
				t.Errorf("entry %v, want %v", entry, tc.want)
			}
			if strings.Contains(stdout.String()+stderr.String(), "pw-Zq81") {
				t.Error("the password is echoed")
			}
		})
	}
}

func equalYAML(a, b map[string]any) bool {
	x, _ := yaml.Marshal(a)
	y, _ := yaml.Marshal(b)
	return bytes.Equal(x, y)
}

func TestHashPasswordRefusals(t *testing.T) {
	cases := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"no username", "pw", nil, "--username"},
		{"unknown role", "pw", []string{"--username", "a", "--role", "admin"}, `unknown role "admin"`},
		{"colon in the name", "pw", []string{"--username", "a:b"}, "':'"},
		{"password as an argument", "pw", []string{"--username", "a", "hunter2"}, "stdin"},
		{"empty stdin", "", []string{"--username", "a"}, "no password"},
		{"two credential sources", "pw", []string{"--username", "a", "--prefect-api-key-env", "A", "--prefect-auth-string-env", "B"}, "only one"},
		{"bad glob", "pw", []string{"--username", "a", "--dags", "etl["}, "dags"},
		{"too long", strings.Repeat("x", 73), []string{"--username", "a"}, "72"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := hashPassword(append(tc.args, "--cost", "4"), strings.NewReader(tc.stdin), &stdout, &stderr)
			msg := strings.TrimSpace(stderr.String())
			if code != 2 || stdout.Len() != 0 || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s", code, stdout.String(), msg, tc.want)
			}
			if strings.Contains(msg, "hunter2") {
				t.Error("the refusal repeats the password")
			}
		})
	}
}

// What hash-password prints is what the server loads: the `make run` path, in process.
func TestHashPasswordThenServe(t *testing.T) {
	var entry, stderr bytes.Buffer
	if code := hashPassword([]string{"--username", "alice", "--role", "User", "--cost", "4"}, strings.NewReader("s3cret-pw"), &entry, &stderr); code != 0 {
		t.Fatalf("hash-password: %s", stderr.String())
	}
	users := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(users, []byte("users:\n"+entry.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	prefectStub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/filter"):
			_, _ = io.WriteString(w, "[]")
		case strings.HasSuffix(r.URL.Path, "/count"):
			_, _ = io.WriteString(w, "0")
		default:
			_, _ = io.WriteString(w, `{"message":"OK"}`)
		}
	}))
	defer prefectStub.Close()

	addr := harness.FreeLoopbackAddr(t)
	env := map[string]string{"GATEWAY_USERS_FILE": users}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"--listen", addr, "--prefect-api-url", prefectStub.URL + "/api"},
			func(k string) string { return env[k] }, io.Discard, &syncWriter{w: &logs})
	}()
	harness.WaitForServing(t, addr)

	get := func(user, password string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/dags", nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code := get("alice", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code := get("alice", "s3cret-pw"); code != http.StatusOK {
		t.Errorf("alice: %d, want 200", code)
	}
	cancel()
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
}

// In mode users, a missing users file stops the start with one line that says what to do.
func TestUsersModeNeedsAUsersFile(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--listen", harness.FreeLoopbackAddr(t)}, func(string) string { return "" }, io.Discard, &stderr)
	msg := strings.TrimSpace(stderr.String())
	if code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, "GATEWAY_USERS_FILE") {
		t.Errorf("exit %d, stderr %q; want 2 and one line naming GATEWAY_USERS_FILE", code, msg)
	}
}

// syncWriter lets the server's logger and the test share a buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
