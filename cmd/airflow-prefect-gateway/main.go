// Command airflow-prefect-gateway serves Airflow 2.x's stable REST API (/api/v1) on top of a
// Prefect 3 server. main only wires: configuration, logger, Prefect client, gateway, signals.
package main

import (
	"context"
	"errors"
	"flag"
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
	return dispatch(env{ctx: ctx, getenv: getenv, stdin: stdinOf(), stdout: stdout, stderr: stderr}, args)
}

// serve is the serve command: configuration, logger, Prefect client, gateway, signals.
func serve(e env, args []string) int {
	ctx, getenv, stdout, stderr := e.ctx, e.getenv, e.stdout, e.stderr
	cfg, err := loadConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		fs, _, _ := serveFlags()
		printCommandHelp(stdout, commandByName("serve"), fs)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "airflow-prefect-gateway:", err)
		if strings.HasPrefix(err.Error(), "flag provided but not defined") {
			fmt.Fprintf(stderr, "Run '%s serve --help' for the flags, '%s --help' for the commands.\n", binary, binary)
		}
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
		fmt.Fprintln(stderr, "airflow-prefect-gateway:", listenError(cfg.Listen, err))
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

// listenError words a failed listen: a busy port is not an invalid setting.
func listenError(addr string, err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Sprintf("cannot listen on %s: the address is already in use (another gateway, or make run?); "+
			"stop it or choose another address with --listen or GATEWAY_LISTEN", addr)
	}
	if errors.Is(err, syscall.EACCES) {
		return fmt.Sprintf("cannot listen on %s: permission denied (ports below 1024 need privileges); choose another with --listen or GATEWAY_LISTEN", addr)
	}
	return fmt.Sprintf("invalid GATEWAY_LISTEN %q: %v", addr, err)
}
