package gateway

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"airflow-prefect-gateway/prefect"
)

// POST /auth/token and /auth/token/cli answer as Airflow 3's simple auth manager does.
func TestTokenEndpoints(t *testing.T) {
	e := newV2Env(t)
	for _, tc := range []struct {
		name, path, body, contentType string
		status                        int
		detail                        any // nil: a token is expected
	}{
		{"json", "/auth/token", `{"username":"admin","password":"admin-pw"}`, "application/json", 201, nil},
		{"form", "/auth/token", "username=viewer&password=viewer-pw", "application/x-www-form-urlencoded", 201, nil},
		{"no content type is JSON", "/auth/token", `{"username":"admin","password":"admin-pw"}`, "", 201, nil},
		{"cli", "/auth/token/cli", `{"username":"op","password":"op-pw"}`, "application/json", 201, nil},
		{"wrong password", "/auth/token", `{"username":"admin","password":"nope"}`, "application/json", 401, "Invalid credentials"},
		{"unknown user", "/auth/token", `{"username":"ghost","password":"x"}`, "application/json", 401, "Invalid credentials"},
		{"empty password", "/auth/token", `{"username":"admin","password":""}`, "application/json", 400, "Username and password must be provided"},
		{"text", "/auth/token", `username=admin`, "text/plain", 415, "Only application/json or application/x-www-form-urlencoded is supported"},
		{"missing field", "/auth/token", `{"username":"admin"}`, "application/json", 422,
			[]any{map[string]any{"type": "missing", "loc": []any{"body", "password"}, "msg": "Field required", "input": map[string]any{"username": "admin"}}}},
		{"extra field", "/auth/token", `{"username":"admin","password":"admin-pw","role":"Admin"}`, "application/json", 422,
			[]any{map[string]any{"type": "extra_forbidden", "loc": []any{"body", "role"}, "msg": "Extra inputs are not permitted", "input": "Admin"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := []string{}
			if tc.contentType != "" {
				h = append(h, "Content-Type", tc.contentType)
			}
			a := e.send(http.MethodPost, tc.path, tc.body, h...)
			if a.status != tc.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, tc.status)
			}
			if tc.detail != nil {
				if got := a.detail(t); !reflect.DeepEqual(got, tc.detail) {
					t.Errorf("detail %v, want %v", got, tc.detail)
				}
				return
			}
			var tok loginResponse
			a.decode(t, &tok)
			claims := decodeClaims(t, tok.AccessToken)
			lifetime := time.Duration(claims["exp"].(float64)-claims["iat"].(float64)) * time.Second
			want := 24 * time.Hour
			if tc.path == "/auth/token/cli" {
				want = time.Hour
			}
			if lifetime != want || claims["sub"] == "" || claims["jti"] == "" || claims["nbf"] == nil {
				t.Errorf("claims %v (lifetime %v, want %v)", claims, lifetime, want)
			}
			if _, sealed := claims[credentialClaim]; sealed {
				t.Error("a users-mode token carries a credential")
			}
		})
	}
	// The CLI endpoint's body is a plain model: FastAPI's list, password never quoted back.
	e.noCheck = false
	a := e.send(http.MethodPost, "/auth/token/cli", `{"password":"s3cret","x":1}`, "Content-Type", "application/json")
	if a.status != 422 || strings.Contains(string(a.body), "s3cret") {
		t.Errorf("cli without username: %d %s", a.status, a.body)
	}
	if a := e.send(http.MethodGet, "/auth/token", ""); a.status != 403 {
		t.Errorf("GET /auth/token outside mode none: %d %s", a.status, a.body)
	}
}

func decodeClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// Bearer tokens on /api/v2 answer Airflow 3's 401 and 403 bodies.
func TestBearerAuthentication(t *testing.T) {
	e := newV2Env(t)
	e.login("viewer")
	good := e.token
	other, err := newTokens(JWTOptions{Secret: "another secret, another gateway, 32+ bytes"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.issue(&Principal{User: "admin", Role: RoleAdmin}, time.Hour)
	expired, _ := e.srv.tokens.issue(&Principal{User: "viewer", Role: RoleViewer}, -time.Hour)
	ghost, _ := e.srv.tokens.issue(&Principal{User: "ghost", Role: RoleAdmin}, time.Hour)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "admin", "exp": time.Now().Add(time.Hour).Unix()})
	unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	for _, tc := range []struct {
		name   string
		header []string
		status int
		detail string
	}{
		{"token", []string{"Authorization", "Bearer " + good}, 200, ""},
		{"lower-case scheme", []string{"Authorization", "bearer " + good}, 200, ""},
		{"cookie", []string{"Cookie", "_token=" + good}, 200, ""},
		{"nothing", nil, 401, "Not authenticated"},
		{"basic is not a token", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin-pw"))}, 401, "Not authenticated"},
		{"expired", []string{"Authorization", "Bearer " + expired}, 401, "Token Expired"},
		{"another key", []string{"Authorization", "Bearer " + foreign}, 403, "Invalid JWT token"},
		{"alg none", []string{"Authorization", "Bearer " + unsigned}, 403, "Invalid JWT token"},
		{"garbage", []string{"Authorization", "Bearer abc.def.ghi"}, 403, "Invalid JWT token"},
		{"user not in the file", []string{"Authorization", "Bearer " + ghost}, 403, "Invalid JWT token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.send(http.MethodGet, "/api/v2/dags", "", tc.header...)
			if a.status != tc.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, tc.status)
			}
			if tc.detail != "" {
				if got := a.detail(t); got != tc.detail {
					t.Errorf("detail %q, want %q", got, tc.detail)
				}
				if a.header.Get("WWW-Authenticate") != "" {
					t.Error("Airflow 3 sends no challenge")
				}
			}
		})
	}
	// The role is the users file's: a Viewer's token cannot pause.
	e.token = good
	if a := e.do(http.MethodPatch, "/api/v2/dags/etl.daily", `{"is_paused":true}`); a.status != 403 || a.detail(t) != "Forbidden" {
		t.Errorf("viewer pausing: %d %s", a.status, a.body)
	}
	// Open routes need no token.
	e.token = ""
	for _, p := range []string{"/api/v2/version", "/api/v2/monitor/health", "/openapi.json"} {
		if a := e.do(http.MethodGet, p, ""); a.status != 200 {
			t.Errorf("%s: %d", p, a.status)
		}
	}
}

