package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/translate"
)

// Task instances, logs and XComs of runs a real Prefect runner executed (e2e/flows/flows.py):
// a mapped task, a task retried once, a failed task and its traceback, a persisted result.
// Every answer is checked against Airflow's v1.yaml by harness.API.

// realRuns are the runs the runner executed for this test binary, triggered once and shared.
type realRuns struct {
	pipeline, failing string // dag_run_ids of ti_pipeline.e2e and ti_failing.e2e
}

var (
	realRunsOnce sync.Once
	realRunsVal  realRuns
	realRunsErr  error
)

const pipelineDAG, failingDAG = "ti_pipeline.e2e", "ti_failing.e2e"

// finishedRuns triggers one run of each runner DAG through a gateway and waits until the
// runner has finished both.
func finishedRuns(t *testing.T) realRuns {
	t.Helper()
	realRunsOnce.Do(func() {
		useRunner(t)
		api := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL).URL)
		suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
		realRunsVal = realRuns{pipeline: "pipeline-" + suffix, failing: "failing-" + suffix}
		for dag, id := range map[string]string{pipelineDAG: realRunsVal.pipeline, failingDAG: realRunsVal.failing} {
			if res := api.Do(http.MethodPost, runPath(dag), map[string]any{"dag_run_id": id}); res.Status != http.StatusOK {
				realRunsErr = fmt.Errorf("trigger %s: %d %s", dag, res.Status, res.Body)
				return
			}
		}
		for dag, want := range map[string]struct{ id, state string }{pipelineDAG: {realRunsVal.pipeline, "success"}, failingDAG: {realRunsVal.failing, "failed"}} {
			deadline := time.Now().Add(4 * time.Minute)
			for {
				res := api.Get(runPath(dag, want.id))
				var run dagRun
				res.JSON(t, &run)
				if run.State == want.state {
					break
				}
				if run.State != "queued" && run.State != "running" || time.Now().After(deadline) {
					realRunsErr = fmt.Errorf("run %s of %s is %s, want %s; runner log:\n%s", want.id, dag, run.State, want.state, tail(runner.Log(), 4000))
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		}
		// Prefect records task runs from their events, a moment after the flow run's state.
		for dag, want := range map[string]struct {
			id    string
			final int
		}{pipelineDAG: {realRunsVal.pipeline, 6}, failingDAG: {realRunsVal.failing, 2}} {
			deadline := time.Now().Add(time.Minute)
			for {
				var c translate.TaskInstanceCollection
				api.Get(tiPath(dag, want.id)).JSON(t, &c)
				n := 0
				for _, ti := range c.TaskInstances {
					if ti.State != nil && (*ti.State == "success" || *ti.State == "failed") {
						n++
					}
				}
				if n >= want.final {
					break
				}
				if time.Now().After(deadline) {
					realRunsErr = fmt.Errorf("the task instances of %s did not finish: %+v", want.id, c)
					return
				}
				time.Sleep(300 * time.Millisecond)
			}
		}
	})
	if realRunsErr != nil {
		t.Fatal(realRunsErr)
	}
	return realRunsVal
}

func tiPath(dagID, runID string, parts ...string) string {
	p := runPath(dagID, runID) + "/taskInstances"
	for _, part := range parts {
		p += "/" + url.PathEscape(part)
	}
	return p
}

func readTIs(t *testing.T, res *harness.Response) translate.TaskInstanceCollection {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("task instances: %d %s", res.Status, res.Body)
	}
	var c translate.TaskInstanceCollection
	res.JSON(t, &c)
	return c
}

// taskIDByName finds the task id (Prefect's task key, "<name>-<code hash>") of a task.
func taskIDByName(t *testing.T, c translate.TaskInstanceCollection, name string) string {
	t.Helper()
	for _, ti := range c.TaskInstances {
		if ti.TaskDisplayName == name {
			return ti.TaskID
		}
	}
	t.Fatalf("no task %q among %+v", name, c.TaskInstances)
	return ""
}

func summary(c translate.TaskInstanceCollection) []string {
	var out []string
	for _, ti := range c.TaskInstances {
		s := "<none>"
		if ti.State != nil {
			s = *ti.State
		}
		out = append(out, fmt.Sprintf("%s[%d]=%s/%d", ti.TaskDisplayName, ti.MapIndex, s, ti.TryNumber))
	}
	return out
}

