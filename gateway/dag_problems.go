package gateway

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// Import errors and DAG warnings (issue 15): what Airflow's DAG processor reports about DAG
// files. Prefect parses no files: a deployment exists only once `prefect deploy` (or the API)
// has registered it, and a flow whose code cannot be loaded fails its run, not a parse. So
// Prefect has no import errors and no DAG warnings to report, and these answer Airflow's
// own "none": empty collections, and 404 for any id. Parameters are still checked as Airflow
// checks them (limit, offset, order_by's allow-list). No Prefect call.

func (s *Server) registerDAGProblemRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/importErrors", s.listImportErrors, RoleViewer)
	s.route(g, http.MethodGet, "/importErrors/:import_error_id", s.getImportError, RoleViewer)
	s.route(g, http.MethodGet, "/dagWarnings", s.listDAGWarnings, RoleViewer)
}

var (
	importErrorOrderFields = []string{"import_error_id", "timestamp", "filename"}
	dagWarningOrderFields  = []string{"dag_id", "warning_type", "message", "timestamp"}
)

type importErrorCollection struct {
	ImportErrors []struct{} `json:"import_errors"`
	TotalEntries int        `json:"total_entries"`
}

// dagWarningCollection is what Airflow's server sends (dag_warnings), as its 2.10.5 document
// says too (2.10.0's named the list import_errors).
type dagWarningCollection struct {
	DAGWarnings  []struct{} `json:"dag_warnings"`
	TotalEntries int        `json:"total_entries"`
}

// checkListParams checks the paging and ordering parameters every Airflow list takes.
func (s *Server) checkListParams(c echo.Context, defaultOrder string, orderFields []string) (translate.Page, translate.OrderBy, error) {
	page, err := translate.ParsePage(c.QueryParam("limit"), c.QueryParam("offset"), s.opts.MaxPageLimit)
	if err != nil {
		return page, translate.OrderBy{}, BadRequest("%s", err)
	}
	order, err := translate.ParseOrderBy(c.QueryParam("order_by"), defaultOrder, orderFields)
	if err != nil {
		return page, order, BadRequest("%s", err)
	}
	return page, order, nil
}

func (s *Server) listImportErrors(c echo.Context) error {
	if _, _, err := s.checkListParams(c, "import_error_id", importErrorOrderFields); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, importErrorCollection{ImportErrors: []struct{}{}})
}

func (s *Server) getImportError(c echo.Context) error {
	return NotFound("Import error not found", "The ImportError with import_error_id: `%s` was not found", c.Param("import_error_id"))
}

func (s *Server) listDAGWarnings(c echo.Context) error {
	if _, _, err := s.checkListParams(c, "timestamp", dagWarningOrderFields); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dagWarningCollection{DAGWarnings: []struct{}{}})
}
