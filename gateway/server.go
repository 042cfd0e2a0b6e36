// Package gateway is the HTTP side of the gateway: an Echo app that serves Airflow's stable
// REST API (/api/v1) and carries each call out on Prefect through package prefect, with the
// pure mapping in package translate. One file per Airflow resource, one per middleware.
package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/translate"
)

// Options are everything the gateway needs; cmd/ fills them from the configuration.
type Options struct {
	Prefect *prefect.Client
	Logger  *zap.Logger

	// Version and GitVersion answer GET /api/v1/version.
	Version    string
	GitVersion string

	// RequestTimeout bounds one Airflow request, Prefect calls included.
	RequestTimeout time.Duration
	// BodyLimit is the largest request body accepted, in Echo's notation ("2M").
	BodyLimit string
	// MaxPageLimit caps Airflow's `limit` (Airflow's [api] maximum_page_limit, default 100).
	MaxPageLimit int

	// DAGCacheTTL is how long a resolved DAG id → deployment stays cached.
	DAGCacheTTL time.Duration
	// DAGMissTTL is how long a dag_id no deployment answers to is remembered as unknown.
	DAGMissTTL time.Duration
	// MaxDAGIDLength is the longest dag_id looked up in Prefect; a longer one is unknown
	// without a call (default Airflow's 250).
	MaxDAGIDLength int
	// DAGAliases maps an Airflow dag_id to "flow/deployment".
	DAGAliases map[string]string
	// DAGOwners maps a dag_id to its Airflow owners.
	DAGOwners map[string][]string

	// TrustedProxies are the proxies whose X-Forwarded-For names the client (for the log,
	// login backoff and fair shares); none by default, so the peer address counts.
	TrustedProxies []*net.IPNet

	// Auth configures inbound authentication and authorization.
	Auth AuthOptions
	// JWT configures the tokens of Airflow 3's /auth/token for /api/v2.
	JWT JWTOptions

	// SensitiveVarConnNames adds words to Airflow's list of secret-looking names (Airflow's
	// [core] sensitive_var_conn_names): variables whose key holds one are masked in listings,
	// and connection extras hide the values under such keys.
	SensitiveVarConnNames []string
	// TestConnection is Airflow's [core] test_connection: "Disabled" (default) and "Hidden"
	// answer POST /connections/test with Airflow's 403; "Enabled" tests the host and port.
	TestConnection string
	// ExposeConfig is Airflow's [webserver] expose_config: "False" (default) answers GET
	// /config with Airflow's 403; "True" or "non-sensitive-only" shows Config (secrets always
	// hidden).
	ExposeConfig string
	// Config is what GET /config shows: the gateway's own settings (cmd/ fills it).
	Config []ConfigOption

	// JSONFormat is how answers are written: JSONFormatAirflow (Airflow's indented,
	// sorted-key JSON, the default) or JSONFormatCompact.
	JSONFormat string

	// Metrics is the /metrics registry. Pass the same value as prefect.Options.Observer so
	// that Prefect calls are counted; nil makes a fresh one (without Prefect call figures
	// unless the client was built with it).
	Metrics *Metrics
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.BodyLimit == "" {
		o.BodyLimit = "2M"
	}
	if o.MaxPageLimit <= 0 {
		o.MaxPageLimit = 100
	}
	if o.DAGCacheTTL <= 0 {
		o.DAGCacheTTL = 5 * time.Minute
	}
}

// Server is the gateway's HTTP application.
type Server struct {
	// draining is set once Serve's context ends: every answer then closes its connection.
	draining atomic.Bool

	opts    Options
	echo    *echo.Echo
	prefect *prefect.Client
	log     *zap.Logger
	auth    *authenticator
	// settings caches Prefect's settings for /health.
	settings settingsCache
	// tokens signs and checks /api/v2's bearer tokens.
	tokens *tokens
	// dags resolves dag_ids to deployments (cached per upstream credential).
	dags *prefect.Resolver
	// metrics backs /metrics.
	metrics *Metrics
	// sensitive names the keys whose values are never shown.
	sensitive translate.Sensitive
	// blockTypes registers the gateway's block types at first use.
	blockTypes *prefect.BlockTypes
}

// New builds the Echo app with its middleware and routes.
func New(opts Options) (*Server, error) {
	opts.setDefaults()
	if opts.Prefect == nil {
		return nil, errors.New("gateway: a Prefect client is required")
	}
	s := &Server{opts: opts, prefect: opts.Prefect, log: opts.Logger,
		sensitive: translate.NewSensitive(opts.SensitiveVarConnNames), blockTypes: prefect.NewBlockTypes(opts.Prefect)}
	auth, err := newAuthenticator(opts.Auth, opts.Prefect, opts.Logger)
	if err != nil {
		return nil, err
	}
	s.auth = auth
	if s.tokens, err = newTokens(opts.JWT, opts.Logger); err != nil {
		return nil, err
	}
	s.dags, err = prefect.NewResolver(opts.Prefect, opts.DAGCacheTTL, opts.DAGAliases,
		prefect.WithMissTTL(opts.DAGMissTTL), prefect.WithMaxDAGIDLength(opts.MaxDAGIDLength))
	if err != nil {
		return nil, err
	}
	s.metrics = opts.Metrics
	if s.metrics == nil {
		s.metrics = NewMetrics(opts.Version)
	}
	s.dags.SetStats(s.metrics)

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.errorHandler
	format, err := ParseJSONFormat(opts.JSONFormat)
	if err != nil {
		return nil, err
	}
	e.JSONSerializer = &jsonWriter{airflow: format == JSONFormatAirflow}
	e.Pre(headAsGet, recordGeneration)
	e.IPExtractor = ipExtractor(opts.TrustedProxies)
	e.Use(
		dropForeignRequestID,
		s.closeWhenDone,
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{
			// A caller's own id is kept only when it looks like an id, so logs cannot be
			// forged through it.
			Generator: newRequestID,
			RequestIDHandler: func(c echo.Context, id string) {
				c.Set(requestIDKey, id)
			},
		}),
		s.accessLog,
		s.observeRequest,
		s.recoverPanics,
		s.checkQuery,
		middleware.BodyLimit(opts.BodyLimit),
		s.requestDeadline,
	)
	s.echo = e
	s.registerRoutes(e)
	return s, nil
}

// Handler is the whole app, for httptest and for http.Server.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the router, for route/spec drift tests.
func (s *Server) Echo() *echo.Echo { return s.echo }

// requestDeadline bounds the whole request, Prefect calls included, so a hung Prefect turns
// into a 504 instead of a hung client. Reading the body is bounded by the same deadline, so
// a client that sends it too slowly gets a 408 while there is still time to answer (the
// server's ReadTimeout would cut it later, past WriteTimeout, with no answer at all).
func (s *Server) requestDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(requestParentKey, c.Request().Context()) // for answers streamed past the deadline (logs)
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.opts.RequestTimeout)
		defer cancel()
		if dl, ok := ctx.Deadline(); ok && c.Request().ContentLength != 0 {
			// Not supported by httptest's recorder; the server's connections support it.
			_ = http.NewResponseController(c.Response().Writer).SetReadDeadline(dl)
		}
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// airflowJSON reports whether answers are written in Airflow's JSON layout.
func (s *Server) airflowJSON() bool {
	j, ok := s.echo.JSONSerializer.(*jsonWriter)
	return !ok || j.airflow
}