func TestTaskInstancesOfRealRuns(t *testing.T) {
	runs := finishedRuns(t)
	api := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL).URL)

	all := readTIs(t, api.Get(tiPath(pipelineDAG, runs.pipeline)))
	want := []string{"extract[-1]=success/1", "square[0]=success/1", "square[1]=success/1", "square[2]=success/1",
		"flaky[-1]=success/2", "report[-1]=success/1"}
	if got := summary(all); all.TotalEntries != 6 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("task instances %v (total %d), want %v", got, all.TotalEntries, want)
	}
	for _, ti := range all.TaskInstances {
		if ti.DAGID != pipelineDAG || ti.DAGRunID != runs.pipeline || ti.StartDate == nil || ti.EndDate == nil || ti.Duration == nil ||
			ti.Pool != "default_pool" || ti.Operator == nil || *ti.Operator != "Task" || !strings.HasSuffix(ti.ExecutionDate, "+00:00") {
			t.Errorf("task instance %+v", ti)
		}
	}
	flaky, square := taskIDByName(t, all, "flaky"), taskIDByName(t, all, "square")

	t.Run("get, mapped, listMapped", func(t *testing.T) {
		res := api.Get(tiPath(pipelineDAG, runs.pipeline, flaky))
		var ti translate.TaskInstance
		res.JSON(t, &ti)
		if res.Status != 200 || ti.TryNumber != 2 || ti.MaxTries != 1 || *ti.State != "success" {
			t.Errorf("flaky: %d %s", res.Status, res.Body)
		}
		res = api.Get(tiPath(pipelineDAG, runs.pipeline, square, "1"))
		res.JSON(t, &ti)
		if res.Status != 200 || ti.MapIndex != 1 || ti.TaskID != square {
			t.Errorf("square[1]: %d %s", res.Status, res.Body)
		}
		res = api.Get(tiPath(pipelineDAG, runs.pipeline, square))
		if p := res.Map(t); res.Status != 404 || p["title"] != "Task instance not found" || p["detail"] != "Task instance is mapped, add the map_index value to the URL" {
			t.Errorf("square without its map index: %d %s", res.Status, res.Body)
		}
		mapped := readTIs(t, api.Get(tiPath(pipelineDAG, runs.pipeline, square, "listMapped")+"?order_by=-map_index"))
		if got := summary(mapped); strings.Join(got, " ") != "square[2]=success/1 square[1]=success/1 square[0]=success/1" {
			t.Errorf("listMapped: %v", got)
		}
		res = api.Get(tiPath(pipelineDAG, runs.pipeline, flaky, "listMapped"))
		if p := res.Map(t); res.Status != 404 || p["title"] != "Task id "+flaky+" is not mapped" {
			t.Errorf("listMapped of an unmapped task: %d %s", res.Status, res.Body)
		}
	})

	t.Run("tries", func(t *testing.T) {
		tries := readTIs(t, api.Get(tiPath(pipelineDAG, runs.pipeline, flaky, "tries")))
		if got := summary(tries); strings.Join(got, " ") != "flaky[-1]=failed/1 flaky[-1]=success/2" {
			t.Fatalf("tries: %v", got)
		}
		if *tries.TaskInstances[0].EndDate > *tries.TaskInstances[1].StartDate {
			t.Errorf("try 1 ends after try 2 starts: %+v", tries.TaskInstances)
		}
		res := api.Get(tiPath(pipelineDAG, runs.pipeline, flaky, "tries", "1"))
		var ti translate.TaskInstance
		res.JSON(t, &ti)
		if res.Status != 200 || ti.TryNumber != 1 || *ti.State != "failed" {
			t.Errorf("try 1: %d %s", res.Status, res.Body)
		}
		res = api.Get(tiPath(pipelineDAG, runs.pipeline, flaky, "tries", "3"))
		if p := res.Map(t); res.Status != 404 || p["title"] != "Task instance not found" ||
			p["detail"] != fmt.Sprintf("Task Instance not found for dag_id=%s, run_id=%s, task_id=%s, map_index=-1, try_number=3.", pipelineDAG, runs.pipeline, flaky) {
			t.Errorf("try 3: %d %s", res.Status, res.Body)
		}
	})

	t.Run("logs", func(t *testing.T) {
		text := func(task string, try int, query string) (int, string) {
			res := api.Do(http.MethodGet, tiPath(pipelineDAG, runs.pipeline, task, "logs", fmt.Sprint(try))+query, nil)
			return res.Status, string(res.Body)
		}
		// harness.API asks for JSON; the first try's page holds its lines only.
		_, body := text(flaky, 1, "")
		var page struct {
			Content           string `json:"content"`
			ContinuationToken string `json:"continuation_token"`
		}
		_ = json.Unmarshal([]byte(body), &page)
		// Python's repr: double quotes, as the text holds a single quote (RuntimeError('...')).
		if !strings.HasPrefix(page.Content, `[('', "`) || !strings.Contains(page.Content, "INFO - flaky attempt 1") ||
			strings.Contains(page.Content, "flaky attempt 2") || page.ContinuationToken == "" {
			t.Errorf("try 1's log: %s", body)
		}
		_, body = text(flaky, 2, "")
		if !strings.Contains(body, "flaky attempt 2") || strings.Contains(body, "flaky attempt 1") {
			t.Errorf("try 2's log: %s", body)
		}
		// Going on from a token: nothing after the end of a finished try's log.
		_, body = text(flaky, 1, "?token="+url.QueryEscape(page.ContinuationToken))
		var next struct {
			Content string `json:"content"`
		}
		_ = json.Unmarshal([]byte(body), &next)
		if next.Content != "[('', '')]" {
			t.Errorf("after the end: %s", body)
		}
		if status, body := text(flaky, 3, ""); status != 404 || !strings.Contains(body, "TaskInstance not found") {
			t.Errorf("try 3: %d %s", status, body)
		}
		if status, body := text(square, 1, "?map_index=2"); status != 200 || !strings.Contains(body, "squaring 3\\\\n") {
			t.Errorf("square[2]'s log: %d %s", status, body)
		}
		if status, body := text(flaky, 1, "?token=forged"); status != 400 || !strings.Contains(body, "Bad Signature. Please use only the tokens provided by the API.") {
			t.Errorf("forged token: %d %s", status, body)
		}
	})

	t.Run("a failed task and its log", func(t *testing.T) {
		failed := readTIs(t, api.Get(tiPath(failingDAG, runs.failing)+"?state=failed"))
		if got := summary(failed); strings.Join(got, " ") != "explode[-1]=failed/1" {
			t.Fatalf("failed task instances: %v", got)
		}
		explode := failed.TaskInstances[0].TaskID
		// text/plain, streamed: the traceback is there.
		req, _ := http.NewRequest(http.MethodGet, api.URL()+"/api/v1"+tiPath(failingDAG, runs.failing, explode, "logs", "1"), nil)
		req.Header.Set("Accept", "text/plain")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		log := string(raw)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/plain" || !strings.Contains(log, "ERROR - about to fail with 7") ||
			!strings.Contains(log, "ValueError: explode failed on 7") || !strings.Contains(log, "Traceback (most recent call last)") {
			t.Errorf("explode's log: %d %s", res.StatusCode, log)
		}
		// Across every DAG and run: the failed instance is there.
		across := readTIs(t, api.Do(http.MethodPost, "/dags/~/dagRuns/~/taskInstances/list",
			map[string]any{"dag_ids": []string{failingDAG, pipelineDAG}, "dag_run_ids": []string{runs.failing, runs.pipeline}, "state": []string{"failed"}}))
		if got := summary(across); strings.Join(got, " ") != "explode[-1]=failed/1" {
			t.Errorf("batch list of failed instances: %v", got)
		}
		byTask := readTIs(t, api.Do(http.MethodPost, "/dags/~/dagRuns/~/taskInstances/list",
			map[string]any{"dag_ids": []string{pipelineDAG}, "dag_run_ids": []string{runs.pipeline}, "task_ids": []string{square}, "page_limit": 2, "page_offset": 1}))
		if got := summary(byTask); byTask.TotalEntries != 3 || strings.Join(got, " ") != "square[1]=success/1 square[2]=success/1" {
			t.Errorf("batch list of one task, second page: %v (total %d)", got, byTask.TotalEntries)
		}
		tilde := readTIs(t, api.Get(tiPath(failingDAG, "~")+"?state=failed&limit=100"))
		found := false
		for _, ti := range tilde.TaskInstances {
			found = found || ti.DAGRunID == runs.failing && ti.TaskID == explode
		}
		if !found {
			t.Errorf("the failed instance is not among the DAG's failed instances: %v", summary(tilde))
		}
	})

	t.Run("a user who may not see the DAG", func(t *testing.T) {
		gw := harness.StartGateway(t, prefectServer.URL, harness.WithUsers(t, harness.User{Name: "other", Password: "pw", Role: "Admin", DAGs: []string{"nothing.*"}}))
		other := harness.NewAPI(t, gw.URL).As("other", "pw")
		for _, path := range []string{tiPath(pipelineDAG, runs.pipeline, flaky), tiPath(pipelineDAG, runs.pipeline, flaky, "logs", "1"),
			tiPath(pipelineDAG, runs.pipeline, flaky, "tries", "1")} {
			if res := other.Get(path); res.Status != 404 {
				t.Errorf("%s: %d %s, want 404", path, res.Status, res.Body)
			}
		}
		if c := readTIs(t, other.Get(tiPath(pipelineDAG, runs.pipeline))); c.TotalEntries != 0 {
			t.Errorf("list: %+v, want none", c)
		}
		if c := readTIs(t, other.Get(tiPath("~", "~"))); c.TotalEntries != 0 {
			t.Errorf("~ list: %+v, want none", c)
		}
	})
}
