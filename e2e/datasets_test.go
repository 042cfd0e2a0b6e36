package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/translate"
)

// runMaterializingFlow runs one flow run of a deployment with a real @materialize task
// (e2e/python/materialize_flow.py) against the real Prefect server, and returns the run's id.
func runMaterializingFlow(t *testing.T, flow, deploymentID, runName, asset, raw string) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	venv, err := exec.Command("bash", filepath.Join(root, "scripts", "venv.sh")).Output()
	if err != nil {
		t.Fatalf("venv: %v", err)
	}
	cmd := exec.Command(filepath.Join(strings.TrimSpace(string(venv)), "bin", "python"),
		filepath.Join(root, "e2e", "python", "materialize_flow.py"), flow, deploymentID, runName, asset, raw)
	cmd.Env = append(os.Environ(), "PREFECT_API_URL="+prefectServer.URL, "PREFECT_LOGGING_LEVEL=WARNING")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("materializing flow: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// Datasets from a real flow's asset events: the dataset, its producing task, its events,
// and a dataset event created through the gateway, read back as Prefect recorded it.
func TestDatasetsAgainstPrefect(t *testing.T) {
	ctx := testCtx(t)
	p := fmt.Sprintf("ds%06x", rand.IntN(1<<24))
	dep, err := seed.Deployment(ctx, p+"_etl", "daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	dagID := p + "_etl.daily"
	asset, raw := "s3://e2e/"+p+"/orders", "s3://e2e/"+p+"/raw"
	runMaterializingFlow(t, p+"_etl", dep.ID, "m1", asset, raw)

	gw := harness.StartGateway(t, prefectServer.URL)
	api := harness.NewAPI(t, gw.URL)
	var ds translate.Dataset
	deadline := time.Now().Add(90 * time.Second)
	for {
		res := api.Get("/datasets/" + url.PathEscape(asset))
		if res.Status == 200 {
			res.JSON(t, &ds)
			if len(ds.ProducingTasks) == 1 && ds.ProducingTasks[0].TaskID != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the materialization never showed: %d %s", res.Status, res.Body)
		}
		time.Sleep(time.Second)
	}
	if ds.ID != translate.DatasetID(asset) || ds.Extra["name"] != "orders" || ds.Extra["description"] != "Daily orders" ||
		*ds.ProducingTasks[0].DAGID != dagID || !strings.HasPrefix(*ds.ProducingTasks[0].TaskID, "write_orders") {
		t.Errorf("dataset %+v", ds)
	}
	var list translate.DatasetCollection
	api.Get("/datasets?uri_pattern="+p).JSON(t, &list)
	if list.TotalEntries != 2 {
		t.Errorf("datasets of the run: %+v", list)
	}
	var events translate.DatasetEventCollection
	api.Get("/datasets/events?source_dag_id="+dagID).JSON(t, &events)
	if events.TotalEntries != 1 || events.DatasetEvents[0].DatasetURI != asset || *events.DatasetEvents[0].SourceRunID != "m1" {
		t.Fatalf("dataset events %+v", events)
	}

	created := api.Do("POST", "/datasets/events", map[string]any{"dataset_uri": asset, "extra": map[string]any{"by": "e2e"}})
	var ev translate.DatasetEvent
	created.JSON(t, &ev)
	if created.Status != 200 || ev.Extra["from_rest_api"] != true {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	for {
		var all translate.DatasetEventCollection
		api.Get(fmt.Sprintf("/datasets/events?dataset_id=%d&order_by=-timestamp", ds.ID)).JSON(t, &all)
		if all.TotalEntries == 2 {
			if all.DatasetEvents[0].ID != ev.ID || all.DatasetEvents[0].Extra["by"] != "e2e" {
				t.Errorf("the created event as Prefect keeps it: %+v, want %+v", all.DatasetEvents[0], ev)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the created event never showed: %+v", all)
		}
		time.Sleep(time.Second)
	}
	if r := api.Do("POST", "/datasets/events", map[string]any{"dataset_uri": "s3://e2e/" + p + "/none"}); r.Status != 404 {
		t.Errorf("unknown dataset: %d %s", r.Status, r.Body)
	}
	var up translate.DatasetEventCollection
	api.Get("/dags/"+dagID+"/dagRuns/m1/upstreamDatasetEvents").JSON(t, &up)
	if up.TotalEntries != 0 {
		t.Errorf("a run no asset triggered: %+v", up)
	}
}
