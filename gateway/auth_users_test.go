package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"airflow-prefect-gateway/prefect"
)

// A valid cost-4 hash (of "pw") for entries whose hash is not the point.
const anyHash = "$2a$04$KWvKzGN5/gAJbLsjvBtJ6ujJYY9AfpWHc0qxh7zgK9Mtu16v4Bm8O"

// A bad users file stops the start with one line naming the file, the entry and the field.
func TestUsersFileErrors(t *testing.T) {
	entry := func(extra string) string {
		return "users:\n  - username: alice\n    password_bcrypt: \"" + anyHash + "\"\n    role: Viewer\n" + extra
	}
	cases := []struct {
		name, content string
		want          []string // substrings of the one-line error
	}{
		{"empty file", "", []string{"empty"}},
		{"not yaml", "users: [", []string{"line"}},
		{"no users", "users: []\n", []string{"no users"}},
		{"misspelt top-level key", "user:\n  - username: a\n", []string{`unknown key "user"`, "line 1"}},
		{"misspelt entry key", "users:\n  - username: alice\n    pasword_bcrypt: x\n", []string{`unknown key "pasword_bcrypt"`, "line 3"}},
		{"missing username", "users:\n  - role: Viewer\n", []string{"entry 1 (line 2)", "username: missing"}},
		{"colon in username", strings.Replace(entry(""), "alice", "al:ice", 1), []string{`"al:ice"`, "username:", "':'"}},
		{"missing hash", "users:\n  - username: alice\n    role: Viewer\n", []string{`entry 1 (line 2) "alice"`, "password_bcrypt: missing", "hash-password"}},
		{"plain password instead of a hash", strings.Replace(entry(""), anyHash, "hunter2", 1), []string{"password_bcrypt: not a bcrypt hash"}},
		{"missing role", strings.Replace(entry(""), "    role: Viewer\n", "", 1), []string{"role: missing"}},
		{"unknown role", strings.Replace(entry(""), "Viewer", "viewer", 1), []string{`role: unknown role "viewer"`}},
		{"bad glob", entry("    dags: [\"etl[\"]\n"), []string{"dags:", `"etl["`}},
		{"empty dags list", entry("    dags: []\n"), []string{"dags: empty list"}},
		{"empty pattern", entry("    dags: [\"\"]\n"), []string{"dags: empty pattern"}},
		{"two credential sources", entry("    prefect_api_key_env: A\n    prefect_auth_string_file: b\n"), []string{"prefect_api_key_env, prefect_auth_string_file", "only one"}},
		{"unset variable", entry("    prefect_api_key_env: NOT_SET_ANYWHERE\n"), []string{"prefect_api_key_env", "NOT_SET_ANYWHERE", "not set"}},
		{"missing credential file", entry("    prefect_auth_string_file: nope.auth\n"), []string{"prefect_auth_string_file", "nope.auth", "no such file"}},
		{"duplicate user", entry("  - username: alice\n    password_bcrypt: \"" + anyHash + "\"\n    role: Op\n"), []string{`entry 2 (line 5) "alice"`, "more than once"}},
		{"second entry bad", entry("  - username: bob\n    password_bcrypt: \"" + anyHash + "\"\n    role: Boss\n"), []string{`entry 2 (line 5) "bob"`, "role"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeUsersFile(t, tc.content)
			_, err := loadUsers(file, func(string) string { return "" })
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range append([]string{"users file " + file + ": "}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// A credential file's content, or a variable's value, never appears in an error.
func TestUsersFileErrorsHoldNoSecret(t *testing.T) {
	dir := t.TempDir()
	secret := "pnu_very-secret-value"
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "users.yaml")
	content := "users:\n  - username: a\n    password_bcrypt: \"" + anyHash + "\"\n    role: Viewer\n    prefect_api_key_file: key\n" +
		"  - username: b\n    password_bcrypt: \"" + anyHash + "\"\n    role: Nope\n    prefect_api_key_env: SECRET_VAR\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadUsers(file, func(string) string { return secret })
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error %v, want one without the secret", err)
	}
}

func TestUsersFileCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.key", "pnu_a\n")
	write("b.auth", "  user:pass with spaces inside \n")
	abs := filepath.Join(dir, "b.auth")
	write("users.yaml", "users:\n"+
		"  - {username: envkey, password_bcrypt: \""+anyHash+"\", role: User, prefect_api_key_env: KEY_A}\n"+
		"  - {username: filekey, password_bcrypt: \""+anyHash+"\", role: User, prefect_api_key_file: a.key}\n"+
		"  - {username: envstring, password_bcrypt: \""+anyHash+"\", role: Op, prefect_auth_string_env: STRING_B}\n"+
		"  - {username: filestring, password_bcrypt: \""+anyHash+"\", role: Admin, prefect_auth_string_file: \""+abs+"\"}\n"+
		"  - {username: plain, password_bcrypt: \""+anyHash+"\", role: Viewer, dags: [\"a.*\", \"*.b\"]}\n")
	env := map[string]string{"KEY_A": "pnu_env", "STRING_B": "u:p"}
	accounts, err := loadUsers(filepath.Join(dir, "users.yaml"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*prefect.Credential{
		"envkey":     ptr(prefect.BearerCredential("pnu_env")),
		"filekey":    ptr(prefect.BearerCredential("pnu_a")),
		"envstring":  ptr(prefect.BasicCredential("u:p")),
		"filestring": ptr(prefect.BasicCredential("user:pass with spaces inside")),
		"plain":      nil,
	}
	for user, cred := range want {
		acc := accounts[user]
		if acc == nil {
			t.Fatalf("user %s not loaded", user)
		}
		got := acc.principal.Credential
		if (got == nil) != (cred == nil) || (got != nil && *got != *cred) {
			t.Errorf("%s: credential %v, want %v", user, got, cred)
		}
	}
	if p := accounts["plain"].principal; p.Role != RoleViewer || strings.Join(p.DAGPatterns, ",") != "a.*,*.b" {
		t.Errorf("plain: %+v", p)
	}
	if accounts["envkey"].principal.DAGPatterns != nil {
		t.Error("no dags key must mean every DAG (nil patterns)")
	}
}

func ptr[T any](v T) *T { return &v }

// What hash-password prints loads back as the same user, under a `users:` line, whatever
// YAML would make of the name or the patterns unquoted.
func TestFormatUserEntryRoundTrip(t *testing.T) {
	cases := []UserEntry{
		{Username: "admin", Role: "Admin"},
		{Username: "yes", Role: "Viewer", DAGs: []string{"*.daily", "etl.*", "[ab]*"}},
		{Username: "null", Role: "User", PrefectAPIKeyEnv: "TEAM_KEY"},
		{Username: "#not-a-comment", Role: "Op", PrefectAuthStringFile: "secrets/prefect"},
		{Username: "émile & co", Role: "Viewer", PrefectAPIKeyFile: "k", DAGs: []string{"x"}},
	}
	for _, e := range cases {
		password := "pw of " + e.Username
		hash, err := HashPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		e.PasswordBcrypt = hash
		out, err := FormatUserEntry(e)
		if err != nil {
			t.Fatalf("%s: %v", e.Username, err)
		}
		if !strings.HasPrefix(out, "  - username: ") || !strings.Contains(out, `password_bcrypt: "`+hash+`"`) {
			t.Errorf("%s: output is not an indented list item with a quoted hash:\n%s", e.Username, out)
		}
		file := writeUsersFile(t, "# comment\nusers:\n"+out)
		dir := filepath.Dir(file)
		// The credential sources the entries name exist.
		_ = os.MkdirAll(filepath.Join(dir, "secrets"), 0o700)
		_ = os.WriteFile(filepath.Join(dir, "secrets", "prefect"), []byte("u:p"), 0o600)
		_ = os.WriteFile(filepath.Join(dir, "k"), []byte("key"), 0o600)
		accounts, err := loadUsers(file, func(string) string { return "set" })
		if err != nil {
			t.Fatalf("%s: %v\n%s", e.Username, err, out)
		}
		acc := accounts[e.Username]
		if acc == nil || len(accounts) != 1 {
			t.Fatalf("%s: loaded %v", e.Username, accounts)
		}
		if acc.principal.Role.String() != e.Role || strings.Join(acc.principal.DAGPatterns, "\x00") != strings.Join(e.DAGs, "\x00") {
			t.Errorf("%s: loaded %+v, want role %s, dags %q", e.Username, acc.principal, e.Role, e.DAGs)
		}
		wantCred := e.PrefectAPIKeyEnv + e.PrefectAPIKeyFile + e.PrefectAuthStringFile
		if (acc.principal.Credential != nil) != (wantCred != "") {
			t.Errorf("%s: credential %v", e.Username, acc.principal.Credential)
		}
		if err := bcrypt.CompareHashAndPassword(acc.hash, []byte(password)); err != nil {
			t.Errorf("%s: the hash does not verify the password: %v", e.Username, err)
		}
	}
}

func TestHashPasswordRefuses(t *testing.T) {
	cases := []struct {
		name     string
		password string
		cost     int
	}{
		{"empty", "", 4},
		{"73 bytes", strings.Repeat("x", 73), 4},
		{"cost too low", "pw", 3},
		{"cost too high", "pw", 32},
	}
	for _, tc := range cases {
		if h, err := HashPassword([]byte(tc.password), tc.cost); err == nil {
			t.Errorf("%s: hashed to %s", tc.name, h)
		}
	}
}
