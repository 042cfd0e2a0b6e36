package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
)

// Config is the gateway's configuration. Precedence: flags > environment > YAML file
// (--config or GATEWAY_CONFIG) > defaults. Upstream settings use Prefect's own variable names.
type Config struct {
	PrefectAPIURL          string        `yaml:"prefect_api_url"`
	PrefectAPIKey          string        `yaml:"prefect_api_key"`
	PrefectAPIAuthString   string        `yaml:"prefect_api_auth_string"`
	Listen                 string        `yaml:"listen"`
	UpstreamTimeout        time.Duration `yaml:"upstream_timeout"`
	ShutdownTimeout        time.Duration `yaml:"shutdown_timeout"`
	LogFormat              string        `yaml:"log_format"`
	JSONFormat             string        `yaml:"json_format"`
	LogLevel               string        `yaml:"log_level"`
	BodyLimit              string        `yaml:"body_limit"`
	MaxPageLimit           int           `yaml:"maximum_page_limit"`
	DAGCacheTTL            time.Duration `yaml:"dag_cache_ttl"`
	DAGMissCacheTTL        time.Duration `yaml:"dag_miss_cache_ttl"`
	MaxDAGIDLength         int           `yaml:"max_dag_id_length"`
	UpstreamMaxAttempts    int           `yaml:"upstream_max_attempts"`
	UpstreamMaxConcurrency int           `yaml:"upstream_max_concurrency"`
	UpstreamMaxPerCaller   int           `yaml:"upstream_max_per_caller"`
	AuthMode               string        `yaml:"auth_mode"`
	UsersFile              string        `yaml:"users_file"`
	PassthroughUpstream    string        `yaml:"passthrough_upstream"`
	PassthroughRole        string        `yaml:"passthrough_role"`
	AuthCacheTTL           time.Duration `yaml:"auth_cache_ttl"`
	// SensitiveVarConnNames is Airflow's [core] sensitive_var_conn_names: more words that
	// make a variable key or a connection-extra key secret-looking (comma-separated).
	SensitiveVarConnNames string `yaml:"sensitive_var_conn_names"`
	// ExposeConfig is Airflow's [webserver] expose_config: False, True or non-sensitive-only.
	ExposeConfig string `yaml:"expose_config"`
	// TestConnection is Airflow's [core] test_connection: Disabled, Enabled or Hidden.
	TestConnection       string        `yaml:"test_connection"`
	TrustedProxies       stringList    `yaml:"trusted_proxies"`
	LoginFailureBurst    int           `yaml:"login_failure_burst"`
	LoginFailureInterval time.Duration `yaml:"login_failure_interval"`

	// Tokens of Airflow 3's /auth/token (Airflow's [api_auth] options of the same names).
	JWTSecret            string        `yaml:"jwt_secret"`
	JWTSecretFile        string        `yaml:"jwt_secret_file"`
	JWTPrivateKeyFile    string        `yaml:"jwt_private_key_path"`
	JWTAlgorithm         string        `yaml:"jwt_algorithm"`
	JWTKeyID             string        `yaml:"jwt_kid"`
	JWTIssuer            string        `yaml:"jwt_issuer"`
	JWTAudience          string        `yaml:"jwt_audience"`
	JWTExpirationTime    time.Duration `yaml:"jwt_expiration_time"`
	JWTCLIExpirationTime time.Duration `yaml:"jwt_cli_expiration_time"`
	JWTLeeway            time.Duration `yaml:"jwt_leeway"`

	// Only in the file: maps that do not fit a flag or a variable.
	DAGAliases map[string]string   `yaml:"dag_aliases"` // dag_id → "flow/deployment"
	DAGOwners  map[string][]string `yaml:"dag_owners"`  // dag_id → owners
}

