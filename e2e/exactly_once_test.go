package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/faultproxy"
	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/prefect/wire"
)

// 200 concurrent triggers over 20 dag_run_ids, through a proxy that loses Prefect's answers
// to create_flow_run after Prefect made the run (the first answer of every key, the second
// too for every third key), against the real Prefect server: Prefect ends with exactly 20
// runs, one per id; every client sees 200 or 409, never a 5xx; and every id has a client that
// was told 200 (the one whose request made the run, even though its answer was lost).
func TestExactlyOnceTriggersThroughLostAnswers(t *testing.T) {
	ctx := testCtx(t)
	dep, err := seed.Deployment(ctx, "exactly_once_flow", "trigger", nil)
	if err != nil {
		t.Fatal(err)
	}
	const dagID = "exactly_once_flow.trigger"
	const ids, clientsPerID = 20, 10

	var mu sync.Mutex
	arrivals := map[string]int{} // idempotency key → creates seen
	proxy, err := faultproxy.Start(prefectServer.URL, func(r *http.Request, body []byte) faultproxy.Fault {
		if !strings.HasSuffix(r.URL.Path, "/create_flow_run") {
			return faultproxy.Fault{}
		}
		var create struct {
			Name           string `json:"name"`
			IdempotencyKey string `json:"idempotency_key"`
		}
		if err := json.Unmarshal(body, &create); err != nil || create.IdempotencyKey == "" {
			t.Errorf("a trigger reached Prefect without an idempotency key: %s", body)
			return faultproxy.Fault{}
		}
		mu.Lock()
		arrivals[create.IdempotencyKey]++
		n := arrivals[create.IdempotencyKey]
		mu.Unlock()
		var index int
		_, _ = fmt.Sscanf(create.Name, "exactly-once-%d", &index)
		if n == 1 || (n == 2 && index%3 == 0) {
			return faultproxy.Fault{DropResponse: true}
		}
		return faultproxy.Fault{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	gw := harness.StartGateway(t, proxy.URL)
	validator, err := harness.AirflowValidator()
	if err != nil {
		t.Fatal(err)
	}

	type outcome struct {
		id     string
		status int
		body   string
		err    error
	}
	outcomes := make(chan outcome, ids*clientsPerID)
	start := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second}
	for i := 0; i < ids*clientsPerID; i++ {
		id := fmt.Sprintf("exactly-once-%d", i%ids)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := []byte(`{"dag_run_id":"` + id + `","conf":{"batch":7}}`)
			path := "/api/v1/dags/" + dagID + "/dagRuns"
			req, _ := http.NewRequest(http.MethodPost, gw.URL+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			res, err := client.Do(req)
			if err != nil {
				outcomes <- outcome{id: id, err: err}
				return
			}
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			vreq, _ := http.NewRequest(http.MethodPost, "http://gateway"+path, bytes.NewReader(body))
			vreq.Header = req.Header.Clone()
			if verr := validator.Check(vreq, res.StatusCode, res.Header, raw); verr != nil {
				t.Errorf("%v", verr)
			}
			outcomes <- outcome{id: id, status: res.StatusCode, body: string(raw), err: err}
		}()
	}
	close(start)
	wg.Wait()
	close(outcomes)

	okPerID := map[string]int{}
	statuses := map[int]int{}
	for o := range outcomes {
		if o.err != nil {
			t.Errorf("trigger %s: %v", o.id, o.err)
			continue
		}
		statuses[o.status]++
		switch o.status {
		case http.StatusOK:
			okPerID[o.id]++
			var run struct {
				DAGRunID string `json:"dag_run_id"`
				DAGID    string `json:"dag_id"`
				Conf     map[string]any
			}
			if err := json.Unmarshal([]byte(o.body), &run); err != nil || run.DAGRunID != o.id || run.DAGID != dagID || run.Conf["batch"] != float64(7) {
				t.Errorf("trigger %s answered 200 with %s", o.id, o.body)
			}
		case http.StatusConflict:
			if !strings.Contains(o.body, o.id) {
				t.Errorf("trigger %s: 409 does not name the run: %s", o.id, o.body)
			}
		default:
			t.Errorf("trigger %s answered %d %s, want 200 or 409", o.id, o.status, o.body)
		}
	}
	for i := 0; i < ids; i++ {
		id := fmt.Sprintf("exactly-once-%d", i)
		if okPerID[id] == 0 {
			t.Errorf("no client was told that %s was triggered", id)
		}
	}
	_, dropped, _ := proxy.Stats()
	if dropped < ids {
		t.Errorf("the proxy lost only %d answers, want at least %d: the test proves less than it claims", dropped, ids)
	}

	limit := 200
	runs, err := seed.C.FilterFlowRuns(ctx, wire.Query{
		Deployments: &wire.DeploymentFilter{ID: &wire.AnyOf{Any: []string{dep.ID}}},
		Limit:       &limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, r := range runs {
		names[r.Name]++
	}
	if len(runs) != ids || len(names) != ids {
		t.Fatalf("Prefect holds %d runs with %d distinct names, want exactly %d (%v)", len(runs), len(names), ids, names)
	}
	t.Logf("statuses %v; %d answers lost by the proxy; %d runs in Prefect", statuses, dropped, len(runs))
}
