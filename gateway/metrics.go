package gateway

import "github.com/labstack/echo/v4"

// observeRequest records request count and latency by route and status for /metrics.
// (Filled in by the reliability work.)
func (s *Server) observeRequest(next echo.HandlerFunc) echo.HandlerFunc {
	return next
}

// registerMetricsRoutes serves /metrics. (Filled in by the reliability work.)
func (s *Server) registerMetricsRoutes(e *echo.Echo) {}
