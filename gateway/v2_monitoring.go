package gateway

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// AirflowV2Version is what GET /api/v2/version reports: the Airflow release whose REST API
// the gateway's v2 document is cut from (apache-airflow-core 3.3.2). Clients that serve both
// generations (astro CLI, astro-airflow-mcp, Airlift, Terraform) pick the API from the major
// of this string, airflow-mcp-server refuses versions up to 3.1.0, and generated clients
// expect the field sets of the release named: 3.3.2 is the one the gateway answers with.
const AirflowV2Version = "3.3.2"

// getVersionV2 is GET /api/v2/version; git_version is the gateway's own commit.
func (s *Server) getVersionV2(c echo.Context) error {
	v := versionInfo{Version: AirflowV2Version}
	if s.opts.GitVersion != "" {
		g := s.opts.GitVersion
		v.GitVersion = &g
	}
	return c.JSON(http.StatusOK, v)
}
