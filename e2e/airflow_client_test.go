package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"airflow-prefect-gateway/e2e/harness"
)

// TestOfficialAirflowClient runs the pytest suite in e2e/python, which drives the gateway
// through the official apache-airflow-client (2.x, pinned in requirements.txt) in front of
// the real Prefect server of this test run. The client's models deserialize every answer,
// so a field of the wrong type fails it.
func TestOfficialAirflowClient(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	venv, err := exec.Command("bash", filepath.Join(root, "scripts", "venv.sh")).Output()
	if err != nil {
		t.Fatalf("venv: %v", err)
	}
	useRunner(t) // the task-instance tests need runs really executed
	gw := harness.StartGateway(t, prefectServer.URL, harness.WithUsers(t, harness.User{Name: "client", Password: "client-pass", Role: "Admin"}))
	cmd := exec.Command("bash", filepath.Join(root, "e2e", "python", "run.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"VENV="+strings.TrimSpace(string(venv)),
		"GATEWAY_URL="+gw.URL,
		"GATEWAY_USER=client",
		"GATEWAY_PASSWORD=client-pass",
		"PREFECT_API_URL="+prefectServer.URL,
		"E2E_RUNNER=0", // the harness' runner serves the flows already
	)
	out, err := cmd.CombinedOutput()
	t.Logf("official apache-airflow-client suite:\n%s", out)
	if err != nil {
		t.Fatalf("the official client suite failed: %v", err)
	}
}
