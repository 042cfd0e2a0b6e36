package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Airflow 3's token endpoints (the simple auth manager's, auth/managers/simple/routes/login.py),
// against the gateway's users file and roles:
//
//   - POST /auth/token: {"username", "password"} as JSON or a form → 201 {"access_token"},
//     valid for jwt_expiration_time; POST /auth/token/cli the same (JSON) for the CLI's lifetime;
//   - wrong credentials 401 "Invalid credentials", an empty username or password 400, another
//     media type 415, a missing or extra field 422 with FastAPI's list of field errors;
//   - the password is checked exactly as HTTP Basic's under /api/v1 (bcrypt, the same
//     verification cache and login throttling; in passthrough Prefect checks the credential);
//   - GET /auth/token (Airflow's all-admins mode) answers a token only with auth mode none,
//     where every caller is an Admin anyway, else Airflow's 403.

func (s *Server) registerTokenRoutes(g *echo.Group) {
	// The JSON-or-form body is read by the handler, as Airflow's does; /cli's by the validator.
	g.POST("/token", s.createToken)
	g.POST("/token/cli", s.createTokenCLI, s.validateV2)
	g.GET("/token", s.createTokenAllAdmins)
}

type loginResponse struct {
	AccessToken string `json:"access_token"`
}

func (s *Server) createToken(c echo.Context) error {
	user, password, err := readLoginBody(c.Request())
	if err != nil {
		return err
	}
	return s.answerToken(c, user, password, s.tokens.expiry)
}

func (s *Server) createTokenCLI(c echo.Context) error {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(c.Request().Body).Decode(&body); err != nil {
		return BadRequest("The request body could not be read.").WithCause(err)
	}
	return s.answerToken(c, body.Username, body.Password, s.tokens.cliExpiry)
}

func (s *Server) createTokenAllAdmins(c echo.Context) error {
	if s.auth.mode != AuthModeNone {
		return NewProblem(http.StatusForbidden, "", "This method is only allowed if ``[core] simple_auth_manager_all_admins`` is True").
			ForV2("This method is only allowed if ``[core] simple_auth_manager_all_admins`` is True (for the gateway: GATEWAY_AUTH_MODE=none)")
	}
	return s.answerToken(c, "", "", s.tokens.expiry)
}

// answerToken checks the credentials and answers 201 with a token for ttl.
func (s *Server) answerToken(c echo.Context, user, password string, ttl time.Duration) error {
	p, err := s.loginPrincipal(c.Request().Context(), user, password, c.RealIP())
	if err != nil {
		return err
	}
	tok, err := s.tokens.issue(p, ttl)
	if err != nil {
		return fmt.Errorf("sign a token: %w", err)
	}
	return c.JSON(http.StatusCreated, loginResponse{AccessToken: tok})
}

// loginPrincipal is who a username and password log in as.
func (s *Server) loginPrincipal(ctx context.Context, user, password, client string) (*Principal, error) {
	a := s.auth
	if a.mode == AuthModeNone {
		// Airflow's all-admins mode: whatever was sent, an anonymous Admin.
		return &Principal{User: "Anonymous", Role: RoleAdmin}, nil
	}
	if user == "" || password == "" {
		return nil, BadRequest("Username and password must be provided").ForV2("Username and password must be provided")
	}
	var (
		p   *Principal
		err error
	)
	if a.mode == AuthModePassthrough {
		p, err = a.passthrough(ctx, user, password, client)
	} else {
		p, err = a.checkPassword(ctx, user, password, client)
	}
	var prob *Problem
	if errors.As(err, &prob) && prob.Status == http.StatusUnauthorized {
		return nil, NewProblem(http.StatusUnauthorized, "", "Invalid credentials").ForV2("Invalid credentials").WithCause(err)
	}
	return p, err
}

// readLoginBody reads /auth/token's body, JSON or a form, as Airflow's parse_login_body.
func readLoginBody(r *http.Request) (user, password string, err error) {
	ct := r.Header.Get(echo.HeaderContentType)
	mt := echo.MIMEApplicationJSON // FastAPI's default when the header is absent
	if ct != "" {
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			mt = ct
		}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return "", "", he
		}
		return "", "", BadRequest("The request body could not be read.").WithCause(err)
	}
	var fields map[string]any
	switch {
	case strings.HasPrefix(mt, echo.MIMEApplicationJSON):
		if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
			return "", "", ValidationProblem(FieldError{Type: "json_invalid", Loc: []any{"body", 0}, Msg: "JSON decode error",
				Input: map[string]any{}, Ctx: map[string]any{"error": "Expecting value"}})
		}
	case strings.HasPrefix(mt, echo.MIMEApplicationForm):
		form, err := url.ParseQuery(string(data))
		if err != nil {
			return "", "", BadRequest("The form body could not be read: %v", err).ForV2("The form body could not be read")
		}
		// Airflow reads the two fields of a form and nothing else.
		fields = map[string]any{}
		for _, k := range []string{"username", "password"} {
			if vs, ok := form[k]; ok && len(vs) > 0 {
				fields[k] = vs[0]
			}
		}
	default:
		const words = "Only application/json or application/x-www-form-urlencoded is supported"
		return "", "", NewProblem(http.StatusUnsupportedMediaType, "", words).ForV2(words)
	}
	if errs := loginBodyErrors(fields); len(errs) > 0 {
		return "", "", ValidationProblem(errs...)
	}
	return fields["username"].(string), fields["password"].(string), nil
}

// loginBodyErrors are pydantic's errors for a LoginBody (strict: two strings, nothing
// else), none when the body is one. Airflow's own parse_login_body raises them as one repr
// string in detail, which its document (HTTPValidationError: a list) does not allow; the
// gateway answers the documented list, which generated clients can read. The password is
// never quoted back.
func loginBodyErrors(fields map[string]any) []FieldError {
	masked := make(map[string]any, len(fields))
	for k, v := range fields {
		masked[k] = v
	}
	if _, ok := masked["password"]; ok {
		masked["password"] = "***"
	}
	var out []FieldError
	for _, k := range []string{"username", "password"} {
		v, ok := fields[k]
		switch _, isString := v.(string); {
		case !ok:
			out = append(out, FieldError{Type: "missing", Loc: []any{"body", k}, Msg: "Field required", Input: masked})
		case !isString:
			out = append(out, FieldError{Type: "string_type", Loc: []any{"body", k}, Msg: "Input should be a valid string", Input: masked[k]})
		}
	}
	var extra []string
	for k := range fields {
		if k != "username" && k != "password" {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		out = append(out, FieldError{Type: "extra_forbidden", Loc: []any{"body", k}, Msg: "Extra inputs are not permitted", Input: fields[k]})
	}
	return out
}

// pyRepr writes a decoded JSON value roughly as Python's repr does.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			val := pyRepr(x[k])
			if k == "password" {
				val = "'***'" // never echo a password back
			}
			parts[i] = pyRepr(k) + ": " + val
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
