package gateway

import "github.com/labstack/echo/v4"

// registerDAGRunRoutes wires /dags/{dag_id}/dagRuns (issue: DAG runs).
func (s *Server) registerDAGRunRoutes(g *echo.Group) {}