// In passthrough the token carries the caller's Prefect credential sealed: the claim does
// not show it, another key cannot open it, and the gateway sends it on to Prefect.
func TestPassthroughTokenSealsTheCredential(t *testing.T) {
	const apiKey = "pnu_caller-key-0123456789"
	var seen []string
	e := newV2Env(t, func(o *Options) { o.Auth = AuthOptions{Mode: AuthModePassthrough} })
	e.fake.onRequest = func(w http.ResponseWriter, r *http.Request) bool {
		seen = append(seen, r.Header.Get("Authorization"))
		return false
	}
	a := e.send(http.MethodPost, "/auth/token", `{"username":"me","password":"`+apiKey+`"}`, "Content-Type", "application/json")
	if a.status != 201 {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	var tok loginResponse
	a.decode(t, &tok)
	if strings.Contains(tok.AccessToken, apiKey) || strings.Contains(string(mustDecodeSegment(t, tok.AccessToken)), apiKey) {
		t.Fatal("the API key is readable in the token")
	}
	claims := decodeClaims(t, tok.AccessToken)
	if claims[credentialClaim] == nil {
		t.Fatalf("no sealed credential: %v", claims)
	}
	seen = nil
	e.token = tok.AccessToken
	if a := e.do(http.MethodGet, "/api/v2/dags", ""); a.status != 200 {
		t.Fatalf("list with the token: %d %s", a.status, a.body)
	}
	if len(seen) == 0 || seen[0] != "Bearer "+apiKey {
		t.Errorf("Prefect saw %v, want the caller's key", seen)
	}
	// The sealed claim is bound to its token (jti): moved into another token it does not open.
	cred, err := e.srv.tokens.open(claims[credentialClaim].(string), claims["jti"].(string))
	if err != nil || cred != prefect.BearerCredential(apiKey) {
		t.Fatalf("open: %v %v", cred, err)
	}
	if _, err := e.srv.tokens.open(claims[credentialClaim].(string), "another-jti"); err == nil {
		t.Error("the credential opened under another token id")
	}
}

func mustDecodeSegment(t *testing.T, tok string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Keys and algorithms: a secret (HS512 by default, from a file too), and private keys of
// each kind with Airflow's default algorithm for it; mismatches stop the start.
func TestTokenKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, key any) string {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("a secret kept in a file, long enough\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts JWTOptions
		alg  string
		fail bool
	}{
		{"secret", JWTOptions{Secret: "0123456789abcdef0123456789abcdef"}, "HS512", false},
		{"secret file", JWTOptions{SecretFile: secretFile}, "HS512", false},
		{"HS256", JWTOptions{Secret: "0123456789abcdef0123456789abcdef", Algorithm: "HS256"}, "HS256", false},
		{"random", JWTOptions{}, "HS512", false},
		{"rsa", JWTOptions{PrivateKeyFile: write("rsa.pem", rsaKey), KeyID: "k1"}, "RS256", false},
		{"ed25519", JWTOptions{PrivateKeyFile: write("ed.pem", edKey)}, "EdDSA", false},
		{"ecdsa", JWTOptions{PrivateKeyFile: write("ec.pem", ecKey)}, "ES384", false},
		{"secret and key", JWTOptions{Secret: "x", PrivateKeyFile: write("rsa2.pem", rsaKey)}, "", true},
		{"RS256 with a secret", JWTOptions{Secret: "0123456789abcdef0123456789abcdef", Algorithm: "RS256"}, "", true},
		{"ES256 with a P-384 key", JWTOptions{PrivateKeyFile: write("ec2.pem", ecKey), Algorithm: "ES256"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := newTokens(tc.opts, zap.NewNop())
			if tc.fail {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cred := prefect.BasicCredential("user:pass")
			raw, err := tk.issue(&Principal{User: "u", Role: RoleOp, Credential: &cred}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			tok, _, _ := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
			if tok.Method.Alg() != tc.alg {
				t.Errorf("alg %s, want %s", tok.Method.Alg(), tc.alg)
			}
			claims, err := tk.verify(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := tk.open(claims.Credential, claims.ID); err != nil || got != cred {
				t.Errorf("credential %v %v", got, err)
			}
		})
	}
}

// Issuer and audience, when configured, are set and required; leeway covers clock skew.
func TestTokenClaimsChecks(t *testing.T) {
	base := JWTOptions{Secret: "0123456789abcdef0123456789abcdef", Issuer: "https://gw", Audience: "airflow"}
	tk, err := newTokens(base, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tk.issue(&Principal{User: "u", Role: RoleViewer}, time.Minute)
	if _, err := tk.verify(raw); err != nil {
		t.Fatal(err)
	}
	for _, o := range []JWTOptions{
		{Secret: base.Secret, Issuer: "https://other", Audience: "airflow"},
		{Secret: base.Secret, Issuer: "https://gw", Audience: "other"},
	} {
		other, _ := newTokens(o, zap.NewNop())
		if _, err := other.verify(raw); err == nil {
			t.Errorf("%+v accepted a token for another issuer or audience", o)
		}
	}
	// 5 s past expiry is within the default 10 s leeway; 20 s is not.
	now := time.Now()
	tk.now = func() time.Time { return now }
	short, _ := tk.issue(&Principal{User: "u", Role: RoleViewer}, time.Second)
	tk.now = func() time.Time { return now.Add(6 * time.Second) }
	if _, err := tk.verify(short); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	tk.now = func() time.Time { return now.Add(20 * time.Second) }
	if _, err := tk.verify(short); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("past leeway: %v", err)
	}
}

// Login throttling (login_backoff.go) covers /auth/token as it covers HTTP Basic: past the
// burst of wrong passwords a 429 with Retry-After, in Airflow 3's shape.
func TestTokenLoginIsThrottled(t *testing.T) {
	e := newV2Env(t, func(o *Options) { o.Auth.LoginFailureBurst, o.Auth.LoginFailureInterval = 3, time.Hour })
	var last v2Answer
	for i := 0; i < 5; i++ {
		last = e.send(http.MethodPost, "/auth/token", `{"username":"admin","password":"wrong"}`, "Content-Type", "application/json")
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("after 5 wrong passwords: %d %s", last.status, last.body)
	}
	if _, ok := last.detail(t).(string); !ok {
		t.Errorf("429 body: %s", last.body)
	}
}
