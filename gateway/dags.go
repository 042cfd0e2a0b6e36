package gateway

import "github.com/labstack/echo/v4"

// registerDAGRoutes wires /dags (issue: DAGs).
func (s *Server) registerDAGRoutes(g *echo.Group) {}
