package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
)

func TestHealthFollowsPrefect(t *testing.T) {
	// The gateway talks to the real server through a proxy the test can cut, so "Prefect
	// stopped" is observed without stopping the server the other tests share.
	target, _ := url.Parse(prefectServer.URL)
	var down atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			// Drop the connection as a stopped server would.
			hj, ok := w.(http.Hijacker)
			if ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	gw := harness.StartGateway(t, front.URL+target.Path)
	api := harness.NewAPI(t, gw.URL)

	type health struct {
		Metadatabase struct{ Status *string } `json:"metadatabase"`
		Scheduler    struct {
			Status    *string `json:"status"`
			Heartbeat *string `json:"latest_scheduler_heartbeat"`
		} `json:"scheduler"`
	}
	read := func() health {
		t.Helper()
		res := api.Get("/health")
		if res.Status != http.StatusOK {
			t.Fatalf("health: status %d: %s", res.Status, res.Body)
		}
		var h health
		res.JSON(t, &h)
		return h
	}

	h := read()
	if h.Metadatabase.Status == nil || *h.Metadatabase.Status != "healthy" {
		t.Fatalf("metadatabase with Prefect up = %v, want healthy", h.Metadatabase.Status)
	}
	// The harness' Prefect runs without its scheduler service (runs move only when a test moves
	// them): the gateway says so, and makes up no heartbeat (Prefect keeps none).
	if h.Scheduler.Status == nil || *h.Scheduler.Status != "unhealthy" || h.Scheduler.Heartbeat != nil {
		t.Fatalf("scheduler of a Prefect without its scheduler service = %+v, want unhealthy without a heartbeat", h.Scheduler)
	}

	down.Store(true)
	h = read()
	if h.Metadatabase.Status == nil || *h.Metadatabase.Status != "unhealthy" {
		t.Fatalf("metadatabase with Prefect down = %v, want unhealthy", h.Metadatabase.Status)
	}
	if h.Scheduler.Status == nil || *h.Scheduler.Status != "unhealthy" {
		t.Fatalf("scheduler with Prefect down = %v, want unhealthy", h.Scheduler.Status)
	}
	// The gateway keeps serving while Prefect is away.
	if res := api.Get("/version"); res.Status != http.StatusOK {
		t.Fatalf("version with Prefect down: %d", res.Status)
	}

	down.Store(false)
	if h = read(); *h.Metadatabase.Status != "healthy" {
		t.Fatalf("metadatabase after Prefect came back = %v, want healthy", *h.Metadatabase.Status)
	}
}

func TestVersion(t *testing.T) {
	gw := harness.StartGateway(t, prefectServer.URL)
	res := harness.NewAPI(t, gw.URL).Get("/version")
	if res.Status != http.StatusOK {
		t.Fatalf("status %d", res.Status)
	}
	var v struct {
		Version    string  `json:"version"`
		GitVersion *string `json:"git_version"`
	}
	res.JSON(t, &v)
	if v.Version != "e2e" {
		t.Errorf("version = %q, want the gateway's own (e2e)", v.Version)
	}
}

func TestUnknownRouteIsProblem(t *testing.T) {
	gw := harness.StartGateway(t, prefectServer.URL)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/api/v1/nope", http.StatusNotFound},
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodDelete, "/api/v1/health", http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(tc.method, gw.URL+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p gateway.Problem
		harness.DecodeProblem(t, res, &p)
		if res.StatusCode != tc.status || p.Status != tc.status || p.Title == "" || p.Type == "" || p.Detail == "" {
			t.Errorf("%s %s = %d %+v, want a %d problem", tc.method, tc.path, res.StatusCode, p, tc.status)
		}
	}
}

func TestPrefectVersionIsReal(t *testing.T) {
	// The server under test is the pinned prefect from the venv, and says so.
	c, _ := prefect.New(prefect.Options{BaseURL: prefectServer.URL})
	v, err := c.ServerVersion(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if v != prefectServer.Version {
		t.Fatalf("server version %q, venv has %q", v, prefectServer.Version)
	}
	t.Logf("end-to-end tests ran against prefect server %s at %s", v, prefectServer.URL)
}