func defaultConfig() Config {
	return Config{
		PrefectAPIURL:          "http://127.0.0.1:4200/api",
		Listen:                 "127.0.0.1:8080",
		UpstreamTimeout:        30 * time.Second,
		ShutdownTimeout:        30 * time.Second,
		LogFormat:              "json",
		JSONFormat:             "airflow",
		LogLevel:               "info",
		BodyLimit:              "2M",
		MaxPageLimit:           100,
		DAGCacheTTL:            5 * time.Minute,
		DAGMissCacheTTL:        prefect.DefaultMissTTL,
		MaxDAGIDLength:         prefect.DefaultMaxDAGIDLength,
		AuthMode:               "users",
		UpstreamMaxAttempts:    8,
		UpstreamMaxConcurrency: 32,
		AuthCacheTTL:           time.Minute,
		ExposeConfig:           "False",
		JWTExpirationTime:      24 * time.Hour,
		JWTCLIExpirationTime:   time.Hour,
		JWTLeeway:              10 * time.Second,
		TestConnection:         gateway.TestConnectionDisabled,
		LoginFailureBurst:      gateway.DefaultLoginFailureBurst,
		LoginFailureInterval:   gateway.DefaultLoginFailureInterval,
	}
}

// setting is one scalar setting, reachable as a flag, an environment variable and a YAML key.
type setting struct {
	flag, env, usage string
	apply            func(c *Config, v string) error
}

