package gateway

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// Variables (issue 15), /api/v1: Airflow's variable endpoints on Prefect variables
// (translate/variables.go has the mapping, variables_store.go the Prefect side). Read and
// written by Op and Admin only: a Viewer or User cannot even read variables (DESIGN §6).
//
// Prefect calls:
//
//	GET    /variables          1 per 200 variables (all are read: Airflow orders by key,
//	                           value or creation, the first two of which Prefect cannot sort
//	                           by once keys are encoded)
//	POST   /variables          1 (new key) or 3 (existing key: Airflow overwrites it)
//	GET    /variables/{key}    1
//	PATCH  /variables/{key}    2 (read, write)
//	DELETE /variables/{key}    1

func (s *Server) registerVariableRoutes(g *echo.Group) {
	v := &variableAPI{s: s, store: variableStore{pc: s.prefect}}
	s.route(g, http.MethodGet, "/variables", v.list, RoleOp)
	s.route(g, http.MethodPost, "/variables", v.post, RoleOp)
	s.route(g, http.MethodGet, "/variables/:variable_key", v.get, RoleOp)
	s.route(g, http.MethodPatch, "/variables/:variable_key", v.patch, RoleOp)
	s.route(g, http.MethodDelete, "/variables/:variable_key", v.delete, RoleOp)
}

type variableAPI struct {
	s     *Server
	store variableStore
}

// v1Variable is Airflow's Variable object; v1VariableCreated is POST's answer, which (as
// Airflow's dump of the loaded body) names a description only when the body did.
type v1Variable struct {
	Description *string `json:"description"`
	Key         string  `json:"key"`
	Value       string  `json:"value"`
}

type v1VariableCreated struct {
	Description *string `json:"description,omitempty"`
	Key         string  `json:"key"`
	Value       string  `json:"value"`
}

type v1VariableCollection struct {
	Variables    []v1Variable `json:"variables"`
	TotalEntries int          `json:"total_entries"`
}

func toV1Variable(v translate.Variable) v1Variable {
	return v1Variable{Description: v.Description, Key: v.Key, Value: v.Value}
}

func (v *variableAPI) list(c echo.Context) error {
	q := c.QueryParams()
	lq, err := translate.ParseListQuery(q.Get("limit"), q.Get("offset"), q.Get("order_by"), "id",
		translate.VariableOrderFields, v.s.opts.MaxPageLimit)
	if err != nil {
		return BadRequest("%s", err)
	}
	vars, created, err := v.store.list(c.Request().Context())
	if err != nil {
		return err
	}
	translate.SortVariables(vars, created, lq.OrderBy)
	lo, hi := translate.PageBounds(len(vars), lq.Page)
	out := v1VariableCollection{Variables: make([]v1Variable, 0, hi-lo), TotalEntries: len(vars)}
	for _, x := range vars[lo:hi] {
		out.Variables = append(out.Variables, toV1Variable(translate.MaskVariable(x, v.s.sensitive)))
	}
	return c.JSON(http.StatusOK, out)
}

func (v *variableAPI) get(c echo.Context) error {
	key := decodedPathParam(c, "variable_key")
	cur, err := v.store.get(c.Request().Context(), key)
	if err != nil {
		return variableProblem(err)
	}
	return c.JSON(http.StatusOK, toV1Variable(cur.Variable))
}

func (v *variableAPI) post(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	b, err := translate.ParseVariableBody(body)
	if err != nil {
		return badInputProblem(err)
	}
	if err := v.store.set(c.Request().Context(), b.Variable); err != nil {
		return variableProblem(err)
	}
	return c.JSON(http.StatusOK, v1VariableCreated{Description: b.Description, Key: b.Key, Value: b.Value})
}

func (v *variableAPI) patch(c echo.Context) error {
	key := decodedPathParam(c, "variable_key")
	body, err := readBody(c)
	if err != nil {
		return err
	}
	b, err := translate.ParseVariableBody(body)
	if err != nil {
		return badInputProblem(err)
	}
	if b.Key != key { // before the read, as Airflow checks it
		_, err := translate.VariablePatch(key, b, nil)
		return badInputProblem(err)
	}
	ctx := c.Request().Context()
	cur, err := v.store.get(ctx, key)
	if err != nil {
		return variableProblem(err)
	}
	u, err := translate.VariablePatch(key, b, translate.ParseUpdateMask(c.QueryParams()["update_mask"]))
	if err != nil {
		return badInputProblem(err)
	}
	if err := v.store.apply(ctx, cur, u); err != nil {
		return variableProblem(err)
	}
	return c.JSON(http.StatusOK, toV1Variable(cur.updated(u)))
}

func (v *variableAPI) delete(c echo.Context) error {
	if err := v.store.delete(c.Request().Context(), decodedPathParam(c, "variable_key")); err != nil {
		return variableProblem(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// variableProblem words a variable failure as Airflow does.
func variableProblem(err error) error {
	var ie *translate.InputError
	switch {
	case errors.Is(err, errVariableNotFound):
		return NotFound("Variable not found", "Variable does not exist")
	case errors.As(err, &ie):
		return badInputProblem(err)
	}
	return err
}
