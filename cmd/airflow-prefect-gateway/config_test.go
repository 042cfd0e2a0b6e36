package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(file, []byte(`
prefect_api_url: http://file:4200/api
listen: 127.0.0.1:7000
upstream_timeout: 12s
log_level: warn
dag_aliases:
  legacy_etl: etl/daily
dag_owners:
  etl.daily: [data-team]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c Config) {
			if c.PrefectAPIURL != "http://127.0.0.1:4200/api" || c.Listen != "127.0.0.1:8080" || c.AuthMode != "users" || c.MaxPageLimit != 100 ||
				c.UpstreamMaxAttempts != 8 || c.UpstreamMaxConcurrency != 32 {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{"file", []string{"--config", file}, nil, func(t *testing.T, c Config) {
			if c.PrefectAPIURL != "http://file:4200/api" || c.Listen != "127.0.0.1:7000" || c.UpstreamTimeout != 12*time.Second ||
				c.LogLevel != "warn" || c.DAGAliases["legacy_etl"] != "etl/daily" || c.DAGOwners["etl.daily"][0] != "data-team" {
				t.Errorf("file: %+v", c)
			}
		}},
		{"file from GATEWAY_CONFIG", nil, map[string]string{"GATEWAY_CONFIG": file}, func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:7000" {
				t.Errorf("GATEWAY_CONFIG not read: %+v", c)
			}
		}},
		{"env beats file", []string{"--config", file}, map[string]string{"PREFECT_API_URL": "http://env:1/api", "GATEWAY_UPSTREAM_TIMEOUT": "3s"}, func(t *testing.T, c Config) {
			if c.PrefectAPIURL != "http://env:1/api" || c.UpstreamTimeout != 3*time.Second || c.Listen != "127.0.0.1:7000" {
				t.Errorf("env over file: %+v", c)
			}
		}},
		{"flag beats env", []string{"--config", file, "--prefect-api-url", "http://flag:2/api"}, map[string]string{"PREFECT_API_URL": "http://env:1/api"}, func(t *testing.T, c Config) {
			if c.PrefectAPIURL != "http://flag:2/api" {
				t.Errorf("flag over env: %+v", c)
			}
		}},
		{"upstream limits", []string{"--upstream-max-concurrency", "64"}, map[string]string{"GATEWAY_UPSTREAM_MAX_ATTEMPTS": "3"}, func(t *testing.T, c Config) {
			if c.UpstreamMaxAttempts != 3 || c.UpstreamMaxConcurrency != 64 {
				t.Errorf("upstream limits: attempts %d, concurrency %d", c.UpstreamMaxAttempts, c.UpstreamMaxConcurrency)
			}
		}},
		{"upstream credential", nil, map[string]string{"PREFECT_API_KEY": "pnu_x"}, func(t *testing.T, c Config) {
			if cred := c.upstreamCredential(); cred.Mode.String() != "bearer" || cred.Secret != "pnu_x" {
				t.Errorf("credential %v", cred)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(tc.args, envOf(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestBadSettingNamesItself(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	_ = os.WriteFile(typo, []byte("listen_addr: x\n"), 0o600)
	badDur := filepath.Join(dir, "dur.yaml")
	_ = os.WriteFile(badDur, []byte("upstream_timeout: soon\n"), 0o600)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad url", nil, map[string]string{"PREFECT_API_URL": "localhost:4200"}, "PREFECT_API_URL"},
		{"bad timeout flag", []string{"--upstream-timeout", "-1s"}, nil, "--upstream-timeout"},
		{"bad timeout env", nil, map[string]string{"GATEWAY_UPSTREAM_TIMEOUT": "x"}, "GATEWAY_UPSTREAM_TIMEOUT"},
		{"bad log level", nil, map[string]string{"GATEWAY_LOG_LEVEL": "loud"}, "GATEWAY_LOG_LEVEL"},
		{"bad log format", []string{"--log-format", "xml"}, nil, "GATEWAY_LOG_FORMAT"},
		{"bad listen", []string{"--listen", "nocolon"}, nil, "GATEWAY_LISTEN"},
		{"bad auth mode", nil, map[string]string{"GATEWAY_AUTH_MODE": "maybe"}, "GATEWAY_AUTH_MODE"},
		{"bad max attempts", nil, map[string]string{"GATEWAY_UPSTREAM_MAX_ATTEMPTS": "0"}, "GATEWAY_UPSTREAM_MAX_ATTEMPTS"},
		{"bad max concurrency", []string{"--upstream-max-concurrency", "lots"}, nil, "--upstream-max-concurrency"},
		{"bad page limit", nil, map[string]string{"GATEWAY_MAXIMUM_PAGE_LIMIT": "0"}, "GATEWAY_MAXIMUM_PAGE_LIMIT"},
		{"both credentials", nil, map[string]string{"PREFECT_API_KEY": "a", "PREFECT_API_AUTH_STRING": "b:c"}, "PREFECT_API_KEY"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "config file"},
		{"unknown key in file", []string{"--config", typo}, nil, "listen_addr"},
		{"bad duration in file", []string{"--config", badDur}, nil, "upstream_timeout"},
		{"stray argument", []string{"serve-now"}, nil, "serve-now"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(tc.args, envOf(tc.env), io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q should be one line naming %s", msg, tc.want)
			}
		})
	}
}

// Token lifetimes are Airflow's seconds or Go durations; in the file a bare number would be
// refused (YAML will not read it as a duration).
func TestJWTLifetimes(t *testing.T) {
	env := map[string]string{"GATEWAY_AUTH_MODE": "none", "GATEWAY_JWT_EXPIRATION_TIME": "600", "GATEWAY_JWT_CLI_EXPIRATION_TIME": "2h"}
	cfg, err := loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWTExpirationTime != 10*time.Minute || cfg.JWTCLIExpirationTime != 2*time.Hour || cfg.JWTLeeway != 10*time.Second {
		t.Errorf("%v %v %v", cfg.JWTExpirationTime, cfg.JWTCLIExpirationTime, cfg.JWTLeeway)
	}
	file := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(file, []byte("auth_mode: none\njwt_expiration_time: 86400\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig([]string{"--config", file}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "jwt_expiration_time") {
		t.Errorf("a bare number in the file: %v", err)
	}
}
