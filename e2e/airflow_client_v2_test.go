package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"airflow-prefect-gateway/e2e/harness"
)

// TestOfficialAirflowClientV2 runs e2e/python_v2 (pytest) in its own venv
// (scripts/venv-v2-clients.sh client: apache-airflow-client 3.3.2): the official Airflow 3
// client drives the gateway's /api/v2 in front of this run's real Prefect server, with a
// real runner executing the runs it waits for.
func TestOfficialAirflowClientV2(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	venv, err := exec.Command("bash", filepath.Join(root, "scripts", "venv-v2-clients.sh"), "client").Output()
	if err != nil {
		t.Fatalf("venv: %v", err)
	}
	useRunner(t)
	gw := harness.StartGateway(t, prefectServer.URL, harness.WithUsers(t, harness.User{Name: "client", Password: "client-pass", Role: "Admin"}))
	cmd := exec.Command(filepath.Join(strings.TrimSpace(string(venv)), "bin", "python"), "-m", "pytest", "-q", filepath.Join(root, "e2e", "python_v2"))
	cmd.Dir = filepath.Join(root, "e2e", "python_v2")
	cmd.Env = append(os.Environ(), "GATEWAY_URL="+gw.URL, "GATEWAY_USER=client", "GATEWAY_PASSWORD=client-pass",
		"PREFECT_API_URL="+prefectServer.URL, "RUNNER_DAG="+pipelineDAG)
	out, err := cmd.CombinedOutput()
	t.Logf("apache-airflow-client 3.3.2 suite:\n%s", out)
	if err != nil {
		t.Fatalf("the Airflow 3 client suite failed: %v", err)
	}
}
