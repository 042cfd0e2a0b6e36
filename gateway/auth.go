package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	gocache "github.com/patrickmn/go-cache"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"airflow-prefect-gateway/prefect"
)

// Role is an Airflow role; each includes the ones below it.
type Role int

const (
	RoleViewer Role = iota + 1 // reads
	RoleUser                   // + triggers, patches and deletes runs, pauses DAGs
	RoleOp                     // + variables and pools
	RoleAdmin                  // everything
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "Viewer"
	case RoleUser:
		return "User"
	case RoleOp:
		return "Op"
	case RoleAdmin:
		return "Admin"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// ParseRole reads a role name as Airflow writes it.
func ParseRole(s string) (Role, error) {
	switch s {
	case "Viewer":
		return RoleViewer, nil
	case "User":
		return RoleUser, nil
	case "Op":
		return RoleOp, nil
	case "Admin":
		return RoleAdmin, nil
	}
	return 0, fmt.Errorf("unknown role %q (want Viewer, User, Op or Admin)", s)
}

// Principal is the authenticated caller of one request.
type Principal struct {
	User string
	Role Role
	// DAGPatterns limits the DAGs the user may see (path.Match globs); nil means all.
	DAGPatterns []string
	// Credential, when set, is what the gateway sends to Prefect on this user's behalf.
	Credential *prefect.Credential
}

// CanAccessDAG reports whether the principal may see dagID at all. Lists skip the DAGs it
// may not see; single-DAG routes answer 404 for them so their existence does not leak.
func (p *Principal) CanAccessDAG(dagID string) bool {
	if p == nil {
		return false
	}
	if p.DAGPatterns == nil {
		return true
	}
	for _, pat := range p.DAGPatterns {
		if ok, _ := path.Match(pat, dagID); ok {
			return true
		}
	}
	return false
}

const principalKey = "principal"

func principalOf(c echo.Context) *Principal {
	p, _ := c.Get(principalKey).(*Principal)
	return p
}

// Auth modes.
const (
	AuthModeUsers       = "users"       // HTTP Basic against the users file (default)
	AuthModePassthrough = "passthrough" // the Basic credential is the caller's own Prefect credential
	AuthModeNone        = "none"        // no authentication: every caller is an Admin
)

// How passthrough forwards the caller's Basic credential to Prefect.
const (
	// PassthroughBearer: the password is a Prefect API key, sent as Bearer (Prefect Cloud).
	PassthroughBearer = "bearer"
	// PassthroughBasic: "username:password" is a self-hosted Prefect's auth string, sent on
	// as Basic (Prefect compares the whole decoded string with PREFECT_SERVER_API_AUTH_STRING).
	PassthroughBasic = "basic"
)

// AuthOptions configure inbound authentication.
type AuthOptions struct {
	// Mode is "users" (default), "passthrough" or "none".
	Mode string
	// UsersFile is the YAML users file for mode "users".
	UsersFile string
	// PassthroughUpstream is "bearer" (default) or "basic"; see PassthroughBearer/Basic.
	PassthroughUpstream string
	// PassthroughRole is the Airflow role of every passthrough caller. Default Admin: in that
	// mode Prefect decides what a credential may do, the gateway adds no second opinion.
	PassthroughRole string
	// CacheTTL is how long a verified password or a credential Prefect accepted is
	// remembered (keyed by a keyed hash, never the secret). Default 1 minute.
	CacheTTL time.Duration
	// Getenv reads the variables users-file entries name. Default os.Getenv.
	Getenv func(string) string
	// LoginFailureBurst and LoginFailureInterval shape the login backoff (login_backoff.go):
	// so many failed checks at once per username and per client, then one per interval.
	LoginFailureBurst    int
	LoginFailureInterval time.Duration
}

// Realm is the realm of the gateway's WWW-Authenticate challenge.
const Realm = "Airflow API (airflow-prefect-gateway)"

const challenge = `Basic realm="` + Realm + `", charset="UTF-8"`

// refusedCredentialTTL is how long passthrough remembers a credential Prefect refused, so
// that a client retrying with a stale key does not turn each attempt into a Prefect call.
const refusedCredentialTTL = 10 * time.Second

// authenticator checks the Basic credentials of a request.
type authenticator struct {
	mode string
	log  *zap.Logger

	// users mode
	accounts map[string]*account
	// dummyHash is checked for unknown usernames, at the highest cost of the file, so that
	// a wrong username costs what a wrong password costs.
	dummyHash []byte
	compare   func(hash, password []byte) error // bcrypt.CompareHashAndPassword; tests count calls
	// bcryptSlots bounds concurrent bcrypt checks to the cores, so that a flood of wrong
	// passwords queues instead of starving every other request of CPU.
	bcryptSlots *semaphore.Weighted

	// passthrough mode
	client          *prefect.Client
	passthroughBy   string
	passthroughRole Role

	// verified holds principals of recently verified credentials; refused holds credentials
	// Prefect refused (passthrough). Keys are HMACs under a per-process random key, so
	// neither a secret nor a plain hash of a guessable password ever sits in memory.
	verified *gocache.Cache
	refused  *gocache.Cache
	macKey   []byte
	flight   singleflight.Group
	backoff  *loginBackoff
}

func newAuthenticator(opts AuthOptions, client *prefect.Client, log *zap.Logger) (*authenticator, error) {
	mode := opts.Mode
	if mode == "" {
		mode = AuthModeUsers
	}
	ttl := opts.CacheTTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	a := &authenticator{
		mode:        mode,
		log:         log,
		client:      client,
		compare:     bcrypt.CompareHashAndPassword,
		bcryptSlots: semaphore.NewWeighted(int64(max(1, runtime.GOMAXPROCS(0)))),
		verified:    gocache.New(ttl, 2*ttl),
		refused:     gocache.New(refusedCredentialTTL, 2*refusedCredentialTTL),
		macKey:      make([]byte, 32),
		backoff:     newLoginBackoff(opts.LoginFailureBurst, opts.LoginFailureInterval),
	}
	if _, err := rand.Read(a.macKey); err != nil {
		return nil, fmt.Errorf("auth: random key: %w", err)
	}
	switch mode {
	case AuthModeNone:
		log.Warn("authentication is OFF (auth mode \"none\"): every caller is an Admin; use only on a trusted network")
	case AuthModeUsers:
		if opts.UsersFile == "" {
			return nil, errors.New("auth mode users needs a users file: set GATEWAY_USERS_FILE (see `airflow-prefect-gateway hash-password`), or choose GATEWAY_AUTH_MODE=passthrough or none")
		}
		accounts, err := loadUsers(opts.UsersFile, getenv)
		if err != nil {
			return nil, err
		}
		a.accounts = accounts
		if err := a.makeDummyHash(opts.UsersFile); err != nil {
			return nil, err
		}
		log.Info("users loaded", zap.String("users_file", opts.UsersFile), zap.Int("users", len(accounts)))
	case AuthModePassthrough:
		a.passthroughBy = opts.PassthroughUpstream
		if a.passthroughBy == "" {
			a.passthroughBy = PassthroughBearer
		}
		if a.passthroughBy != PassthroughBearer && a.passthroughBy != PassthroughBasic {
			return nil, fmt.Errorf("passthrough upstream %q: want bearer or basic", opts.PassthroughUpstream)
		}
		a.passthroughRole = RoleAdmin
		if opts.PassthroughRole != "" {
			r, err := ParseRole(opts.PassthroughRole)
			if err != nil {
				return nil, fmt.Errorf("passthrough role: %w", err)
			}
			a.passthroughRole = r
		}
		if client == nil {
			return nil, errors.New("auth mode passthrough needs a Prefect client")
		}
		log.Info("passthrough authentication: each caller's Basic credential is checked by Prefect",
			zap.String("sent_as", a.passthroughBy), zap.String("role", a.passthroughRole.String()))
	default:
		return nil, fmt.Errorf("auth mode %q: want users, passthrough or none", mode)
	}
	return a, nil
}

// makeDummyHash prepares the hash unknown usernames are checked against, at the highest cost
// in the file. Mixed costs would let timing tell a cheap user from an unknown one: warn.
func (a *authenticator) makeDummyHash(file string) error {
	maxCost, minCost := 0, bcrypt.MaxCost+1
	for _, acc := range a.accounts {
		maxCost = max(maxCost, acc.cost)
		minCost = min(minCost, acc.cost)
	}
	if minCost != maxCost {
		a.log.Warn("users file mixes bcrypt costs: a wrong username then takes as long as the costliest password, which timing can tell from a cheaper one; hash every password at one cost",
			zap.String("users_file", file), zap.Int("min_cost", minCost), zap.Int("max_cost", maxCost))
	}
	if maxCost < bcrypt.DefaultCost {
		a.log.Warn("users file has bcrypt hashes below cost 10: fast to guess offline if the file leaks",
			zap.String("users_file", file), zap.Int("cost", maxCost))
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("auth: random dummy password: %w", err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(secret)), maxCost)
	if err != nil {
		return fmt.Errorf("auth: dummy hash: %w", err)
	}
	a.dummyHash = h
	return nil
}

// mac names a secret in the caches without holding it.
func (a *authenticator) mac(parts ...string) string {
	m := hmac.New(sha256.New, a.macKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// errBadCredentials is every refusal of a username and password: the answer never says
// which of the two was wrong.
var errBadCredentials = errors.New("invalid credentials")

func unauthenticated(detail string) *Problem {
	return NewProblem(http.StatusUnauthorized, "", detail).WithHeader("WWW-Authenticate", challenge)
}

// authenticate resolves the caller into a Principal and puts the upstream credential into
// the request context. 401 with WWW-Authenticate when the caller is unknown.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := s.auth
		if p := oneAuthorization(c.Request()); p != nil {
			return p
		}
		if a.mode == AuthModeNone {
			c.Set(principalKey, &Principal{Role: RoleAdmin})
			return a.upstreamRefusal(c, next(c))
		}
		user, password, ok := basicAuth(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return unauthenticated("Authentication is required: send HTTP Basic credentials.")
		}
		var (
			p   *Principal
			err error
		)
		if a.mode == AuthModePassthrough {
			p, err = a.passthrough(c.Request().Context(), user, password, c.RealIP())
		} else {
			p, err = a.checkPassword(c.Request().Context(), user, password, c.RealIP())
		}
		if err != nil {
			return err
		}
		c.Set(principalKey, p)
		ctx := c.Request().Context()
		if p.Credential != nil {
			ctx = prefect.WithCredential(ctx, *p.Credential)
		}
		c.SetRequest(c.Request().WithContext(prefect.WithCaller(ctx, a.callerOf(p))))
		return a.upstreamRefusal(c, next(c))
	}
}

// callerOf names the principal for the fair share of Prefect calls: the user, or in
// passthrough (where the username is a free label) the credential.
func (a *authenticator) callerOf(p *Principal) string {
	if a.mode == AuthModePassthrough && p.Credential != nil {
		return "credential|" + p.Credential.Fingerprint()
	}
	return "user|" + p.User
}

// basicAuth reads an HTTP Basic Authorization header. The scheme is case-insensitive.
func basicAuth(header string) (user, password string, ok bool) {
	scheme, encoded, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	return user, password, true
}

// checkPassword verifies user and password against the users file. A hit in the
// verification cache costs an HMAC; a miss costs one bcrypt check, whether or not the user
// exists. Concurrent checks of the same pair share one bcrypt run. Failures are throttled
// per username and per client (login_backoff.go).
func (a *authenticator) checkPassword(ctx context.Context, user, password, client string) (*Principal, error) {
	key := a.mac("users", user, password)
	if v, ok := a.verified.Get(key); ok {
		return copyPrincipal(v.(*Principal)), nil
	}
	v, err, _ := a.flight.Do(key, func() (any, error) {
		done, refused := a.backoff.begin("user|"+user, "client|"+client)
		if refused != nil {
			return nil, refused
		}
		failed := false
		defer func() { done(failed) }()
		if err := a.bcryptSlots.Acquire(ctx, 1); err != nil {
			return nil, NewProblem(http.StatusServiceUnavailable, "Service Unavailable",
				"The gateway is busy checking passwords; retry shortly.").WithHeader("Retry-After", "1").WithCause(err)
		}
		defer a.bcryptSlots.Release(1)
		acc, known := a.accounts[user]
		hash := a.dummyHash
		if known {
			hash = acc.hash
		}
		// bcrypt reads 72 bytes: a longer password could match one it only starts with.
		pw := []byte(password)
		tooLong := len(pw) > maxPasswordBytes
		if tooLong {
			pw = pw[:maxPasswordBytes]
		}
		if err := a.compare(hash, pw); err != nil || !known || tooLong {
			failed = true
			return nil, errBadCredentials
		}
		p := acc.principal
		a.verified.SetDefault(key, &p)
		return &p, nil
	})
	if err != nil {
		if errors.Is(err, errBadCredentials) {
			return nil, unauthenticated("Invalid username or password.")
		}
		return nil, err
	}
	return copyPrincipal(v.(*Principal)), nil
}

// passthrough turns the caller's Basic credential into their Prefect credential and asks
// Prefect whether it accepts it; the answer is remembered briefly under a keyed hash.
func (a *authenticator) passthrough(ctx context.Context, user, password, client string) (*Principal, error) {
	var cred prefect.Credential
	switch a.passthroughBy {
	case PassthroughBasic:
		if user == "" && password == "" {
			return nil, unauthenticated("Authentication is required: send your Prefect auth string as HTTP Basic credentials.")
		}
		cred = prefect.BasicCredential(user + ":" + password)
	default:
		if password == "" {
			return nil, unauthenticated("Authentication is required: send your Prefect API key as the HTTP Basic password.")
		}
		cred = prefect.BearerCredential(password)
	}
	key := a.credentialKey(cred)
	principal := func() *Principal {
		c := cred
		return &Principal{User: user, Role: a.passthroughRole, Credential: &c}
	}
	if _, ok := a.verified.Get(key); ok {
		return principal(), nil
	}
	if _, ok := a.refused.Get(key); ok {
		return nil, unauthenticated("Prefect refused the credential.")
	}
	_, err, _ := a.flight.Do(key, func() (any, error) {
		// Refused credentials cost a Prefect call each: throttled per client like passwords.
		done, refused := a.backoff.begin("client|" + client)
		if refused != nil {
			return nil, refused
		}
		failed := false
		defer func() { done(failed) }()
		// Detached from the first caller's cancellation: its answer serves every caller
		// waiting on the same credential.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := a.client.CheckCredential(cctx, cred); err != nil {
			if prefect.KindOf(err) == prefect.KindUnauthorized {
				a.refused.SetDefault(key, true)
				failed = true
			}
			return nil, err
		}
		a.verified.SetDefault(key, true)
		return nil, nil
	})
	var throttled *Problem
	if errors.As(err, &throttled) {
		return nil, throttled
	}
	if err != nil {
		if prefect.KindOf(err) == prefect.KindUnauthorized {
			return nil, unauthenticated("Prefect refused the credential.")
		}
		// Prefect could not say (down, slow, 5xx): that is not the caller's fault.
		return nil, FromUpstream(err)
	}
	return principal(), nil
}

