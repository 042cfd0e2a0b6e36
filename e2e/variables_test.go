package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
)

// Airflow variables on the real Prefect: the Terraform provider's life cycle (create, read
// back, update, delete, read → 404), keys outside Prefect's alphabet, Prefect's own variables,
// masking in listings, and Airflow's errors with nothing written.
func TestVariablesOnPrefect(t *testing.T) {
	gw := harness.StartGateway(t, prefectServer.URL)
	api := harness.NewAPI(t, gw.URL)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	key := "E2E.Var_" + suffix // uppercase and a dot: stored under the reversible encoding

	res := api.Do(http.MethodPost, "/variables", map[string]any{"key": key, "value": `{"a": [1, 2]}`, "description": "made by e2e"})
	if res.Status != http.StatusOK {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	res = api.Get("/variables/" + key)
	got := res.Map(t)
	if res.Status != http.StatusOK || got["key"] != key || got["value"] != `{"a": [1, 2]}` || got["description"] != "made by e2e" {
		t.Fatalf("read back: %d %s", res.Status, res.Body)
	}
	// What Prefect holds: a string value under the encoded name, the description in a tag.
	name := "airflow--452-45-2e-56ar_" + suffix // E 2 E . V, each byte outside [a-z0-9_] as -hh
	var pv struct {
		Value any      `json:"value"`
		Tags  []string `json:"tags"`
	}
	prefectGet(t, "/variables/name/"+name, &pv)
	if pv.Value != `{"a": [1, 2]}` || strings.Join(pv.Tags, ",") != "airflow-description:made by e2e" {
		t.Errorf("in Prefect: %+v", pv)
	}
	res = api.Do(http.MethodPatch, "/variables/"+key+"?update_mask=description", map[string]any{"key": key, "value": "x", "description": "changed"})
	if got := res.Map(t); res.Status != http.StatusOK || got["description"] != "changed" || got["value"] != `{"a": [1, 2]}` {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	res = api.Do(http.MethodPatch, "/variables/"+key, map[string]any{"key": key, "value": "v2"})
	if got := res.Map(t); res.Status != http.StatusOK || got["value"] != "v2" || got["description"] != "changed" {
		t.Fatalf("patch without mask: %d %s", res.Status, res.Body)
	}
	// A secret-looking key: its value is masked in the listing only.
	secretKey := "e2e_password_" + suffix
	if res := api.Do(http.MethodPost, "/variables", map[string]any{"key": secretKey, "value": "hunter2"}); res.Status != http.StatusOK {
		t.Fatalf("create secret: %d %s", res.Status, res.Body)
	}
	var list struct {
		Variables []map[string]any `json:"variables"`
		Total     int              `json:"total_entries"`
	}
	api.Get("/variables?order_by=-id&limit=100").JSON(t, &list)
	seen := map[string]any{}
	for _, v := range list.Variables {
		seen[v["key"].(string)] = v["value"]
	}
	if seen[secretKey] != "***" || seen[key] != "v2" || list.Total < 2 {
		t.Errorf("listing: %v (total %d)", seen, list.Total)
	}
	if got := api.Get("/variables/" + secretKey).Map(t); got["value"] != "hunter2" {
		t.Errorf("get secret: %v", got)
	}
	// Bad bodies are Airflow's 400s and write nothing.
	res = api.Do(http.MethodPost, "/variables", map[string]any{"key": "e2e_nothing_" + suffix})
	if res.Status != http.StatusBadRequest || res.Map(t)["title"] != "Invalid Variable schema" {
		t.Errorf("missing value: %d %s", res.Status, res.Body)
	}
	if res := api.Get("/variables/e2e_nothing_" + suffix); res.Status != http.StatusNotFound {
		t.Errorf("a refused create wrote something: %d", res.Status)
	}
	for _, k := range []string{key, secretKey} {
		if res := api.Do(http.MethodDelete, "/variables/"+k, nil); res.Status != http.StatusNoContent {
			t.Fatalf("delete %s: %d %s", k, res.Status, res.Body)
		}
	}
	res = api.Get("/variables/" + key)
	if res.Status != http.StatusNotFound || res.Map(t)["title"] != "Variable not found" {
		t.Errorf("read after delete: %d %s", res.Status, res.Body)
	}
}

// prefectGet reads path (under the Prefect API root) straight from the real server.
func prefectGet(t *testing.T, path string, out any) {
	t.Helper()
	res, err := http.Get(prefectServer.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
