package gateway

import (
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// Users, roles and permissions (issue 15), /api/v1: read from the gateway's users file and
// Airflow's default roles (translate/roles.go); Admin only, as in Airflow. Users live in the
// users file and roles are Airflow's four defaults, so every write answers 405 with a detail
// saying so, and writes nothing: a client (Terraform, a script) learns that the operation is
// not available here, not that its credentials lack a permission. No Prefect call.

// Airflow's order_by lists for users and roles. Airflow compares the whole value, so
// "-id" is refused there too.
var (
	userOrderFields = []string{"id", "first_name", "last_name", "user_name", "email", "is_active", "role"}
	roleOrderFields = []string{"role_id", "name"}
)

func (s *Server) registerSecurityRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/users", s.listUsers, RoleAdmin)
	s.route(g, http.MethodGet, "/users/:username", s.getUser, RoleAdmin)
	s.route(g, http.MethodGet, "/roles", s.listRoles, RoleAdmin)
	s.route(g, http.MethodGet, "/roles/:role_name", s.getRole, RoleAdmin)
	s.route(g, http.MethodGet, "/permissions", s.listPermissions, RoleAdmin)
	users := NewProblem(http.StatusMethodNotAllowed, "", "Users live in the gateway's users file (GATEWAY_USERS_FILE): "+
		"add, change or remove them there and restart the gateway. The API cannot write them.").WithHeader("Allow", "GET")
	roles := NewProblem(http.StatusMethodNotAllowed, "", "The gateway has Airflow's four default roles (Viewer, User, Op, Admin) "+
		"with Airflow's permissions; they cannot be created, changed or deleted. Give users a role in the users file.").WithHeader("Allow", "GET")
	refuse := func(p *Problem) echo.HandlerFunc { return func(echo.Context) error { return p } }
	s.route(g, http.MethodPost, "/users", refuse(users), RoleAdmin)
	s.route(g, http.MethodPatch, "/users/:username", refuse(users), RoleAdmin)
	s.route(g, http.MethodDelete, "/users/:username", refuse(users), RoleAdmin)
	s.route(g, http.MethodPost, "/roles", refuse(roles), RoleAdmin)
	s.route(g, http.MethodPatch, "/roles/:role_name", refuse(roles), RoleAdmin)
	s.route(g, http.MethodDelete, "/roles/:role_name", refuse(roles), RoleAdmin)
}

type v1UserRole struct {
	Name string `json:"name"`
}

// v1User is Airflow's UserCollectionItem as Airflow dumps it (fail_login_count is its
// spelling). What the users file does not say is null; an email it lacks is left out,
// since the schema wants a non-empty one.
type v1User struct {
	FirstName      string       `json:"first_name"`
	LastName       string       `json:"last_name"`
	Username       string       `json:"username"`
	Email          string       `json:"email,omitempty"`
	Active         bool         `json:"active"`
	LastLogin      *string      `json:"last_login"`
	LoginCount     *int         `json:"login_count"`
	FailLoginCount *int         `json:"fail_login_count"`
	Roles          []v1UserRole `json:"roles"`
	CreatedOn      *string      `json:"created_on"`
	ChangedOn      *string      `json:"changed_on"`
}

// directory is the users file's users, in file order.
func (s *Server) directory() []UserEntry {
	if s.auth == nil {
		return nil
	}
	accs := make([]*account, 0, len(s.auth.accounts))
	for _, a := range s.auth.accounts {
		accs = append(accs, a)
	}
	sort.Slice(accs, func(i, j int) bool { return accs[i].index < accs[j].index })
	out := make([]UserEntry, len(accs))
	for i, a := range accs {
		out[i] = a.entry
	}
	return out
}

func toV1User(e UserEntry) v1User {
	return v1User{FirstName: e.FirstName, LastName: e.LastName, Username: e.Username, Email: e.Email, Active: true,
		Roles: []v1UserRole{{Name: e.Role}}}
}

func exactOrder(v, def string, allowed []string) (string, error) {
	if v == "" {
		v = def
	}
	for _, a := range allowed {
		if a == v {
			return v, nil
		}
	}
	return "", BadRequest("Ordering with '%s' is disallowed or the attribute does not exist on the model", v)
}