func (a *authenticator) credentialKey(cred prefect.Credential) string {
	return a.mac("passthrough", cred.Mode.String(), cred.Secret)
}

// upstreamRefusal rewrites a Prefect 401 met while serving a request. In passthrough the
// caller's own credential was refused (revoked since it was checked): forget it and answer
// 401 with the challenge. Otherwise the credential is the operator's, not the caller's:
// that is a gateway misconfiguration, answered 502 and logged, never a 401 that would send
// the caller to check a password that is fine.
func (a *authenticator) upstreamRefusal(c echo.Context, err error) error {
	if err == nil || prefect.KindOf(err) != prefect.KindUnauthorized {
		return err
	}
	if a.mode == AuthModePassthrough {
		if p := principalOf(c); p != nil && p.Credential != nil {
			key := a.credentialKey(*p.Credential)
			a.verified.Delete(key)
			a.refused.SetDefault(key, true)
		}
		return unauthenticated("Prefect refused the credential.").WithCause(err)
	}
	return NewProblem(http.StatusBadGateway, "Bad Gateway",
		"Prefect refused the gateway's upstream credential; the gateway's operator must fix its configuration.").WithCause(err).
		WithAlert("Prefect refused the gateway's upstream credential; check PREFECT_API_KEY / PREFECT_API_AUTH_STRING or the user's prefect_* setting in the users file",
			zap.String("upstream_auth", a.credentialFor(c).Mode.String()))
}

func (a *authenticator) credentialFor(c echo.Context) prefect.Credential {
	if a.client == nil {
		return prefect.Credential{}
	}
	return a.client.CredentialFor(c.Request().Context())
}

// copyPrincipal gives each request its own Principal, so that nothing a handler does to it
// reaches the cached one.
func copyPrincipal(p *Principal) *Principal {
	cp := *p
	return &cp
}

// requireRole answers 403 when the caller's role is below min. DAG limits are the
// handlers' (Principal.CanAccessDAG): only they know what the route answers for a DAG that
// does not exist, which is what a hidden DAG must look like (a 404 on most routes, an empty
// list on GET /dags/{dag_id}/dagRuns).
func requireRole(min Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principalOf(c)
			if p == nil || p.Role < min {
				return NewProblem(http.StatusForbidden, "", fmt.Sprintf("This operation needs the %s role or higher.", min)).
					ForV2("Forbidden")
			}
			return next(c)
		}
	}
}
