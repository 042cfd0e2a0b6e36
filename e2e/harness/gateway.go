package harness

import (
	"bytes"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
)

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Sync satisfies zapcore.WriteSyncer.
func (b *SyncBuffer) Sync() error { return nil }

// String returns everything logged so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Gateway is an in-process gateway in front of a Prefect server.
type Gateway struct {
	URL     string
	Server  *gateway.Server
	Prefect *prefect.Client
	// Logs holds every JSON log line the gateway wrote.
	Logs *SyncBuffer
	http *httptest.Server
}

// GatewayOption adjusts the gateway's options before it starts.
type GatewayOption func(*gateway.Options, *prefect.Options)

// StartGateway serves a gateway on a loopback httptest server in front of prefectURL and
// stops it when t ends. Without options it runs with auth mode "none".
func StartGateway(t testing.TB, prefectURL string, opts ...GatewayOption) *Gateway {
	t.Helper()
	logs := &SyncBuffer{}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), logs, zap.DebugLevel))
	// As cmd/ wires it: one registry for requests and Prefect calls.
	metrics := gateway.NewMetrics("e2e")
	po := prefect.Options{BaseURL: prefectURL, Timeout: 20 * time.Second, Observer: metrics}
	gopts := gateway.Options{Logger: log, Version: "e2e", RequestTimeout: 20 * time.Second,
		Auth: gateway.AuthOptions{Mode: "none"}, Metrics: metrics}
	for _, o := range opts {
		o(&gopts, &po)
	}
	client, err := prefect.New(po)
	if err != nil {
		t.Fatalf("prefect client: %v", err)
	}
	gopts.Prefect = client
	srv, err := gateway.New(gopts)
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &Gateway{URL: hs.URL, Server: srv, Prefect: client, Logs: logs, http: hs}
}
