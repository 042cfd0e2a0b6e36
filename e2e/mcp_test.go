package e2e

import (
	"bytes"
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

// TestAirflowMCPServer starts airflow-mcp-server (0.9.1, its own venv from
// scripts/venv-v2-clients.sh mcp) against the gateway, unmodified, through an MCP client
// (e2e/mcp/drive_mcp.py, the mcp package it ships with): the server reads the gateway's
// /openapi.json, builds its tools from it, and its list and trigger tools work.
func TestAirflowMCPServer(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", filepath.Join(root, "scripts", "venv-v2-clients.sh"), "mcp").Output()
	if err != nil {
		t.Fatalf("venv: %v", err)
	}
	venv := strings.TrimSpace(string(out))
	ctx := testCtx(t)
	flow := fmt.Sprintf("mcp_%d", time.Now().UnixNano()%1e9)
	if _, err := seed.Deployment(ctx, flow, "daily", nil); err != nil {
		t.Fatal(err)
	}
	dagID := flow + ".daily"
	gw := harness.StartGateway(t, prefectServer.URL, harness.WithUsers(t, harness.User{Name: "agent", Password: "agent-pw", Role: "User"}))
	token := harness.NewV2API(t, gw.URL).Login("agent", "agent-pw").Token()
	cmd := exec.Command(filepath.Join(venv, "bin", "python"), filepath.Join(root, "e2e", "mcp", "drive_mcp.py"), filepath.Join(venv, "bin", "airflow-mcp-server"))
	cmd.Env = append(os.Environ(), "GATEWAY_URL="+gw.URL, "TOKEN="+token, "DAG_ID="+dagID)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("airflow-mcp-server: %v\n%s\n%s", err, raw, tail(stderr.String(), 3000))
	}
	var got struct {
		Tools []string `json:"tools"`
		DAGs  struct {
			DAGs []map[string]any `json:"dags"`
		} `json:"dags"`
		Run  map[string]any `json:"run"`
		Runs struct {
			Total int `json:"total_entries"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	for _, want := range []string{"get_dags", "trigger_dag_run", "get_dag_runs", "get_task_instances"} {
		if !contains(got.Tools, want) {
			t.Errorf("tool %s missing from %v", want, got.Tools)
		}
	}
	if len(got.DAGs.DAGs) != 1 || got.DAGs.DAGs[0]["dag_id"] != dagID {
		t.Errorf("get_dags: %+v", got.DAGs)
	}
	if got.Run["dag_run_id"] != "mcp-run" || got.Run["state"] != "queued" || got.Runs.Total != 1 {
		t.Errorf("trigger_dag_run %v, get_dag_runs %+v", got.Run, got.Runs)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
