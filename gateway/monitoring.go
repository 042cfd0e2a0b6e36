package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
)

// settingsCache keeps Prefect's settings for a minute: they hold the server's configuration,
// fixed while it runs, and load balancers poll /health often. Failures are not kept.
type settingsCache struct {
	mu      sync.Mutex
	value   wire.ServerSettings
	expires time.Time
}

func (sc *settingsCache) read(ctx context.Context, c *prefect.Client) (wire.ServerSettings, error) {
	sc.mu.Lock()
	if time.Now().Before(sc.expires) {
		v := sc.value
		sc.mu.Unlock()
		return v, nil
	}
	sc.mu.Unlock()
	v, err := c.ReadSettings(ctx)
	if err != nil {
		return v, err
	}
	sc.mu.Lock()
	sc.value, sc.expires = v, time.Now().Add(time.Minute)
	sc.mu.Unlock()
	return v, nil
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
	g.Go(func() error { settings, settingsErr = s.settings.read(gctx, s.prefect); return nil })
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
