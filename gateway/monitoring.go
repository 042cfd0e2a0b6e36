package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect/wire"
)

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

// getHealth answers Airflow's HealthInfo from Prefect: the metadatabase is Prefect's
// database (its /ready), and the scheduler what Prefect says of its scheduler service
// (/admin/settings: server.services.scheduler.enabled): healthy when it runs, unhealthy when
// it is off or Prefect is down, null when Prefect does not say (Prefect Cloud serves no
// settings). Prefect keeps no heartbeat of its services, so latest_scheduler_heartbeat is
// null. The gateway has no triggerer or DAG processor: Airflow reports components that never
// ran as null. Always 200, as in Airflow: the body says what is unhealthy.
func (s *Server) getHealth(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	var readyErr, settingsErr error
	var settings wire.ServerSettings
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { readyErr = s.prefect.Ready(gctx); return nil })
	g.Go(func() error { settings, settingsErr = s.prefect.ReadSettings(gctx); return nil })
	_ = g.Wait()
	healthy, unhealthy := "healthy", "unhealthy"
	db := &healthy
	if readyErr != nil {
		db = &unhealthy
	}
	var scheduler *string
	switch enabled := settings.Server.Services.Scheduler.Enabled; {
	case readyErr != nil:
		scheduler = &unhealthy
	case settingsErr == nil && enabled != nil && *enabled:
		scheduler = &healthy
	case settingsErr == nil && enabled != nil:
		scheduler = &unhealthy
	}
	info := healthInfo{
		Metadatabase: healthStatus{Status: db},
		Scheduler:    schedulerStatus{Status: scheduler},
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
