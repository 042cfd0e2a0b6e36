package gateway

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"airflow-prefect-gateway/prefect"
)

// Airflow 3's tokens, signed and checked by the gateway (DESIGN §3: "JWT (v2) ↔ the same
// users file and roles"). As Airflow's [api_auth] section:
//
//   - HS512 with a shared secret by default (jwt_secret); an RSA, ECDSA or Ed25519 private
//     key instead (jwt_private_key_path), RS256 / ES256.. / EdDSA unless an algorithm is named;
//   - claims jti, nbf, iat, exp (all required on the way back in), iss and aud when configured,
//     sub (the username) and role (the Airflow role at issue time, for clients that read it);
//   - lifetimes jwt_expiration_time (24 h) and jwt_cli_expiration_time (1 h), leeway 10 s.
//
// Without a configured key the gateway makes a random one per process and says so: tokens
// then die with the process and another replica refuses them.
//
// A token is a reference to a user, never a copy: the user's role, DAG limits and Prefect
// credential come from the users file at each request, so a user removed from the file loses
// access at the next reload, whatever tokens they hold.
//
// Passthrough (the caller's Prefect credential is their identity) must carry the credential
// in the token, which any holder can decode: it travels sealed in the claim "pfc", AES-256-GCM
// under a key derived (HKDF-SHA256) from the signing key, with the token's jti as associated
// data, so the credential can be read only by a gateway that could have signed the token,
// and a sealed credential cannot be moved into another token.

// JWTOptions configure the tokens of /auth/token (the names of Airflow's [api_auth] options).
type JWTOptions struct {
	// Secret is jwt_secret; SecretFile names a file holding it (trailing newline ignored).
	Secret     string
	SecretFile string
	// PrivateKeyFile is jwt_private_key_path: a PEM private key (PKCS#8, PKCS#1 or SEC 1).
	PrivateKeyFile string
	// Algorithm is jwt_algorithm; default HS512 for a secret, RS256 for RSA, ES256/384/512
	// for the ECDSA curves, EdDSA for Ed25519.
	Algorithm string
	// KeyID is jwt_kid, the kid header of tokens signed with a private key.
	KeyID string
	// Issuer and Audience are jwt_issuer and jwt_audience: set in tokens and required back.
	Issuer   string
	Audience string
	// ExpirationTime and CLIExpirationTime are the lifetimes of /auth/token's and
	// /auth/token/cli's tokens (defaults 24 h and 1 h, as Airflow's).
	ExpirationTime    time.Duration
	CLIExpirationTime time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat (default 10 s).
	Leeway time.Duration
}

const (
	defaultJWTExpiration    = 24 * time.Hour
	defaultJWTCLIExpiration = time.Hour
	defaultJWTLeeway        = 10 * time.Second
	credentialClaim         = "pfc"
)

// tokens signs and checks the gateway's JWTs.
type tokens struct {
	method     jwt.SigningMethod
	signKey    any // []byte or crypto.Signer
	verifyKey  any // []byte or crypto.PublicKey
	kid        string
	issuer     string
	audience   string
	expiry     time.Duration
	cliExpiry  time.Duration
	parser     *jwt.Parser
	credential cipher.AEAD
	now        func() time.Time
}

func newTokens(o JWTOptions, log *zap.Logger) (*tokens, error) {
	t := &tokens{issuer: o.Issuer, audience: o.Audience, kid: o.KeyID, expiry: o.ExpirationTime,
		cliExpiry: o.CLIExpirationTime, now: time.Now}
	if t.expiry <= 0 {
		t.expiry = defaultJWTExpiration
	}
	if t.cliExpiry <= 0 {
		t.cliExpiry = defaultJWTCLIExpiration
	}
	leeway := o.Leeway
	if leeway <= 0 {
		leeway = defaultJWTLeeway
	}
	secret := []byte(o.Secret)
	if o.SecretFile != "" {
		if o.Secret != "" {
			return nil, errors.New("jwt: set the secret or the secret file, not both")
		}
		b, err := os.ReadFile(o.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("jwt secret file: %w", err)
		}
		secret = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(secret) == 0 {
			return nil, fmt.Errorf("jwt secret file %s is empty", o.SecretFile)
		}
	}
	var keyMaterial []byte // what the credential key is derived from
	switch {
	case o.PrivateKeyFile != "" && len(secret) > 0:
		return nil, errors.New("jwt: a secret and a private key are mutually exclusive (as Airflow's jwt_secret and jwt_private_key_path)")
	case o.PrivateKeyFile != "":
		signer, der, err := loadPrivateKey(o.PrivateKeyFile)
		if err != nil {
			return nil, err
		}
		alg := o.Algorithm
		if alg == "" {
			alg = guessAlgorithm(signer)
		}
		if t.method = jwt.GetSigningMethod(alg); t.method == nil || !keyFits(signer, alg) {
			return nil, fmt.Errorf("jwt algorithm %q does not fit the private key in %s", alg, o.PrivateKeyFile)
		}
		t.signKey, t.verifyKey, keyMaterial = signer, signer.Public(), der
	default:
		if len(secret) == 0 {
			secret = make([]byte, 64)
			if _, err := rand.Read(secret); err != nil {
				return nil, fmt.Errorf("jwt: random key: %w", err)
			}
			log.Warn("no JWT signing key configured (GATEWAY_JWT_SECRET, GATEWAY_JWT_SECRET_FILE or GATEWAY_JWT_PRIVATE_KEY_FILE): tokens from /auth/token are signed with a random key of this process, so they stop working when it restarts and other replicas refuse them; give every replica the same key")
		} else if len(secret) < 32 {
			log.Warn("the JWT secret is shorter than 32 bytes: tokens are only as strong as it is", zap.Int("bytes", len(secret)))
		}
		alg := o.Algorithm
		if alg == "" {
			alg = jwt.SigningMethodHS512.Alg()
		}
		if !strings.HasPrefix(alg, "HS") || jwt.GetSigningMethod(alg) == nil {
			return nil, fmt.Errorf("jwt algorithm %q needs a private key; with a secret use HS256, HS384 or HS512", alg)
		}
		t.method = jwt.GetSigningMethod(alg)
		t.signKey, t.verifyKey, keyMaterial = secret, secret, secret
	}
	aeadKey, err := hkdf.Key(sha256.New, keyMaterial, nil, "airflow-prefect-gateway passthrough credential v1", 32)
	if err != nil {
		return nil, fmt.Errorf("jwt: derive the credential key: %w", err)
	}
	block, err := aes.NewCipher(aeadKey)
	if err != nil {
		return nil, err
	}
	if t.credential, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{t.method.Alg()}), jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return t.now() })}
	if t.issuer != "" {
		opts = append(opts, jwt.WithIssuer(t.issuer))
	}
	if t.audience != "" {
		opts = append(opts, jwt.WithAudience(t.audience))
	}
	t.parser = jwt.NewParser(opts...)
	return t, nil
}

