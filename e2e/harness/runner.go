package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"airflow-prefect-gateway/prefect"
)

// Runner is a real Prefect runner (flow.serve) executing the flows of e2e/flows/flows.py
// against a Prefect server: runs triggered through the gateway really run, with their task
// runs, logs, results and artifacts.
type Runner struct {
	// ResultStorage is where the runner's flows persist their results (PREFECT_LOCAL_STORAGE_PATH).
	ResultStorage string
	// Deployments are the dag_ids the runner serves.
	Deployments []string
	dir         string
	cmd         *exec.Cmd
	done        chan struct{}
}

// RunnerDAGs are the dag_ids e2e/flows/flows.py serves.
var RunnerDAGs = []string{"ti_pipeline.e2e", "ti_failing.e2e"}

// StartRunner starts the runner in its own process group, with its own PREFECT_HOME, and
// waits until Prefect holds its deployments.
func StartRunner(prefectURL string) (*Runner, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	venv, err := exec.Command("bash", filepath.Join(root, "scripts", "venv.sh")).Output()
	if err != nil {
		return nil, fmt.Errorf("venv: %w", err)
	}
	dir, err := os.MkdirTemp("", "prefect-runner-e2e-*")
	if err != nil {
		return nil, err
	}
	r := &Runner{ResultStorage: filepath.Join(dir, "results"), Deployments: RunnerDAGs, dir: dir, done: make(chan struct{})}
	log, err := os.Create(filepath.Join(dir, "runner.log"))
	if err != nil {
		return nil, err
	}
	r.cmd = exec.Command(filepath.Join(strings.TrimSpace(string(venv)), "bin", "python"), filepath.Join(root, "e2e", "flows", "flows.py"))
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), "PREFECT_API_URL="+prefectURL, "PREFECT_HOME="+filepath.Join(dir, "home"),
		"PREFECT_LOCAL_STORAGE_PATH="+r.ResultStorage, "PREFECT_RUNNER_POLL_FREQUENCY=1", "PREFECT_LOGGING_LEVEL=INFO")
	r.cmd.Stdout, r.cmd.Stderr = log, log
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // flow-run processes go with it
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = r.cmd.Wait(); log.Close(); close(r.done) }()
	c, err := prefect.New(prefect.Options{BaseURL: prefectURL, Timeout: 10 * time.Second})
	if err != nil {
		r.Stop()
		return nil, err
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, dagID := range RunnerDAGs {
		flow, dep, _ := strings.Cut(dagID, ".")
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := c.ReadDeploymentByName(ctx, flow, dep)
			cancel()
			if err == nil {
				break
			}
			select {
			case <-r.done:
				return nil, fmt.Errorf("the runner exited during start:\n%s", r.Log())
			default:
			}
			if time.Now().After(deadline) {
				r.Stop()
				return nil, fmt.Errorf("the runner did not serve %s in 3 minutes:\n%s", dagID, r.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fmt.Fprintf(os.Stderr, "e2e: real prefect runner serving %s (pid %d)\n", strings.Join(RunnerDAGs, ", "), r.cmd.Process.Pid)
	return r, nil
}

// Log is the runner's output so far.
func (r *Runner) Log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "runner.log"))
	return string(b)
}

// Stop ends the runner's process group (TERM, then KILL after 10 s) and removes its state.
func (r *Runner) Stop() {
	if r == nil || r.cmd.Process == nil {
		return
	}
	pgid := r.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-r.done
	}
	_ = os.RemoveAll(r.dir)
}