func settings() []setting {
	str := func(dst func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *dst(c) = v; return nil }
	}
	dur := func(dst func(*Config) *time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is not a positive duration such as 30s", v)
			}
			*dst(c) = d
			return nil
		}
	}
	// Airflow writes its token lifetimes in seconds: a bare number is seconds, else a duration.
	seconds := func(dst func(*Config) *time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				*dst(c) = time.Duration(n) * time.Second
				return nil
			}
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is neither a number of seconds nor a positive duration such as 24h", v)
			}
			*dst(c) = d
			return nil
		}
	}
	positiveInt := func(dst func(*Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%q is not a positive integer", v)
			}
			*dst(c) = n
			return nil
		}
	}
	return []setting{
		{"prefect-api-url", "PREFECT_API_URL", "Prefect API root, e.g. http://127.0.0.1:4200/api or a Cloud workspace URL", str(func(c *Config) *string { return &c.PrefectAPIURL })},
		{"prefect-api-key", "PREFECT_API_KEY", "Prefect Cloud API key, sent as a bearer token (prefer the variable to the flag)", str(func(c *Config) *string { return &c.PrefectAPIKey })},
		{"prefect-api-auth-string", "PREFECT_API_AUTH_STRING", "self-hosted Prefect auth string user:pass, sent as Basic (prefer the variable)", str(func(c *Config) *string { return &c.PrefectAPIAuthString })},
		{"listen", "GATEWAY_LISTEN", "address to serve on", str(func(c *Config) *string { return &c.Listen })},
		{"upstream-timeout", "GATEWAY_UPSTREAM_TIMEOUT", "deadline of one Airflow request, Prefect calls included", dur(func(c *Config) *time.Duration { return &c.UpstreamTimeout })},
		{"shutdown-timeout", "GATEWAY_SHUTDOWN_TIMEOUT", "how long in-flight requests may finish after SIGTERM", dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{"log-format", "GATEWAY_LOG_FORMAT", "json or console", str(func(c *Config) *string { return &c.LogFormat })},
		{"json-format", "GATEWAY_JSON_FORMAT", "airflow (Airflow's indented, sorted-key JSON) or compact", str(func(c *Config) *string { return &c.JSONFormat })},
		{"log-level", "GATEWAY_LOG_LEVEL", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
		{"body-limit", "GATEWAY_BODY_LIMIT", "largest request body, e.g. 2M", str(func(c *Config) *string { return &c.BodyLimit })},
		{"maximum-page-limit", "GATEWAY_MAXIMUM_PAGE_LIMIT", "cap on Airflow's limit parameter (Airflow's [api] maximum_page_limit)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%q is not a positive integer", v)
			}
			c.MaxPageLimit = n
			return nil
		}},
		{"dag-cache-ttl", "GATEWAY_DAG_CACHE_TTL", "how long a resolved dag_id stays cached", dur(func(c *Config) *time.Duration { return &c.DAGCacheTTL })},
		{"dag-miss-cache-ttl", "GATEWAY_DAG_MISS_CACHE_TTL", "how long a dag_id no deployment answers to is remembered as unknown", dur(func(c *Config) *time.Duration { return &c.DAGMissCacheTTL })},
		{"max-dag-id-length", "GATEWAY_MAX_DAG_ID_LENGTH", "longest dag_id looked up in Prefect; longer ones are unknown at no cost (Airflow's ID_LEN is 250)", positiveInt(func(c *Config) *int { return &c.MaxDAGIDLength })},
		{"upstream-max-attempts", "GATEWAY_UPSTREAM_MAX_ATTEMPTS", "attempts of a retryable Prefect call (1 = no retries)", positiveInt(func(c *Config) *int { return &c.UpstreamMaxAttempts })},
		{"upstream-max-concurrency", "GATEWAY_UPSTREAM_MAX_CONCURRENCY", "Prefect calls in flight at once, and the ceiling of the adaptive bound on writes", positiveInt(func(c *Config) *int { return &c.UpstreamMaxConcurrency })},
		{"upstream-max-per-caller", "GATEWAY_UPSTREAM_MAX_PER_CALLER", "Prefect calls one caller (user, passthrough credential, or client address) may have in flight at once (default three quarters of the concurrency)", positiveInt(func(c *Config) *int { return &c.UpstreamMaxPerCaller })},
		{"auth-mode", "GATEWAY_AUTH_MODE", "users, passthrough or none", str(func(c *Config) *string { return &c.AuthMode })},
		{"users-file", "GATEWAY_USERS_FILE", "YAML users file for auth mode users", str(func(c *Config) *string { return &c.UsersFile })},
		{"passthrough-upstream", "GATEWAY_PASSTHROUGH_UPSTREAM", "auth mode passthrough: bearer (the Basic password is a Prefect API key) or basic (user:password is a self-hosted Prefect auth string)", str(func(c *Config) *string { return &c.PassthroughUpstream })},
		{"passthrough-role", "GATEWAY_PASSTHROUGH_ROLE", "auth mode passthrough: the Airflow role of every caller Prefect accepts (default Admin)", str(func(c *Config) *string { return &c.PassthroughRole })},
		{"trusted-proxies", "GATEWAY_TRUSTED_PROXIES", "comma-separated IPs or CIDR ranges of the proxies whose X-Forwarded-For is believed (default none)", func(c *Config, v string) error {
			c.TrustedProxies = splitList(v)
			return nil
		}},
		{"login-failure-burst", "GATEWAY_LOGIN_FAILURE_BURST", "failed logins allowed at once per username and per client, before 429s", positiveInt(func(c *Config) *int { return &c.LoginFailureBurst })},
		{"login-failure-interval", "GATEWAY_LOGIN_FAILURE_INTERVAL", "after the burst, one more failed login per username and per client each interval", dur(func(c *Config) *time.Duration { return &c.LoginFailureInterval })},
		{"auth-cache-ttl", "GATEWAY_AUTH_CACHE_TTL", "how long a verified password or a credential Prefect accepted is remembered", dur(func(c *Config) *time.Duration { return &c.AuthCacheTTL })},
		{"expose-config", "GATEWAY_EXPOSE_CONFIG", "GET /config shows the gateway's settings (secrets hidden): False (Airflow's 403), True or non-sensitive-only", str(func(c *Config) *string { return &c.ExposeConfig })},
		{"test-connection", "GATEWAY_TEST_CONNECTION", "POST /connections/test: Disabled (Airflow's 403), Hidden (the same) or Enabled (a TCP check of host and port)", str(func(c *Config) *string { return &c.TestConnection })},
		{"jwt-secret", "GATEWAY_JWT_SECRET", "key that signs Airflow 3 tokens (HS512; Airflow's [api_auth] jwt_secret); every replica needs the same (prefer the variable)", str(func(c *Config) *string { return &c.JWTSecret })},
		{"jwt-secret-file", "GATEWAY_JWT_SECRET_FILE", "file holding the token signing secret", str(func(c *Config) *string { return &c.JWTSecretFile })},
		{"jwt-private-key-path", "GATEWAY_JWT_PRIVATE_KEY_PATH", "PEM private key (RSA, ECDSA, Ed25519) that signs tokens instead of a secret (Airflow's jwt_private_key_path)", str(func(c *Config) *string { return &c.JWTPrivateKeyFile })},
		{"jwt-algorithm", "GATEWAY_JWT_ALGORITHM", "token algorithm (default HS512 for a secret; RS256, ES256/384/512 or EdDSA by key)", str(func(c *Config) *string { return &c.JWTAlgorithm })},
		{"jwt-kid", "GATEWAY_JWT_KID", "kid header of tokens signed with a private key", str(func(c *Config) *string { return &c.JWTKeyID })},
		{"jwt-issuer", "GATEWAY_JWT_ISSUER", "iss claim set in tokens and required back", str(func(c *Config) *string { return &c.JWTIssuer })},
		{"jwt-audience", "GATEWAY_JWT_AUDIENCE", "aud claim set in tokens and required back", str(func(c *Config) *string { return &c.JWTAudience })},
		{"jwt-expiration-time", "GATEWAY_JWT_EXPIRATION_TIME", "lifetime of POST /auth/token's tokens: seconds or a duration (default 86400)", seconds(func(c *Config) *time.Duration { return &c.JWTExpirationTime })},
		{"jwt-cli-expiration-time", "GATEWAY_JWT_CLI_EXPIRATION_TIME", "lifetime of POST /auth/token/cli's tokens: seconds or a duration (default 3600)", seconds(func(c *Config) *time.Duration { return &c.JWTCLIExpirationTime })},
		{"jwt-leeway", "GATEWAY_JWT_LEEWAY", "clock skew allowed on a token's times: seconds or a duration (default 10)", seconds(func(c *Config) *time.Duration { return &c.JWTLeeway })},
		{"sensitive-var-conn-names", "GATEWAY_SENSITIVE_VAR_CONN_NAMES", "comma-separated words, beside Airflow's own list, that make a variable or connection-extra key secret (Airflow's [core] sensitive_var_conn_names)", str(func(c *Config) *string { return &c.SensitiveVarConnNames })},
	}
}