func loadPrivateKey(file string) (crypto.Signer, []byte, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("jwt private key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, nil, fmt.Errorf("jwt private key %s: no PEM block", file)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("jwt private key %s: %w", file, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("jwt private key %s: %T cannot sign", file, key)
	}
	return signer, block.Bytes, nil
}

func guessAlgorithm(k crypto.Signer) string {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return "RS256"
	case ed25519.PrivateKey:
		return "EdDSA"
	case *ecdsa.PrivateKey:
		switch k.Curve.Params().BitSize {
		case 384:
			return "ES384"
		case 521:
			return "ES512"
		}
		return "ES256"
	}
	return ""
}

func keyFits(k crypto.Signer, alg string) bool {
	switch k.(type) {
	case *rsa.PrivateKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case ed25519.PrivateKey:
		return alg == "EdDSA"
	case *ecdsa.PrivateKey:
		return alg == guessAlgorithm(k)
	}
	return false
}

// tokenClaims are the claims of a gateway token.
type tokenClaims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`
	// Credential is the sealed Prefect credential of a passthrough caller.
	Credential string `json:"pfc,omitempty"`
}

// issue signs a token for p, valid for ttl.
func (t *tokens) issue(p *Principal, ttl time.Duration) (string, error) {
	now := t.now().Truncate(time.Second)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID: hex.EncodeToString(jti), Subject: p.User, Issuer: t.issuer,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role: p.Role.String(),
	}
	if t.audience != "" {
		claims.Audience = jwt.ClaimStrings{t.audience}
	}
	if p.Credential != nil {
		sealed, err := t.seal(*p.Credential, claims.ID)
		if err != nil {
			return "", err
		}
		claims.Credential = sealed
	}
	tok := jwt.NewWithClaims(t.method, claims)
	if t.kid != "" {
		if _, secret := t.signKey.([]byte); !secret {
			tok.Header["kid"] = t.kid
		}
	}
	return tok.SignedString(t.signKey)
}

// errTokenExpired and errTokenInvalid are the two ways a presented token fails (Airflow's
// 401 "Token Expired" and 403 "Invalid JWT token").
var (
	errTokenExpired = errors.New("token expired")
	errTokenInvalid = errors.New("invalid token")
)

// verify checks a token and returns its claims.
func (t *tokens) verify(raw string) (*tokenClaims, error) {
	var claims tokenClaims
	_, err := t.parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return t.verifyKey, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fmt.Errorf("%w: %v", errTokenExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errTokenInvalid, err)
	case claims.NotBefore == nil || claims.IssuedAt == nil || claims.ID == "":
		return nil, fmt.Errorf("%w: nbf, iat and jti are required", errTokenInvalid)
	}
	return &claims, nil
}

// sealedCredential is the plaintext of the pfc claim.
type sealedCredential struct {
	Mode   string `json:"m"`
	Secret string `json:"s"`
}

func (t *tokens) seal(cred prefect.Credential, jti string) (string, error) {
	plain, err := json.Marshal(sealedCredential{Mode: cred.Mode.String(), Secret: cred.Secret})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, t.credential.NonceSize(), t.credential.NonceSize()+len(plain)+t.credential.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := t.credential.Seal(nonce, nonce, plain, []byte(jti))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (t *tokens) open(sealed, jti string) (prefect.Credential, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < t.credential.NonceSize() {
		return prefect.Credential{}, fmt.Errorf("%w: the credential claim is unreadable", errTokenInvalid)
	}
	n := t.credential.NonceSize()
	plain, err := t.credential.Open(nil, raw[:n], raw[n:], []byte(jti))
	if err != nil {
		return prefect.Credential{}, fmt.Errorf("%w: the credential claim does not open", errTokenInvalid)
	}
	var sc sealedCredential
	if err := json.Unmarshal(plain, &sc); err != nil {
		return prefect.Credential{}, fmt.Errorf("%w: the credential claim is unreadable", errTokenInvalid)
	}
	switch sc.Mode {
	case prefect.BearerCredential("").Mode.String():
		return prefect.BearerCredential(sc.Secret), nil
	case prefect.BasicCredential("").Mode.String():
		return prefect.BasicCredential(sc.Secret), nil
	}
	return prefect.Credential{}, fmt.Errorf("%w: the credential claim names no credential kind", errTokenInvalid)
}
