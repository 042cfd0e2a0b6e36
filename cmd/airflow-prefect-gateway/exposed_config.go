package main

import (
	"net/url"
	"strconv"

	"airflow-prefect-gateway/gateway"
)

// exposedConfig is what GET /api/v1/config shows when expose_config allows it: the gateway's
// resolved settings, in Airflow's section/option shape. The settings Airflow also has keep
// Airflow's section and name ([api] maximum_page_limit, [core] test_connection, ...); the
// others are under [gateway] and [prefect] with their file keys. Credentials are marked
// sensitive and shown as "< hidden >", whatever expose_config says.
func exposedConfig(c Config) []gateway.ConfigOption {
	opt := func(section, key, value string) gateway.ConfigOption {
		return gateway.ConfigOption{Section: section, Key: key, Value: value}
	}
	secret := func(section, key, value string) gateway.ConfigOption {
		return gateway.ConfigOption{Section: section, Key: key, Value: value, Sensitive: true}
	}
	return []gateway.ConfigOption{
		opt("core", "test_connection", c.TestConnection),
		opt("core", "sensitive_var_conn_names", c.SensitiveVarConnNames),
		opt("api", "maximum_page_limit", strconv.Itoa(c.MaxPageLimit)),
		opt("webserver", "expose_config", c.ExposeConfig),
		opt("gateway", "listen", c.Listen),
		opt("gateway", "upstream_timeout", c.UpstreamTimeout.String()),
		opt("gateway", "shutdown_timeout", c.ShutdownTimeout.String()),
		opt("gateway", "log_format", c.LogFormat),
		opt("gateway", "log_level", c.LogLevel),
		opt("gateway", "body_limit", c.BodyLimit),
		opt("gateway", "dag_cache_ttl", c.DAGCacheTTL.String()),
		opt("gateway", "upstream_max_attempts", strconv.Itoa(c.UpstreamMaxAttempts)),
		opt("gateway", "upstream_max_concurrency", strconv.Itoa(c.UpstreamMaxConcurrency)),
		opt("gateway", "auth_mode", c.AuthMode),
		opt("gateway", "users_file", c.UsersFile),
		opt("gateway", "passthrough_upstream", c.PassthroughUpstream),
		opt("gateway", "passthrough_role", c.PassthroughRole),
		opt("gateway", "auth_cache_ttl", c.AuthCacheTTL.String()),
		secret("api_auth", "jwt_secret", c.JWTSecret),
		opt("api_auth", "jwt_secret_file", c.JWTSecretFile),
		opt("api_auth", "jwt_private_key_path", c.JWTPrivateKeyFile),
		opt("api_auth", "jwt_algorithm", c.JWTAlgorithm),
		opt("api_auth", "jwt_kid", c.JWTKeyID),
		opt("api_auth", "jwt_issuer", c.JWTIssuer),
		opt("api_auth", "jwt_audience", c.JWTAudience),
		opt("api_auth", "jwt_expiration_time", strconv.Itoa(int(c.JWTExpirationTime.Seconds()))),
		opt("api_auth", "jwt_cli_expiration_time", strconv.Itoa(int(c.JWTCLIExpirationTime.Seconds()))),
		opt("api_auth", "jwt_leeway", strconv.Itoa(int(c.JWTLeeway.Seconds()))),
		opt("prefect", "api_url", withoutUserinfo(c.PrefectAPIURL)),
		secret("prefect", "api_key", c.PrefectAPIKey),
		secret("prefect", "api_auth_string", c.PrefectAPIAuthString),
	}
}

// withoutUserinfo drops a user:password@ part from a URL, which would be a credential.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
