package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
)

// Authentication of /api/v2, as Airflow 3's (core_api/security.py): a bearer token in
// Authorization (the scheme in any case), else the _token cookie Airflow's UI uses. No token
// is 401 "Not authenticated" (without a challenge header: Airflow 3 sends none), an expired
// one 401 "Token Expired", any other failure 403 "Invalid JWT token". HTTP Basic is refused
// like no token, as Airflow 3 refuses it.

// tokenCookie is where Airflow 3's UI keeps its token.
const tokenCookie = "_token"

func notAuthenticatedV2() *Problem {
	return NewProblem(http.StatusUnauthorized, "", "Not authenticated").ForV2("Not authenticated")
}

func invalidTokenV2(cause error) *Problem {
	return NewProblem(http.StatusForbidden, "", "Invalid JWT token").ForV2("Invalid JWT token").WithCause(cause)
}

// authenticateV2 resolves the bearer token of a request into its Principal.
func (s *Server) authenticateV2(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := s.auth
		if p := oneAuthorization(c.Request()); p != nil {
			return p
		}
		if a.mode == AuthModeNone {
			c.Set(principalKey, &Principal{Role: RoleAdmin})
			return a.upstreamRefusal(c, next(c))
		}
		raw, ok := bearerToken(c)
		if !ok {
			return notAuthenticatedV2()
		}
		p, err := s.principalOfToken(raw)
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

// bearerToken is the token of a request: Authorization: Bearer <t>, else the _token cookie.
func bearerToken(c echo.Context) (string, bool) {
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, tok, found := strings.Cut(strings.TrimSpace(h), " ")
		if found && strings.EqualFold(scheme, "Bearer") {
			tok = strings.TrimSpace(tok)
			return tok, tok != ""
		}
	}
	if ck, err := c.Cookie(tokenCookie); err == nil && ck.Value != "" {
		return ck.Value, true
	}
	return "", false
}

// principalOfToken checks a token and finds its caller: in users mode the user the token
// names, as the users file has them now (a user no longer in the file holds a dead token);
// in passthrough a caller with the Prefect credential sealed in the token.
func (s *Server) principalOfToken(raw string) (*Principal, error) {
	claims, err := s.tokens.verify(raw)
	switch {
	case errors.Is(err, errTokenExpired):
		return nil, NewProblem(http.StatusUnauthorized, "", "Token Expired").ForV2("Token Expired").WithCause(err)
	case err != nil:
		return nil, invalidTokenV2(err)
	}
	a := s.auth
	switch a.mode {
	case AuthModePassthrough:
		if claims.Credential == "" {
			return nil, invalidTokenV2(errors.New("passthrough token without a credential"))
		}
		cred, err := s.tokens.open(claims.Credential, claims.ID)
		if err != nil {
			return nil, invalidTokenV2(err)
		}
		return &Principal{User: claims.Subject, Role: a.passthroughRole, Credential: &cred}, nil
	default:
		acc, ok := a.accounts[claims.Subject]
		if !ok {
			return nil, invalidTokenV2(errors.New("the token's user is not in the users file"))
		}
		return copyPrincipal(&acc.principal), nil
	}
}
