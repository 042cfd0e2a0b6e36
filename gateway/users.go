package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"airflow-prefect-gateway/prefect"
)

// DefaultBcryptCost is the cost hash-password uses unless told otherwise: about a quarter of
// a second per check on a current core, which the verification cache pays once per client.
const DefaultBcryptCost = 12

// UserEntry is one user of the users file (auth mode "users"):
//
//	users:
//	  - username: alice
//	    password_bcrypt: "$2a$12$..."
//	    role: User
//	    dags: ["etl.*"]                    # optional; all DAGs when absent
//	    prefect_api_key_env: TEAM_A_KEY    # optional; at most one of the four prefect_* keys
//
// Secrets are never written in the file: a user's own Prefect credential is named by an
// environment variable or a file path (relative paths are read from the users file's folder).
type UserEntry struct {
	Username              string   `yaml:"username"`
	PasswordBcrypt        string   `yaml:"password_bcrypt"`
	Role                  string   `yaml:"role"`
	DAGs                  []string `yaml:"dags,omitempty"`
	PrefectAPIKeyEnv      string   `yaml:"prefect_api_key_env,omitempty"`
	PrefectAPIKeyFile     string   `yaml:"prefect_api_key_file,omitempty"`
	PrefectAuthStringEnv  string   `yaml:"prefect_auth_string_env,omitempty"`
	PrefectAuthStringFile string   `yaml:"prefect_auth_string_file,omitempty"`
	// What GET /api/v1/users shows of the user (optional).
	FirstName string `yaml:"first_name,omitempty"`
	LastName  string `yaml:"last_name,omitempty"`
	Email     string `yaml:"email,omitempty"`
}

type usersFile struct {
	Users []UserEntry `yaml:"users"`
}

// account is a loaded user: the principal every request of theirs gets, and the hash their
// password is checked against.
type account struct {
	principal Principal
	hash      []byte
	cost      int
	// index is the user's place in the file (Airflow's user id order); entry what the
	// users endpoints show of it.
	index int
	entry UserEntry
}

// HashPassword returns the bcrypt hash of password. bcrypt reads only 72 bytes, so a longer
// password is refused rather than silently cut.
func HashPassword(password []byte, cost int) (string, error) {
	if len(password) == 0 {
		return "", errors.New("the password is empty")
	}
	if len(password) > maxPasswordBytes {
		return "", fmt.Errorf("the password is %d bytes long; bcrypt reads at most %d", len(password), maxPasswordBytes)
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return "", fmt.Errorf("bcrypt cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	h, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return "", fmt.Errorf("hash the password: %w", err)
	}
	return string(h), nil
}

const maxPasswordBytes = 72

// Check reports the first problem of the entry, naming the field. It looks at the entry
// alone: whether the named variable or file exists is checked when the file is loaded.
func (e UserEntry) Check() error {
	if e.Username == "" {
		return errors.New("username: missing")
	}
	if strings.Contains(e.Username, ":") {
		return errors.New("username: contains ':', which HTTP Basic cannot carry in a username")
	}
	if strings.IndexFunc(e.Username, unicode.IsControl) >= 0 || strings.TrimSpace(e.Username) != e.Username {
		return errors.New("username: contains control characters or surrounding spaces")
	}
	if e.PasswordBcrypt == "" {
		return errors.New("password_bcrypt: missing (make one with `airflow-prefect-gateway hash-password`)")
	}
	if _, err := bcrypt.Cost([]byte(e.PasswordBcrypt)); err != nil {
		return errors.New("password_bcrypt: not a bcrypt hash (make one with `airflow-prefect-gateway hash-password`)")
	}
	if e.Role == "" {
		return errors.New("role: missing (want Viewer, User, Op or Admin)")
	}
	if _, err := ParseRole(e.Role); err != nil {
		return fmt.Errorf("role: %w", err)
	}
	if e.DAGs != nil && len(e.DAGs) == 0 {
		return errors.New("dags: empty list; leave the key out to allow every DAG")
	}
	for _, p := range e.DAGs {
		if p == "" {
			return errors.New("dags: empty pattern")
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("dags: pattern %q is not a valid glob", p)
		}
	}
	var set []string
	for key, v := range e.credentialSources() {
		if v != "" {
			set = append(set, key)
		}
	}
	sort.Strings(set)
	if len(set) > 1 {
		return fmt.Errorf("%s: only one of prefect_api_key_env, prefect_api_key_file, prefect_auth_string_env and prefect_auth_string_file may be set", strings.Join(set, ", "))
	}
	return nil
}

func (e UserEntry) credentialSources() map[string]string {
	return map[string]string{
		"prefect_api_key_env":      e.PrefectAPIKeyEnv,
		"prefect_api_key_file":     e.PrefectAPIKeyFile,
		"prefect_auth_string_env":  e.PrefectAuthStringEnv,
		"prefect_auth_string_file": e.PrefectAuthStringFile,
	}
}

// credential reads the user's own Prefect credential, nil when the entry names none. dir is
// where relative file paths start. Errors name the variable or file, never its content.
func (e UserEntry) credential(dir string, getenv func(string) string) (*prefect.Credential, error) {
	fromEnv := func(key, name string) (string, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set or empty", key, name)
		}
		return v, nil
	}
	fromFile := func(key, name string) (string, error) {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already in the message
			}
			return "", fmt.Errorf("%s: cannot read %s: %v", key, p, err)
		}
		v := strings.TrimSpace(string(raw))
		if v == "" {
			return "", fmt.Errorf("%s: %s is empty", key, p)
		}
		return v, nil
	}
	var (
		cred prefect.Credential
		v    string
		err  error
	)
	switch {
	case e.PrefectAPIKeyEnv != "":
		v, err = fromEnv("prefect_api_key_env", e.PrefectAPIKeyEnv)
		cred = prefect.BearerCredential(v)
	case e.PrefectAPIKeyFile != "":
		v, err = fromFile("prefect_api_key_file", e.PrefectAPIKeyFile)
		cred = prefect.BearerCredential(v)
	case e.PrefectAuthStringEnv != "":
		v, err = fromEnv("prefect_auth_string_env", e.PrefectAuthStringEnv)
		cred = prefect.BasicCredential(v)
	case e.PrefectAuthStringFile != "":
		v, err = fromFile("prefect_auth_string_file", e.PrefectAuthStringFile)
		cred = prefect.BasicCredential(v)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &cred, nil
}

