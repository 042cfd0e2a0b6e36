package prefect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"airflow-prefect-gateway/prefect/wire"
)

// echoingPrefect refuses every call with an error that quotes the request's credentials, the
// way some proxies and debug builds do.
func echoingPrefect(status int, asJSON bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		decoded := ""
		if enc, ok := strings.CutPrefix(auth, "Basic "); ok {
			raw, _ := base64.StdEncoding.DecodeString(enc)
			decoded = string(raw)
		}
		msg := "refused: Authorization=" + auth + " decoded=" + decoded + " escaped=" + url.QueryEscape(decoded) +
			" key=" + strings.TrimPrefix(auth, "Bearer ")
		w.WriteHeader(status)
		if asJSON {
			_ = json.NewEncoder(w).Encode(map[string]string{"detail": msg})
		} else {
			_, _ = w.Write([]byte(msg))
		}
	}))
}

func TestUpstreamErrorsNeverCarryCredentials(t *testing.T) {
	cases := []struct {
		name    string
		cred    Credential
		perCall *Credential
		userURL string // user:password@ in PREFECT_API_URL
		secrets []string
	}{
		{name: "the gateway's API key", cred: BearerCredential("pnu_gatewayKeyABCDEF123456"), secrets: []string{"pnu_gatewayKeyABCDEF123456"}},
		{name: "the gateway's auth string", cred: BasicCredential("admin:s3cret-Pass/word"),
			secrets: []string{"s3cret-Pass/word", base64.StdEncoding.EncodeToString([]byte("admin:s3cret-Pass/word")), url.QueryEscape("s3cret-Pass/word")}},
		{name: "a password in PREFECT_API_URL", userURL: "ops:urlPassw0rd!", secrets: []string{"urlPassw0rd!",
			base64.StdEncoding.EncodeToString([]byte("ops:urlPassw0rd!")), url.QueryEscape("urlPassw0rd!")}},
		{name: "a caller's own key", perCall: &Credential{Mode: AuthBearer, Secret: "pnu_callerKey987654321"}, secrets: []string{"pnu_callerKey987654321"}},
	}
	for _, tc := range cases {
		for _, shape := range []struct {
			status int
			json   bool
		}{{400, true}, {422, true}, {500, false}, {403, true}} {
			hs := echoingPrefect(shape.status, shape.json)
			base := hs.URL + "/api"
			if tc.userURL != "" {
				base = strings.Replace(base, "http://", "http://"+tc.userURL+"@", 1)
			}
			c, err := New(Options{BaseURL: base, Credential: tc.cred, MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.perCall != nil {
				ctx = WithCredential(ctx, *tc.perCall)
			}
			_, err = c.FilterDeployments(ctx, wireQuery())
			hs.Close()
			if err == nil {
				t.Fatalf("%s: no error", tc.name)
			}
			pe, _ := AsError(err)
			for _, text := range []string{err.Error(), pe.Message} {
				for _, s := range tc.secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s, Prefect %d: the error carries %q: %s", tc.name, shape.status, s, text)
					}
				}
			}
			if !strings.Contains(pe.Message, "refused") || !strings.Contains(pe.Message, redacted) {
				t.Errorf("%s, Prefect %d: message %q lost Prefect's words or was not redacted", tc.name, shape.status, pe.Message)
			}
		}
	}
}

func TestDisplayURLHidesThePassword(t *testing.T) {
	c, err := New(Options{BaseURL: "http://ops:urlPassw0rd@prefect:4200/api"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.DisplayURL(); strings.Contains(got, "urlPassw0rd") || !strings.Contains(got, "prefect:4200") {
		t.Errorf("DisplayURL = %q", got)
	}
	if _, err := New(Options{BaseURL: "ftp://ops:urlPassw0rd@prefect/api"}); err == nil || strings.Contains(err.Error(), "urlPassw0rd") {
		t.Errorf("a refused URL's error shows its password: %v", err)
	}
}

func wireQuery() wire.Query { return wire.Query{} }
