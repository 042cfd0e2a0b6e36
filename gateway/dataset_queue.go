package gateway

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// Queued dataset events (issue 15). In Airflow a DAG scheduled on several datasets keeps a
// queue row for each dataset that has changed since its last run, until all of them have
// and the run starts. Prefect's equivalent, a deployment trigger that waits for several
// asset events, keeps that partial state inside the server's trigger evaluation, which its
// API does not expose: there is no queue to read or to clear. So every read answers
// Airflow's own 404 for an empty queue, and every delete Airflow's 404 for deleting nothing,
// with Airflow's wordings. `before` is still checked as Airflow checks it. No Prefect call,
// for any DAG, visible or not, as Airflow does not look the DAG up either.

func (s *Server) registerDatasetQueueRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/datasets/queuedEvent/:uri", s.datasetQueue, RoleViewer)
	s.route(g, http.MethodDelete, "/datasets/queuedEvent/:uri", s.datasetQueue, RoleAdmin)
	s.route(g, http.MethodGet, "/dags/:dag_id/datasets/queuedEvent", s.dagDatasetQueue, RoleViewer)
	s.route(g, http.MethodDelete, "/dags/:dag_id/datasets/queuedEvent", s.dagDatasetQueue, RoleAdmin)
	s.route(g, http.MethodGet, "/dags/:dag_id/datasets/queuedEvent/:uri", s.dagDatasetQueue, RoleViewer)
	s.route(g, http.MethodDelete, "/dags/:dag_id/datasets/queuedEvent/:uri", s.dagDatasetQueue, RoleAdmin)
}

// checkBefore reads the optional `before` as Airflow's format_datetime does.
func checkBefore(c echo.Context) error {
	if v := c.QueryParam("before"); v != "" {
		if _, err := translate.ParseTime(v); err != nil {
			return NewProblem(http.StatusBadRequest, "Incorrect datetime argument", err.Error())
		}
	}
	return nil
}

func queueEventNotFound(format string, args ...any) *Problem {
	return NotFound("Queue event not found", format, args...)
}

func (s *Server) datasetQueue(c echo.Context) error {
	if err := checkBefore(c); err != nil {
		return err
	}
	return queueEventNotFound("Queue event with dataset uri: `%s` was not found", decodedPathParam(c, "uri"))
}

func (s *Server) dagDatasetQueue(c echo.Context) error {
	if err := checkBefore(c); err != nil {
		return err
	}
	dagID := decodedPathParam(c, "dag_id")
	if c.ParamNames()[len(c.ParamNames())-1] == "uri" {
		return queueEventNotFound("Queue event with dag_id: `%s` and dataset uri: `%s` was not found", dagID, decodedPathParam(c, "uri"))
	}
	return queueEventNotFound("Queue event with dag_id: `%s` was not found", dagID)
}
