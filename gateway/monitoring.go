package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// healthState remembers when Prefect last answered /ready, for the scheduler heartbeat.
type healthState struct {
	mu       sync.Mutex
	lastSeen time.Time
}

func (h *healthState) seen(t time.Time) {
	h.mu.Lock()
	h.lastSeen = t
	h.mu.Unlock()
}

func (h *healthState) last() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastSeen
}

type healthStatus struct {
	Status *string `json:"status"`
}

type schedulerStatus struct {
	Status    *string `json:"status"`
	Heartbeat *string `json:"latest_scheduler_heartbeat"`
}

type triggererStatus struct {
	Status    *string `json:"status"`
	Heartbeat *string `json:"latest_triggerer_heartbeat"`
}

type dagProcessorStatus struct {
	Status    *string `json:"status"`
	Heartbeat *string `json:"latest_dag_processor_heartbeat"`
}

type healthInfo struct {
	Metadatabase healthStatus       `json:"metadatabase"`
	Scheduler    schedulerStatus    `json:"scheduler"`
	Triggerer    triggererStatus    `json:"triggerer"`
	DagProcessor dagProcessorStatus `json:"dag_processor"`
}

// getHealth answers Airflow's HealthInfo from Prefect's /ready: the metadatabase is Prefect's
// database, the scheduler is Prefect's API itself (it schedules and orchestrates), and its
// heartbeat is the last time Prefect answered. Airflow reports components that never ran as
// null; the gateway has no triggerer or DAG processor, so those stay null. Always 200, as in
// Airflow: the body says what is unhealthy.
func (s *Server) getHealth(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	status := "healthy"
	if err := s.prefect.Ready(ctx); err != nil {
		status = "unhealthy"
	} else {
		s.health.seen(time.Now())
	}
	var hb *string
	if t := s.health.last(); !t.IsZero() {
		v := translate.FormatTime(t)
		hb = &v
	}
	info := healthInfo{
		Metadatabase: healthStatus{Status: &status},
		Scheduler:    schedulerStatus{Status: &status, Heartbeat: hb},
	}
	return c.JSON(http.StatusOK, info)
}

type versionInfo struct {
	Version    string  `json:"version"`
	GitVersion *string `json:"git_version"`
}

func (s *Server) getVersion(c echo.Context) error {
	v := versionInfo{Version: s.opts.Version}
	if s.opts.GitVersion != "" {
		g := s.opts.GitVersion
		v.GitVersion = &g
	}
	return c.JSON(http.StatusOK, v)
}
