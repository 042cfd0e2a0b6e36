package harness

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
)

// User is one entry of a test users file.
type User struct {
	Name, Password, Role string
	DAGs                 []string // DAG-id patterns; nil = all
}

// WithUsers runs the gateway in auth mode "users" with a users file holding users (bcrypt at
// its minimum cost: these are test passwords).
func WithUsers(t testing.TB, users ...User) GatewayOption {
	t.Helper()
	type entry struct {
		Username       string   `yaml:"username"`
		PasswordBcrypt string   `yaml:"password_bcrypt"`
		Role           string   `yaml:"role"`
		DAGs           []string `yaml:"dags,omitempty"`
	}
	var file struct {
		Users []entry `yaml:"users"`
	}
	for _, u := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		file.Users = append(file.Users, entry{u.Name, string(h), u.Role, u.DAGs})
	}
	raw, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return func(o *gateway.Options, _ *prefect.Options) {
		o.Auth.Mode = "users"
		o.Auth.UsersFile = path
	}
}
