package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/translate"
)

// produced reports whether a dataset of the page has a producing task.
func produced(page translate.DatasetCollection) bool {
	for _, d := range page.Datasets {
		if len(d.ProducingTasks) > 0 && d.ProducingTasks[0].TaskID != nil {
			return true
		}
	}
	return false
}

// TestDagsterAirlift drives the gateway with Dagster Airlift (dagster-airlift, pinned in
// requirements-airlift.txt, its own venv): build_defs_from_airflow_instance with its default
// options, then its polling sensor's observe stage, against a DAG whose run materialized a
// real asset (e2e/airlift/observe.py says what it checks).
func TestDagsterAirlift(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	venv, err := exec.Command("bash", filepath.Join(root, "scripts", "venv-airlift.sh")).Output()
	if err != nil {
		t.Fatalf("airlift venv: %v", err)
	}
	ctx := testCtx(t)
	p := fmt.Sprintf("al%06x", rand.IntN(1<<24))
	dep, err := seed.Deployment(ctx, p+"_etl", "daily", map[string]any{"entrypoint": "flows/etl.py:etl"})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Minute)
	asset := "s3://airlift/" + p + "/orders"
	runMaterializingFlow(t, p+"_etl", dep.ID, "m1", asset, "s3://airlift/"+p+"/raw")

	// Airlift names a dataset's asset after the last segment of its URI, so two datasets of the
	// shared Prefect server ending in ".../orders" (other tests make some) would clash: the
	// user Airlift connects as sees this test's DAGs only, and so only their datasets.
	gw := harness.StartGateway(t, prefectServer.URL, harness.WithUsers(t,
		harness.User{Name: "airlift", Password: "airlift-pw", Role: "Viewer", DAGs: []string{p + "_*"}}))
	api := harness.NewAPI(t, gw.URL).As("airlift", "airlift-pw")
	// The asset events are persisted in batches: wait until the dataset has its producer.
	deadline := time.Now().Add(90 * time.Second)
	for {
		var page translate.DatasetCollection
		res := api.Get("/datasets?uri_pattern=" + p)
		res.JSON(t, &page)
		if produced(page) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the materialization never showed: %s", res.Body)
		}
		time.Sleep(time.Second)
	}
	cmd := exec.Command(filepath.Join(strings.TrimSpace(string(venv)), "bin", "python"), filepath.Join(root, "e2e", "airlift", "observe.py"))
	cmd.Env = append(os.Environ(), "GATEWAY_URL="+gw.URL, "GATEWAY_USER=airlift", "GATEWAY_PASSWORD=airlift-pw",
		"DAG_ID="+p+"_etl.daily", "RUN_ID=m1", "ASSET_URI="+asset, "SINCE="+strconv.FormatInt(since.Unix(), 10),
		"DAGSTER_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("dagster-airlift:\n%s", tail(string(out), 6000))
	if err != nil {
		t.Fatalf("airlift: %v", err)
	}
}
