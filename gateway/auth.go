package gateway

import (
	"fmt"
	"net/http"
	"path"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

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

// AuthOptions configure inbound authentication.
type AuthOptions struct {
	// Mode is "users" (default), "passthrough" or "none".
	Mode string
	// UsersFile is the YAML users file for mode "users".
	UsersFile string
}

// authenticator checks the Basic credentials of a request.
type authenticator struct {
	mode string
	log  *zap.Logger
}

func newAuthenticator(opts AuthOptions, _ *prefect.Client, log *zap.Logger) (*authenticator, error) {
	mode := opts.Mode
	if mode == "" {
		mode = "users"
	}
	switch mode {
	case "none":
		log.Warn("authentication is OFF (auth mode \"none\"): every caller is an Admin; use only on a trusted network")
	case "users", "passthrough":
	default:
		return nil, fmt.Errorf("auth mode %q: want users, passthrough or none", mode)
	}
	return &authenticator{mode: mode, log: log}, nil
}

// authenticate resolves the caller into a Principal and puts the upstream credential into
// the request context. 401 with WWW-Authenticate when the caller is unknown.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch s.auth.mode {
		case "none":
			c.Set(principalKey, &Principal{User: "", Role: RoleAdmin})
			return next(c)
		default:
			return NewProblem(http.StatusUnauthorized, "", "Authentication is not configured yet.").
				WithHeader("WWW-Authenticate", `Basic realm="Airflow API (airflow-prefect-gateway)"`)
		}
	}
}

// requireRole answers 403 when the caller's role is below min.
func requireRole(min Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principalOf(c)
			if p == nil || p.Role < min {
				return NewProblem(http.StatusForbidden, "", fmt.Sprintf("This operation needs the %s role or higher.", min))
			}
			return next(c)
		}
	}
}