// loadConfig reads the configuration from args, the environment and the file. Errors name
// the setting and where it came from, in one line.
// A --help (flag.ErrHelp) comes back as is, with nothing printed: the caller shows the help.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	cfg := defaultConfig()
	fs, configPath, values := serveFlags()
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	path := *configPath
	if path == "" {
		path = getenv("GATEWAY_CONFIG")
	}
	if path != "" {
		if err := readConfigFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	for _, s := range settings() {
		if v, ok := lookupEnv(getenv, s.env); ok {
			if err := s.apply(&cfg, v); err != nil {
				return cfg, fmt.Errorf("invalid %s: %w", s.env, err)
			}
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range settings() {
		if set[s.flag] {
			if err := s.apply(&cfg, *values[s.flag]); err != nil {
				return cfg, fmt.Errorf("invalid --%s: %w", s.flag, err)
			}
		}
	}
	return cfg, cfg.validate()
}

// serveFlags is the serve command's flag set: --config and one flag per setting, each
// naming its variable and its file key.
func serveFlags() (*flag.FlagSet, *string, map[string]*string) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	configPath := fs.String("config", "", "YAML configuration file (env GATEWAY_CONFIG)")
	keys := fileKeys()
	def := defaultConfig()
	defaults := fileFields(&def)
	values := map[string]*string{}
	for _, s := range settings() {
		where := "env " + s.env
		if k := keys[s.flag]; k != "" {
			where += ", file key " + k
			if v := reflect.ValueOf(defaults[k]).Elem(); !v.IsZero() {
				where += ", default " + fmt.Sprint(v.Interface())
			}
		}
		values[s.flag] = fs.String(s.flag, "", s.usage+" ("+where+")")
	}
	return fs, configPath, values
}

// fileKeys maps each flag to the YAML key of the same setting (the flag with '_' for '-',
// when Config has that key).
func fileKeys() map[string]string {
	var cfg Config
	fields := fileFields(&cfg)
	out := map[string]string{}
	for _, s := range settings() {
		if k := strings.ReplaceAll(s.flag, "-", "_"); fields[k] != nil {
			out[s.flag] = k
		}
	}
	return out
}

func lookupEnv(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

func readConfigFile(path string, cfg *Config) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("config file %s: %s", path, oneLine(err))
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s: line %d: want a mapping of settings", path, root.Line)
	}
	// Decode key by key so that an error names the setting it is about.
	fields := fileFields(cfg)
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		dst, ok := fields[key.Value]
		if !ok {
			return fmt.Errorf("config file %s: line %d: unknown setting %q", path, key.Line, key.Value)
		}
		if err := value.Decode(dst); err != nil {
			return fmt.Errorf("config file %s: line %d: invalid %s: %s", path, key.Line, key.Value, oneLine(err))
		}
	}
	return nil
}

