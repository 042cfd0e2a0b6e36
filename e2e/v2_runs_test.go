package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
)

// Airflow 3's DAG runs, task instances and logs on a real Prefect, with runs a real runner
// executes: trigger without a logical date, wait (NDJSON) until the run ends, then its task
// instances, tries and logs (JSON and NDJSON). Every answer is validated against Airflow
// 3.3.2's document.
func TestV2RunsTaskInstancesAndLogs(t *testing.T) {
	useRunner(t)
	gw := harness.StartGateway(t, prefectServer.URL, harness.WithUsers(t, harness.User{Name: "ana", Password: "ana-pw", Role: "User"}))
	api := harness.NewV2API(t, gw.URL).Login("ana", "ana-pw")
	runID := fmt.Sprintf("v2-%d", time.Now().UnixNano()%1e9)
	res := api.Do(http.MethodPost, "/api/v2/dags/"+pipelineDAG+"/dagRuns", map[string]any{"dag_run_id": runID, "logical_date": nil, "conf": map[string]any{}})
	run := res.Map(t)
	if res.Status != 200 || run["logical_date"] != nil || run["triggering_user_name"] != "ana" || run["state"] != "queued" {
		t.Fatalf("trigger: %d %s", res.Status, res.Body)
	}
	if res := api.Do(http.MethodPost, "/api/v2/dags/"+pipelineDAG+"/dagRuns", map[string]any{"dag_run_id": runID, "logical_date": nil}); res.Status != 409 {
		t.Errorf("duplicate: %d %s", res.Status, res.Body)
	}

	// wait streams a line per check until the run has ended.
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/v2/dags/"+pipelineDAG+"/dagRuns/"+runID+"/wait?interval=1", nil)
	req.Header.Set("Authorization", "Bearer "+api.Token())
	client := &http.Client{Timeout: 5 * time.Minute}
	wres, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if wres.StatusCode != 200 || wres.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("wait: %d %s", wres.StatusCode, wres.Header.Get("Content-Type"))
	}
	var states []string
	sc := bufio.NewScanner(wres.Body)
	for sc.Scan() {
		var line struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("wait line %q: %v", sc.Text(), err)
		}
		states = append(states, line.State)
	}
	wres.Body.Close()
	if len(states) == 0 || states[len(states)-1] != "success" {
		t.Fatalf("wait states %v; runner log:\n%s", states, tail(runner.Log(), 3000))
	}

	got := api.Get("/api/v2/dags/" + pipelineDAG + "/dagRuns/" + runID).Map(t)
	if got["state"] != "success" || got["start_date"] == nil || got["duration"] == nil || got["run_after"] == nil {
		t.Errorf("finished run: %v", got)
	}
	var list struct {
		DAGRuns []map[string]any `json:"dag_runs"`
		Total   int              `json:"total_entries"`
	}
	api.Get("/api/v2/dags/"+pipelineDAG+"/dagRuns?order_by=-run_after&limit=1").JSON(t, &list)
	if list.Total < 1 || len(list.DAGRuns) != 1 {
		t.Errorf("list: %+v", list)
	}

	// Task instances (Prefect records task runs a moment after the flow run's state).
	var tis struct {
		TaskInstances []map[string]any `json:"task_instances"`
		Total         int              `json:"total_entries"`
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		api.Get("/api/v2/dags/"+pipelineDAG+"/dagRuns/"+runID+"/taskInstances").JSON(t, &tis)
		done := 0
		for _, ti := range tis.TaskInstances {
			if ti["state"] == "success" {
				done++
			}
		}
		if done >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task instances: %+v", tis)
		}
	}
	var ti map[string]any
	for _, x := range tis.TaskInstances {
		if x["map_index"] == float64(-1) && x["try_number"].(float64) >= 1 {
			ti = x
			break
		}
	}
	if ti == nil || len(ti["id"].(string)) != 36 || ti["dag_version"] == nil {
		t.Fatalf("no unmapped task instance: %+v", tis)
	}
	task := ti["task_id"].(string)
	base := "/api/v2/dags/" + pipelineDAG + "/dagRuns/" + runID + "/taskInstances/" + task
	if one := api.Get(base).Map(t); one["id"] != ti["id"] {
		t.Errorf("get: %v", one)
	}
	if res := api.Get(base + "/tries"); res.Status != 200 {
		t.Errorf("tries: %d %s", res.Status, res.Body)
	}
	var batch struct {
		Total int `json:"total_entries"`
	}
	api.Do(http.MethodPost, "/api/v2/dags/~/dagRuns/~/taskInstances/list", map[string]any{"dag_ids": []string{pipelineDAG}, "dag_run_ids": []string{runID}}).JSON(t, &batch)
	if batch.Total != tis.Total {
		t.Errorf("batch total %d, want %d", batch.Total, tis.Total)
	}

	// Logs: a JSON page of structured messages, and the same as NDJSON.
	try := fmt.Sprint(int(ti["try_number"].(float64)))
	var page struct {
		Content []map[string]any `json:"content"`
	}
	res = api.Get(base + "/logs/" + try)
	res.JSON(t, &page)
	if res.Status != 200 {
		t.Fatalf("log: %d %s", res.Status, res.Body)
	}
	nd := api.Do(http.MethodGet, base+"/logs/"+try, nil, "Accept", "application/x-ndjson")
	lines := bytes.Split(bytes.TrimSpace(nd.Body), []byte("\n"))
	if nd.Status != 200 || nd.Header.Get("Content-Type") != "application/x-ndjson" || (len(page.Content) > 0 && len(lines) < len(page.Content)) {
		t.Errorf("ndjson log: %d %s (%d lines, JSON page %d)", nd.Status, nd.Body, len(lines), len(page.Content))
	}
	for _, l := range lines {
		if len(l) > 0 && !strings.Contains(string(l), `"event"`) {
			t.Errorf("log line %s", l)
		}
	}
}
