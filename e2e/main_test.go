// Package e2e runs the gateway against a real Prefect server: one `prefect server start`
// per test run (scripts/prefect-server.sh), SQLite in a temporary PREFECT_HOME, a free
// loopback port. Tests fail, never skip, when the server cannot start.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/prefect"
)

var (
	// prefectServer is the shared real Prefect server of this test run.
	prefectServer *harness.PrefectServer
	// seed makes test data in it.
	seed *harness.Seeder
	// runner executes the runs of e2e/flows/flows.py's deployments for real, while a test that
	// needs it runs (useRunner): its polling and its runs' processes would load the shared
	// Prefect server of the load tests.
	runner *harness.Runner
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	srv, err := harness.StartPrefect()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: cannot start the real Prefect server: %v\n", err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		}
	}()
	prefectServer = srv
	seed, err = harness.NewSeeder(srv.URL, prefect.Credential{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: tail of the prefect server log:\n%s\n", tail(srv.Log(), 4000))
	}
	return code
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// testCtx is a context for seeding that ends with the test.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// useRunner starts the real Prefect runner for the test (stopped when it ends).
func useRunner(t *testing.T) *harness.Runner {
	t.Helper()
	r, err := harness.StartRunner(prefectServer.URL)
	if err != nil {
		t.Fatalf("cannot start the real Prefect runner: %v", err)
	}
	runner = r
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tail of the prefect runner log:\n%s", tail(r.Log(), 4000))
		}
		r.Stop()
		runner = nil
	})
	return r
}
