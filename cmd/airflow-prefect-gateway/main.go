// Command airflow-prefect-gateway serves Airflow 2.x's stable REST API (/api/v1) on top of a
// Prefect 3 server. main only wires: configuration, logger, Prefect client, gateway, signals.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	// Schedules name IANA time zones; embed the database so that images without one
	// (distroless, scratch) still compute next_dagrun for them.
	_ "time/tzdata"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "0.1.0"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Fprintln(stdout, version)
			return 0
		case "healthcheck":
			return healthcheck(args[1:], stdout)
		case "hash-password":
			return hashPassword(args[1:], os.Stdin, stdout, stderr)
		case "serve":
			args = args[1:]
		}
	}
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "airflow-prefect-gateway:", err)
		return 2
	}
	log, err := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "airflow-prefect-gateway:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	// One registry counts both sides: the gateway's requests and the client's Prefect calls.
	metrics := gateway.NewMetrics(version)
	client, err := prefect.New(prefect.Options{
		BaseURL:                     cfg.PrefectAPIURL,
		Credential:                  cfg.upstreamCredential(),
		Timeout:                     cfg.UpstreamTimeout,
		MaxAttempts:                 cfg.UpstreamMaxAttempts,
		MaxConcurrentCalls:          cfg.UpstreamMaxConcurrency,
		MaxConcurrentWrites:         cfg.UpstreamMaxConcurrency,
		MaxConcurrentCallsPerCaller: cfg.UpstreamMaxPerCaller,
		UserAgent:                   "airflow-prefect-gateway/" + version,
		Observer:                    metrics,
	})
	if err != nil {
		fmt.Fprintln(stderr, "airflow-prefect-gateway:", err)
		return 2
	}
	// Claim the address first: a bad one is a one-line start error, before anything logs.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "airflow-prefect-gateway: invalid GATEWAY_LISTEN %q: %v\n", cfg.Listen, err)
		return 2
	}
	trusted, _ := gateway.ParseTrustedProxies(strings.Join(cfg.TrustedProxies, ",")) // checked by validate
	srv, err := gateway.New(gateway.Options{
		Prefect:        client,
		Logger:         log,
		Version:        version,
		GitVersion:     gitVersion(),
		RequestTimeout: cfg.UpstreamTimeout,
		BodyLimit:      cfg.BodyLimit,
		MaxPageLimit:   cfg.MaxPageLimit,
		JSONFormat:     cfg.JSONFormat,
		DAGCacheTTL:    cfg.DAGCacheTTL,
		DAGMissTTL:     cfg.DAGMissCacheTTL,
		MaxDAGIDLength: cfg.MaxDAGIDLength,
		DAGAliases:     cfg.DAGAliases,
		DAGOwners:      cfg.DAGOwners,
		Metrics:        metrics,
		TrustedProxies: trusted,

		SensitiveVarConnNames: strings.Split(cfg.SensitiveVarConnNames, ","),
		TestConnection:        cfg.TestConnection,
		ExposeConfig:          cfg.ExposeConfig,
		Config:                exposedConfig(cfg),
		Auth: gateway.AuthOptions{Mode: cfg.AuthMode, UsersFile: cfg.UsersFile,
			PassthroughUpstream: cfg.PassthroughUpstream, PassthroughRole: cfg.PassthroughRole,
			CacheTTL: cfg.AuthCacheTTL, Getenv: getenv,
			LoginFailureBurst: cfg.LoginFailureBurst, LoginFailureInterval: cfg.LoginFailureInterval},
		JWT: gateway.JWTOptions{Secret: cfg.JWTSecret, SecretFile: cfg.JWTSecretFile, PrivateKeyFile: cfg.JWTPrivateKeyFile,
			Algorithm: cfg.JWTAlgorithm, KeyID: cfg.JWTKeyID, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			ExpirationTime: cfg.JWTExpirationTime, CLIExpirationTime: cfg.JWTCLIExpirationTime, Leeway: cfg.JWTLeeway},
	})
	if err != nil {
		ln.Close()
		fmt.Fprintln(stderr, "airflow-prefect-gateway:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	gcPercent, memoryLimit := tuneGC(getenv)
	log.Info("serving Airflow's /api/v1 on Prefect",
		zap.String("listen", ln.Addr().String()),
		zap.String("prefect_api_url", client.DisplayURL()),
		zap.String("upstream_auth", client.DefaultCredential().Mode.String()),
		zap.String("auth_mode", cfg.AuthMode),
		zap.String("version", version),
		zap.Int("gogc", gcPercent), zap.Int64("gomemlimit_bytes", memoryLimit))
	if err := srv.Serve(ctx, ln, gateway.ServeOptions{ShutdownTimeout: cfg.ShutdownTimeout}); err != nil {
		log.Error("server stopped with an error", zap.Error(err))
		return 1
	}
	log.Info("stopped")
	return 0
}

func newLogger(format, level string, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.Set(level); err != nil {
		return nil, fmt.Errorf("invalid GATEWAY_LOG_LEVEL %q: %w", level, err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zap.New(core), nil
}

// gitVersion is the commit the binary was built from, when the Go toolchain recorded it.
func gitVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
