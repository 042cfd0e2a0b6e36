// Package harness starts the real parts end-to-end tests run against: a Prefect server from
// the project venv (through scripts/prefect-server.sh), the gateway in process in front of
// it, and a validator that checks every gateway response against Airflow's own spec.
package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"airflow-prefect-gateway/spec/spectest"
)

// RepoRoot is the directory holding go.mod, found upwards from the working directory.
func RepoRoot() (string, error) { return spectest.ModuleRoot() }

// PrefectServer is a running `prefect server start` process.
type PrefectServer struct {
	URL     string // API root, http://127.0.0.1:<port>/api
	Version string // prefect package version
	Dir     string // state directory: home/, server.log, pid
	root    string
}

// StartPrefect starts a fresh Prefect server with its own temporary PREFECT_HOME and SQLite
// database on a free loopback port, and waits until it is healthy. env adds settings such
// as PREFECT_SERVER_API_AUTH_STRING=user:pass. The first call may build the venv.
func StartPrefect(env ...string) (*PrefectServer, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "prefect-e2e-*")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "prefect-server.sh"), "start", dir)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("start prefect server: %w\n%s", err, stderr.String())
	}
	url := strings.TrimSpace(lastLine(stdout.String()))
	version, _ := os.ReadFile(filepath.Join(dir, "version"))
	p := &PrefectServer{URL: url, Version: strings.TrimSpace(string(version)), Dir: dir, root: root}
	fmt.Fprintf(os.Stderr, "e2e: real prefect server %s at %s (started in %s)\n", p.Version, p.URL, time.Since(start).Round(100*time.Millisecond))
	return p, nil
}

// Stop ends the server and removes its state.
func (p *PrefectServer) Stop() error {
	if p == nil {
		return nil
	}
	cmd := exec.Command("bash", filepath.Join(p.root, "scripts", "prefect-server.sh"), "stop", p.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("stop prefect server: %w: %s", err, out)
	}
	return os.RemoveAll(p.Dir)
}

// Log returns the server's output so far, for failure messages.
func (p *PrefectServer) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "server.log"))
	return string(b)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
