package main

import (
	"strings"
	"testing"
)

// The credentials are marked sensitive (shown "< hidden >") and no value holds them.
func TestExposedConfigHidesCredentials(t *testing.T) {
	c := defaultConfig()
	c.PrefectAPIKey, c.PrefectAPIURL = "pnu_secret", "https://user:pw@prefect.example/api"
	c.JWTSecret = "jwt-signing-secret"
	found := map[string]bool{}
	for _, o := range exposedConfig(c) {
		found[o.Section+"."+o.Key] = true
		if (o.Key == "api_key" || o.Key == "api_auth_string" || o.Key == "jwt_secret") != o.Sensitive {
			t.Errorf("%s.%s sensitive=%v", o.Section, o.Key, o.Sensitive)
		}
		if !o.Sensitive && (strings.Contains(o.Value, "pnu_secret") || strings.Contains(o.Value, "pw@") || strings.Contains(o.Value, "jwt-signing")) {
			t.Errorf("%s.%s shows a credential: %q", o.Section, o.Key, o.Value)
		}
	}
	for _, k := range []string{"api.maximum_page_limit", "webserver.expose_config", "core.test_connection", "prefect.api_url"} {
		if !found[k] {
			t.Errorf("%s missing", k)
		}
	}
}
