package e2e

import (
	"net/http"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
)

// Airflow 3's API on a real Prefect server: a token from /auth/token, then DAGs with
// Airflow 3's field sets, every answer validated against Airflow 3.3.2's document.
func TestV2DAGs(t *testing.T) {
	f := seedDAGs(t)
	gw := harness.StartGateway(t, prefectServer.URL, harness.WithUsers(t,
		harness.User{Name: "ana", Password: "ana-pw", Role: "User"},
		harness.User{Name: "vic", Password: "vic-pw", Role: "Viewer"}),
		func(o *gateway.Options, _ *prefect.Options) {
			o.DAGAliases = map[string]string{f.prefix + "_scoring": f.prefix + "_ml/score"}
		})
	anon := harness.NewV2API(t, gw.URL)
	if res := anon.Get("/api/v2/version"); res.Status != 200 || res.Map(t)["version"] != "3.3.2" {
		t.Fatalf("version: %d %s", res.Status, res.Body)
	}
	// Healthy once Prefect answers /ready within the health check's 3 s (a loaded machine
	// may miss it now and then).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		res := anon.Get("/api/v2/monitor/health")
		if res.Status == 200 && res.Map(t)["metadatabase"].(map[string]any)["status"] == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health: %d %s", res.Status, res.Body)
		}
	}
	if res := anon.Get("/api/v2/dags"); res.Status != 401 {
		t.Errorf("without a token: %d %s", res.Status, res.Body)
	}
	api := anon.Login("ana", "ana-pw")

	res := api.Get("/api/v2/dags?dag_id_prefix_pattern=" + f.prefix + "&order_by=-dag_id&limit=2")
	var page struct {
		DAGs  []map[string]any `json:"dags"`
		Total int              `json:"total_entries"`
	}
	res.JSON(t, &page)
	if res.Status != 200 || page.Total != len(f.ids) || len(page.DAGs) != 2 || page.DAGs[0]["dag_id"] != f.ids[len(f.ids)-1] {
		t.Fatalf("list: %d %s", res.Status, res.Body)
	}
	daily := f.id("_etl.daily")
	dag := api.Get("/api/v2/dags/" + daily).Map(t)
	if dag["timetable_summary"] != "0 6 * * *" || dag["is_stale"] != false || dag["relative_fileloc"] != "flows/etl.py" ||
		dag["next_dagrun_run_after"] == nil || dag["file_token"] != f.deps[daily].ID {
		t.Errorf("get: %v", dag)
	}
	details := api.Get("/api/v2/dags/" + daily + "/details").Map(t)
	if details["timezone"] != "UTC" || details["latest_dag_version"] == nil || details["params"] == nil {
		t.Errorf("details: %v", details)
	}
	if res := api.Do(http.MethodPatch, "/api/v2/dags/"+daily, `{"is_paused":true}`); res.Status != 200 || res.Map(t)["is_paused"] != true {
		t.Errorf("pause: %d %s", res.Status, res.Body)
	}
	if res := api.Do(http.MethodPatch, "/api/v2/dags/"+daily, `{"is_paused":false}`); res.Status != 200 || res.Map(t)["is_paused"] != false {
		t.Errorf("resume: %d %s", res.Status, res.Body)
	}
	if res := api.Get("/api/v2/dags/" + f.prefix + "_nope"); res.Status != 404 {
		t.Errorf("unknown DAG: %d %s", res.Status, res.Body)
	}
	viewer := anon.Login("vic", "vic-pw")
	if res := viewer.Do(http.MethodPatch, "/api/v2/dags/"+daily, `{"is_paused":true}`); res.Status != 403 {
		t.Errorf("viewer pausing: %d %s", res.Status, res.Body)
	}
}
