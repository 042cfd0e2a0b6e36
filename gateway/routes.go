package gateway

import (
	"github.com/labstack/echo/v4"
)

// registerRoutes wires every Airflow route. Each resource file adds its own routes through
// s.route, which puts authentication and the role check in front of the handler.
func (s *Server) registerRoutes(e *echo.Echo) {
	v1 := e.Group("/api/v1")
	// Open, as in Airflow.
	v1.GET("/health", s.getHealth, s.validateRequest)
	v1.GET("/version", s.getVersion, s.validateRequest)

	s.registerDAGRoutes(v1)
	s.registerDAGRunRoutes(v1)
	s.registerDAGDeleteRoutes(v1)
	s.registerDAGSourceRoutes(v1)
	s.registerDAGStatsRoutes(v1)
	s.registerDAGProblemRoutes(v1)
	s.registerDatasetQueueRoutes(v1)
	s.registerEventLogRoutes(v1)
	s.registerVariableRoutes(v1)
	s.registerDatasetRoutes(v1)
	s.registerConnectionRoutes(v1)
	s.registerPoolRoutes(v1)
	s.registerSecurityRoutes(v1)
	s.registerConfigRoutes(v1)
	s.registerTaskInstanceRoutes(v1)
	s.registerSpecRoutes(v1)
	s.registerMetricsRoutes(e)

	s.registerV2Routes(e)
}

// route registers an authenticated route that needs at least role min.
func (s *Server) route(g *echo.Group, method, path string, h echo.HandlerFunc, min Role) {
	g.Add(method, path, h, s.authenticate, requireRole(min), s.validateRequest)
}