// fileFields maps each YAML key of Config to the field it sets.
func fileFields(cfg *Config) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(cfg).Elem()
	for i := 0; i < v.NumField(); i++ {
		tag := v.Type().Field(i).Tag.Get("yaml")
		if name, _, _ := strings.Cut(tag, ","); name != "" && name != "-" {
			out[name] = v.Field(i).Addr().Interface()
		}
	}
	return out
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "yaml: unmarshal errors:", "")), " ")
}

func (c Config) validate() error {
	if _, err := prefect.New(prefect.Options{BaseURL: c.PrefectAPIURL}); err != nil {
		return fmt.Errorf("invalid PREFECT_API_URL: %w", err)
	}
	if c.PrefectAPIKey != "" && c.PrefectAPIAuthString != "" {
		return errors.New("invalid upstream credentials: set PREFECT_API_KEY (Cloud) or PREFECT_API_AUTH_STRING (self-hosted), not both")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("invalid GATEWAY_LISTEN %q: %w", c.Listen, err)
	}
	if _, err := gateway.ParseJSONFormat(c.JSONFormat); err != nil {
		return fmt.Errorf("invalid GATEWAY_JSON_FORMAT %q: want airflow or compact", c.JSONFormat)
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		return fmt.Errorf("invalid GATEWAY_LOG_FORMAT %q: want json or console", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("invalid GATEWAY_LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.AuthMode {
	case "users", "passthrough", "none":
	default:
		return fmt.Errorf("invalid GATEWAY_AUTH_MODE %q: want users, passthrough or none", c.AuthMode)
	}
	switch c.PassthroughUpstream {
	case "", gateway.PassthroughBearer, gateway.PassthroughBasic:
	default:
		return fmt.Errorf("invalid GATEWAY_PASSTHROUGH_UPSTREAM %q: want bearer or basic", c.PassthroughUpstream)
	}
	if c.PassthroughRole != "" {
		if _, err := gateway.ParseRole(c.PassthroughRole); err != nil {
			return fmt.Errorf("invalid GATEWAY_PASSTHROUGH_ROLE: %w", err)
		}
	}
	if c.UpstreamMaxAttempts < 1 || c.UpstreamMaxConcurrency < 1 {
		return fmt.Errorf("invalid GATEWAY_UPSTREAM_MAX_ATTEMPTS/GATEWAY_UPSTREAM_MAX_CONCURRENCY (%d/%d): must be at least 1", c.UpstreamMaxAttempts, c.UpstreamMaxConcurrency)
	}
	switch strings.ToLower(c.ExposeConfig) {
	case "false", "true", "non-sensitive-only":
	default:
		return fmt.Errorf("invalid GATEWAY_EXPOSE_CONFIG %q: want False, True or non-sensitive-only", c.ExposeConfig)
	}
	switch strings.ToLower(c.TestConnection) {
	case "disabled", "enabled", "hidden":
	default:
		return fmt.Errorf("invalid GATEWAY_TEST_CONNECTION %q: want Disabled, Enabled or Hidden", c.TestConnection)
	}
	if c.LoginFailureBurst < 1 {
		return fmt.Errorf("invalid GATEWAY_LOGIN_FAILURE_BURST %d: must be at least 1", c.LoginFailureBurst)
	}
	if c.MaxDAGIDLength < 1 {
		return fmt.Errorf("invalid GATEWAY_MAX_DAG_ID_LENGTH %d: must be at least 1", c.MaxDAGIDLength)
	}
	if c.MaxPageLimit < 1 {
		return fmt.Errorf("invalid GATEWAY_MAXIMUM_PAGE_LIMIT %d: must be at least 1", c.MaxPageLimit)
	}
	if _, err := gateway.ParseTrustedProxies(strings.Join(c.TrustedProxies, ",")); err != nil {
		return fmt.Errorf("invalid GATEWAY_TRUSTED_PROXIES: %w", err)
	}
	for name, d := range map[string]time.Duration{"GATEWAY_UPSTREAM_TIMEOUT": c.UpstreamTimeout,
		"GATEWAY_SHUTDOWN_TIMEOUT": c.ShutdownTimeout, "GATEWAY_DAG_CACHE_TTL": c.DAGCacheTTL,
		"GATEWAY_DAG_MISS_CACHE_TTL": c.DAGMissCacheTTL,
		"GATEWAY_AUTH_CACHE_TTL":     c.AuthCacheTTL, "GATEWAY_LOGIN_FAILURE_INTERVAL": c.LoginFailureInterval} {
		if d <= 0 {
			return fmt.Errorf("invalid %s %s: must be positive", name, d)
		}
	}
	// A bare number in the YAML file decodes as nanoseconds: no token lives under a second.
	for name, d := range map[string]time.Duration{"GATEWAY_JWT_EXPIRATION_TIME": c.JWTExpirationTime,
		"GATEWAY_JWT_CLI_EXPIRATION_TIME": c.JWTCLIExpirationTime, "GATEWAY_JWT_LEEWAY": c.JWTLeeway} {
		if d < time.Second {
			return fmt.Errorf("invalid %s %s: at least a second; in the file write a duration such as 86400s or 24h", name, d)
		}
	}
	if c.JWTSecret != "" && (c.JWTSecretFile != "" || c.JWTPrivateKeyFile != "") {
		return fmt.Errorf("invalid token key: set one of GATEWAY_JWT_SECRET, GATEWAY_JWT_SECRET_FILE and GATEWAY_JWT_PRIVATE_KEY_PATH")
	}
	return nil
}

// upstreamCredential is the gateway's own Prefect credential.
func (c Config) upstreamCredential() prefect.Credential {
	switch {
	case c.PrefectAPIKey != "":
		return prefect.BearerCredential(c.PrefectAPIKey)
	case c.PrefectAPIAuthString != "":
		return prefect.BasicCredential(c.PrefectAPIAuthString)
	}
	return prefect.Credential{}
}

// stringList is a list setting: comma-separated in a flag or a variable, a YAML sequence or
// a comma-separated string in the file.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = splitList(n.Value)
		return nil
	case yaml.SequenceNode:
		var items []string
		if err := n.Decode(&items); err != nil {
			return err
		}
		*l = splitList(strings.Join(items, ","))
		return nil
	}
	return fmt.Errorf("line %d: want a list or a comma-separated string", n.Line)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
