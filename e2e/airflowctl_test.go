package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
)

// TestAirflowctl drives the gateway with airflowctl (apache-airflow-ctl, the Airflow 3 CLI,
// its own venv from scripts/venv-v2-clients.sh ctl), unmodified: login with a username and
// password (the token kept in its debug credentials file under a temporary AIRFLOW_HOME, as
// AIRFLOW_CLI_DEBUG_MODE does, since this machine has no keyring), dags list and get, a
// trigger, and dagrun list and get. Its strict pydantic models read every answer.
func TestAirflowctl(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	venv, err := exec.Command("bash", filepath.Join(root, "scripts", "venv-v2-clients.sh"), "ctl").Output()
	if err != nil {
		t.Fatalf("venv: %v", err)
	}
	ctx := testCtx(t)
	flow := fmt.Sprintf("ctl_%d", time.Now().UnixNano()%1e9)
	if _, err := seed.Deployment(ctx, flow, "daily", map[string]any{"tags": []string{"cli"}}); err != nil {
		t.Fatal(err)
	}
	dagID := flow + ".daily"
	gw := harness.StartGateway(t, prefectServer.URL, harness.WithUsers(t, harness.User{Name: "ops", Password: "ops-pw", Role: "Op"}))
	home := t.TempDir()
	ctl := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(filepath.Join(strings.TrimSpace(string(venv)), "bin", "airflowctl"), args...)
		cmd.Env = append(os.Environ(), "AIRFLOW_HOME="+home, "HOME="+home, "AIRFLOW_CLI_DEBUG_MODE=true", "AIRFLOW_CLI_ENVIRONMENT=e2e")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("airflowctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	ctl("auth", "login", "--api-url", gw.URL, "--username", "ops", "--password", "ops-pw")
	jsonOf := func(out []byte, v any) {
		t.Helper()
		// The JSON answer is the last thing printed (after any notices).
		s := string(out)
		if i := strings.IndexAny(s, "[{"); i >= 0 {
			s = s[i:]
		}
		if err := json.Unmarshal([]byte(s), v); err != nil {
			t.Fatalf("airflowctl printed %q: %v", out, err)
		}
	}
	// One object comes as a list of one in airflowctl's JSON output.
	one := func(out []byte) map[string]any {
		t.Helper()
		var list []map[string]any
		jsonOf(out, &list)
		if len(list) != 1 {
			t.Fatalf("airflowctl printed %d objects: %s", len(list), out)
		}
		return list[0]
	}
	var dags []map[string]any
	jsonOf(ctl("dags", "list", "-o", "json"), &dags)
	found := false
	for _, d := range dags {
		found = found || d["dag_id"] == dagID
	}
	if !found && len(dags) < 100 {
		t.Errorf("dags list does not show %s: %d DAGs", dagID, len(dags))
	}
	dag := one(ctl("dags", "get", dagID, "-o", "json"))
	if fmt.Sprint(dag["dag_id"]) != dagID {
		t.Errorf("dags get: %v", dag)
	}
	run := one(ctl("dags", "trigger", dagID, "--dag-run-id", "ctl-run", "--note", "from airflowctl", "-o", "json"))
	if run["dag_run_id"] != "ctl-run" || run["state"] != "queued" {
		t.Errorf("trigger: %v", run)
	}
	runs, _ := one(ctl("dagrun", "list", "--dag-id", dagID, "--limit", "10", "-o", "json"))["dag_runs"].([]any)
	if len(runs) != 1 || runs[0].(map[string]any)["dag_run_id"] != "ctl-run" {
		t.Errorf("dagrun list: %v", runs)
	}
	run = one(ctl("dagrun", "get", dagID, "ctl-run", "-o", "json"))
	if run["dag_run_id"] != "ctl-run" {
		t.Errorf("dagrun get: %v", run)
	}
}