func (s *Server) listUsers(c echo.Context) error {
	q := c.QueryParams()
	page, err := translate.ParsePage(q.Get("limit"), q.Get("offset"), s.opts.MaxPageLimit)
	if err != nil {
		return BadRequest("%s", err)
	}
	order, err := exactOrder(q.Get("order_by"), "id", userOrderFields)
	if err != nil {
		return err
	}
	users := s.directory()
	key := func(e UserEntry) string {
		switch order {
		case "first_name":
			return e.FirstName
		case "last_name":
			return e.LastName
		case "user_name":
			return e.Username
		case "email":
			return e.Email
		case "role":
			return e.Role
		}
		return "" // id, is_active: file order (every user is active)
	}
	sort.SliceStable(users, func(i, j int) bool { return key(users[i]) < key(users[j]) })
	lo, hi := translate.PageBounds(len(users), page)
	out := struct {
		Users        []v1User `json:"users"`
		TotalEntries int      `json:"total_entries"`
	}{Users: make([]v1User, 0, hi-lo), TotalEntries: len(users)}
	for _, u := range users[lo:hi] {
		out.Users = append(out.Users, toV1User(u))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getUser(c echo.Context) error {
	name := decodedPathParam(c, "username")
	for _, u := range s.directory() {
		if u.Username == name {
			return c.JSON(http.StatusOK, toV1User(u))
		}
	}
	return NotFound("User not found", "The User with username `%s` was not found", name)
}

type v1Named struct {
	Name string `json:"name"`
}

type v1ActionResource struct {
	Action   v1Named `json:"action"`
	Resource v1Named `json:"resource"`
}

type v1Role struct {
	Name    string             `json:"name"`
	Actions []v1ActionResource `json:"actions"`
}

func toV1Role(r translate.Role) v1Role {
	out := v1Role{Name: r.Name, Actions: make([]v1ActionResource, len(r.Permissions))}
	for i, p := range r.Permissions {
		out.Actions[i] = v1ActionResource{Action: v1Named{p.Action}, Resource: v1Named{p.Resource}}
	}
	return out
}

func (s *Server) listRoles(c echo.Context) error {
	q := c.QueryParams()
	page, err := translate.ParsePage(q.Get("limit"), q.Get("offset"), s.opts.MaxPageLimit)
	if err != nil {
		return BadRequest("%s", err)
	}
	order, err := exactOrder(q.Get("order_by"), "name", roleOrderFields)
	if err != nil {
		return err
	}
	roles := append([]translate.Role(nil), translate.DefaultRoles...)
	if order == "name" {
		sort.SliceStable(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	}
	lo, hi := translate.PageBounds(len(roles), page)
	out := struct {
		Roles        []v1Role `json:"roles"`
		TotalEntries int      `json:"total_entries"`
	}{Roles: make([]v1Role, 0, hi-lo), TotalEntries: len(roles)}
	for _, r := range roles[lo:hi] {
		out.Roles = append(out.Roles, toV1Role(r))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getRole(c echo.Context) error {
	name := decodedPathParam(c, "role_name")
	for _, r := range translate.DefaultRoles {
		if r.Name == name {
			return c.JSON(http.StatusOK, toV1Role(r))
		}
	}
	return NotFound("Role not found", "Role with name '%s' was not found", strings.ReplaceAll(name, "'", "\\'"))
}

func (s *Server) listPermissions(c echo.Context) error {
	q := c.QueryParams()
	page, err := translate.ParsePage(q.Get("limit"), q.Get("offset"), s.opts.MaxPageLimit)
	if err != nil {
		return BadRequest("%s", err)
	}
	actions := translate.PermissionActions
	lo, hi := translate.PageBounds(len(actions), page)
	out := struct {
		Actions      []v1Named `json:"actions"`
		TotalEntries int       `json:"total_entries"`
	}{Actions: make([]v1Named, 0, hi-lo), TotalEntries: len(actions)}
	for _, a := range actions[lo:hi] {
		out.Actions = append(out.Actions, v1Named{a})
	}
	return c.JSON(http.StatusOK, out)
}