// loadUsers reads and checks the users file. The error is one line naming the file, the
// entry and the field at fault.
func loadUsers(file string, getenv func(string) string) (map[string]*account, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("users file %s: %v", file, err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("users file %s: "+format, append([]any{file}, args...)...)
	}
	var doc usersFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true) // a misspelt key is an error, not a silently missing setting
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail("empty; want a `users:` list")
		}
		return nil, fail("%s", yamlErrorLine(err))
	}
	if len(doc.Users) == 0 {
		return nil, fail("no users; want a `users:` list with at least one entry")
	}
	// A second, untyped pass gives each entry's line, for the messages.
	var lines struct {
		Users []yaml.Node `yaml:"users"`
	}
	_ = yaml.Unmarshal(raw, &lines)

	dir := filepath.Dir(file)
	accounts := make(map[string]*account, len(doc.Users))
	for i, e := range doc.Users {
		where := fmt.Sprintf("entry %d", i+1)
		if i < len(lines.Users) {
			where += fmt.Sprintf(" (line %d)", lines.Users[i].Line)
		}
		if e.Username != "" {
			where += fmt.Sprintf(" %q", e.Username)
		}
		if err := e.Check(); err != nil {
			return nil, fail("%s: %v", where, err)
		}
		if _, dup := accounts[e.Username]; dup {
			return nil, fail("%s: username: %q appears more than once", where, e.Username)
		}
		cred, err := e.credential(dir, getenv)
		if err != nil {
			return nil, fail("%s: %v", where, err)
		}
		role, _ := ParseRole(e.Role) // checked above
		cost, _ := bcrypt.Cost([]byte(e.PasswordBcrypt))
		var patterns []string
		if e.DAGs != nil {
			patterns = append([]string(nil), e.DAGs...)
		}
		accounts[e.Username] = &account{
			principal: Principal{User: e.Username, Role: role, DAGPatterns: patterns, Credential: cred},
			hash:      []byte(e.PasswordBcrypt),
			cost:      cost,
			index:     i,
			entry:     UserEntry{Username: e.Username, Role: e.Role, FirstName: e.FirstName, LastName: e.LastName, Email: e.Email},
		}
	}
	return accounts, nil
}

var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlErrorLine turns yaml.v3's multi-line error into one line in the file's own terms.
func yamlErrorLine(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:")
	msg = unknownFieldRE.ReplaceAllString(msg, `unknown key "$1"`)
	msg = strings.ReplaceAll(msg, "gateway.usersFile", "a users file")
	msg = strings.ReplaceAll(msg, "gateway.UserEntry", "a user entry")
	return strings.Join(strings.Fields(msg), " ")
}

// FormatUserEntry renders e as one YAML list item, indented by two spaces so that it sits
// under a `users:` line, with the hash quoted.
func FormatUserEntry(e UserEntry) (string, error) {
	if err := e.Check(); err != nil {
		return "", err
	}
	var item yaml.Node
	if err := item.Encode(e); err != nil {
		return "", fmt.Errorf("encode user entry: %w", err)
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == "password_bcrypt" {
			// Quoted, so that no YAML reader or editor takes the '$' parts for anything else.
			item.Content[i+1].Style = yaml.DoubleQuotedStyle
		}
		if item.Content[i].Value == "dags" {
			item.Content[i+1].Style = yaml.FlowStyle
			for _, p := range item.Content[i+1].Content {
				p.Style = yaml.DoubleQuotedStyle // a glob may start with '*', a YAML alias
			}
		}
	}
	seq := yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{&item}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&seq); err != nil {
		return "", fmt.Errorf("encode user entry: %w", err)
	}
	_ = enc.Close()
	var out strings.Builder
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line != "" {
			out.WriteString("  " + line)
		}
	}
	return out.String(), nil
}
