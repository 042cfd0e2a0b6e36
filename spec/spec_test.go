package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"reflect"
	"regexp"
	"testing"

	"gopkg.in/yaml.v3"
)

// implemented is what the gateway serves: the document must list exactly these.
var implemented = []Operation{
	{"GET", "/dags", "get_dags"},
	{"PATCH", "/dags", "patch_dags"},
	{"GET", "/dags/{dag_id}", "get_dag"},
	{"PATCH", "/dags/{dag_id}", "patch_dag"},
	{"DELETE", "/dags/{dag_id}", "delete_dag"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamDatasetEvents", "get_upstream_dataset_events"},
	{"GET", "/dags/{dag_id}/datasets/queuedEvent", "get_dag_dataset_queued_events"},
	{"DELETE", "/dags/{dag_id}/datasets/queuedEvent", "delete_dag_dataset_queued_events"},
	{"GET", "/dags/{dag_id}/datasets/queuedEvent/{uri}", "get_dag_dataset_queued_event"},
	{"DELETE", "/dags/{dag_id}/datasets/queuedEvent/{uri}", "delete_dag_dataset_queued_event"},
	{"GET", "/dagSources/{file_token}", "get_dag_source"},
	{"GET", "/dagStats", "get_dag_stats"},
	{"GET", "/dagWarnings", "get_dag_warnings"},
	{"GET", "/datasets", "get_datasets"},
	{"GET", "/datasets/events", "get_dataset_events"},
	{"POST", "/datasets/events", "create_dataset_event"},
	{"GET", "/datasets/queuedEvent/{uri}", "get_dataset_queued_events"},
	{"GET", "/datasets/{uri}", "get_dataset"},
	{"DELETE", "/datasets/queuedEvent/{uri}", "delete_dataset_queued_events"},
	{"GET", "/eventLogs", "get_event_logs"},
	{"GET", "/eventLogs/{event_log_id}", "get_event_log"},
	{"GET", "/importErrors", "get_import_errors"},
	{"GET", "/importErrors/{import_error_id}", "get_import_error"},
	{"PUT", "/parseDagFile/{file_token}", "reparse_dag_file"},
	{"GET", "/dags/{dag_id}/dagRuns", "get_dag_runs"},
	{"POST", "/dags/{dag_id}/dagRuns", "post_dag_run"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}", "get_dag_run"},
	{"DELETE", "/dags/{dag_id}/dagRuns/{dag_run_id}", "delete_dag_run"},
	{"PATCH", "/dags/{dag_id}/dagRuns/{dag_run_id}", "update_dag_run_state"},
	{"POST", "/dags/{dag_id}/dagRuns/{dag_run_id}/clear", "clear_dag_run"},
	{"PATCH", "/dags/{dag_id}/dagRuns/{dag_run_id}/setNote", "set_dag_run_note"},
	{"GET", "/dags/{dag_id}/details", "get_dag_details"},
	{"GET", "/dags/{dag_id}/tasks", "get_tasks"},
	{"GET", "/dags/{dag_id}/tasks/{task_id}", "get_task"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", "get_task_instances"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", "get_task_instance"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}", "get_mapped_task_instance"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/listMapped", "get_mapped_task_instances"},
	{"POST", "/dags/~/dagRuns/~/taskInstances/list", "get_task_instances_batch"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries", "get_task_instance_tries"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/tries", "get_mapped_task_instance_tries"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries/{task_try_number}", "get_task_instance_try_details"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/tries/{task_try_number}", "get_mapped_task_instance_try_details"},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{task_try_number}", "get_log"},
	{"POST", "/dags/~/dagRuns/list", "get_dag_runs_batch"},
	{"GET", "/health", "get_health"},
	{"GET", "/version", "get_version"},

	{"GET", "/variables", "get_variables"},
	{"POST", "/variables", "post_variables"},
	{"GET", "/variables/{variable_key}", "get_variable"},
	{"PATCH", "/variables/{variable_key}", "patch_variable"},
	{"DELETE", "/variables/{variable_key}", "delete_variable"},

	{"GET", "/connections", "get_connections"},
	{"POST", "/connections", "post_connection"},
	{"GET", "/connections/{connection_id}", "get_connection"},
	{"PATCH", "/connections/{connection_id}", "patch_connection"},
	{"DELETE", "/connections/{connection_id}", "delete_connection"},
	{"POST", "/connections/test", "test_connection"},

	{"GET", "/pools", "get_pools"},
	{"POST", "/pools", "post_pool"},
	{"GET", "/pools/{pool_name}", "get_pool"},
	{"PATCH", "/pools/{pool_name}", "patch_pool"},
	{"DELETE", "/pools/{pool_name}", "delete_pool"},

	{"GET", "/users", "get_users"},
	{"POST", "/users", "post_user"},
	{"GET", "/users/{username}", "get_user"},
	{"PATCH", "/users/{username}", "patch_user"},
	{"DELETE", "/users/{username}", "delete_user"},
	{"GET", "/roles", "get_roles"},
	{"POST", "/roles", "post_role"},
	{"GET", "/roles/{role_name}", "get_role"},
	{"PATCH", "/roles/{role_name}", "patch_role"},
	{"DELETE", "/roles/{role_name}", "delete_role"},
	{"GET", "/permissions", "get_permissions"},
	{"GET", "/config", "get_config"},
	{"GET", "/config/section/{section}/option/{option}", "get_value"},
	{"GET", "/plugins", "get_plugins"},
	{"GET", "/providers", "get_providers"},
}

func TestDocumentIsValid(t *testing.T) {
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Errorf("servers = %v, want the one server /api/v1", doc.Servers)
	}
	basic := doc.Components.SecuritySchemes["Basic"]
	if basic == nil || basic.Value.Type != "http" || basic.Value.Scheme != "basic" {
		t.Fatalf("components.securitySchemes.Basic missing or not http basic: %+v", basic)
	}
	if len(doc.Security) != 1 || doc.Security[0]["Basic"] == nil {
		t.Errorf("global security = %v, want [{Basic: []}]", doc.Security)
	}
	for _, path := range []string{"/health", "/version"} {
		op := doc.Paths.Value(path).Get
		if op.Security == nil || len(*op.Security) != 0 {
			t.Errorf("GET %s must declare security: [] (open, as in Airflow)", path)
		}
	}
}

func TestOperationsAreTheImplementedOnes(t *testing.T) {
	got, err := Operations()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]Operation(nil), implemented...)
	sortOperations(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("operations in openapi.yaml:\n got %v\nwant %v", got, want)
	}
}

func TestOperationsAreAirflowOperations(t *testing.T) {
	ops, err := Operations()
	if err != nil {
		t.Fatal(err)
	}
	airflow := map[[2]string]string{}
	for _, op := range AirflowOperations() {
		airflow[[2]string{op.Method, op.Path}] = op.OperationID
	}
	if len(airflow) != 89 {
		t.Errorf("Airflow 2.10 has 89 operations, the table %d", len(airflow))
	}
	for _, op := range ops {
		id, ok := airflow[[2]string{op.Method, op.Path}]
		switch {
		case !ok:
			t.Errorf("%s %s (%s) is not an Airflow operation", op.Method, op.Path, op.OperationID)
		case id != op.OperationID:
			t.Errorf("%s %s: operationId %q, Airflow's is %q", op.Method, op.Path, op.OperationID, id)
		}
	}
}

func TestJSONIsTheYAML(t *testing.T) {
	js, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML any
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatalf("JSON() is not JSON: %v", err)
	}
	if err := yaml.Unmarshal(YAML(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	// Normalise YAML's ints and maps through encoding/json.
	b, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	var norm any
	if err := json.Unmarshal(b, &norm); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, norm) {
		t.Fatal("JSON() and YAML() differ")
	}
	// Key order follows the YAML.
	if !bytes.HasPrefix(js, []byte("{\n  \"openapi\": \"3.0.3\",\n  \"info\"")) {
		t.Errorf("JSON() does not start like the YAML: %.60q", js)
	}
}

func TestYAMLToJSONScalars(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a: 1", `{"a":1}`},
		{"a: 1.5", `{"a":1.5}`},
		{"a: true", `{"a":true}`},
		{"a: null", `{"a":null}`},
		{"a: ~", `{"a":null}`},
		{"'200': x", `{"200":"x"}`},
		{"a: '1'", `{"a":"1"}`},
		{"a: [null, x]", `{"a":[null,"x"]}`},
		{"a: <b>", `{"a":"<b>"}`},
		{"a: &x {b: 1}\nc: *x", `{"a":{"b":1},"c":{"b":1}}`},
		{"z: 1\na: 2", `{"z":1,"a":2}`},
	}
	for _, tc := range tests {
		got, err := yamlToJSON([]byte(tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, got); err != nil {
			t.Fatal(err)
		}
		if compact.String() != tc.want {
			t.Errorf("%q → %s, want %s", tc.in, compact.String(), tc.want)
		}
	}
	for _, bad := range []string{"a: [", "a: !custom x", "? [a]\n: b"} {
		if _, err := yamlToJSON([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// The viewer's assets are the pinned swagger-ui-dist files (see ui/README.md) and every
// file index.html and init.js load is embedded.
func TestUIAssets(t *testing.T) {
	ui := UI()
	pinned := map[string]string{
		"swagger-ui-bundle.js": "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2",
		"swagger-ui.css":       "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d",
	}
	for name, want := range pinned {
		b, err := fs.ReadFile(ui, name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, want %s (swagger-ui-dist 5.35.0)", name, got, want)
		}
	}
	index, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?:href|src)="([^"]+)"`).FindAllSubmatch(index, -1)
	if len(refs) != 3 {
		t.Errorf("index.html loads %d files, want 3", len(refs))
	}
	for _, m := range refs {
		ref := string(m[1])
		if ok, _ := regexp.MatchString(`^ui/[a-z.-]+$`, ref); !ok {
			t.Errorf("index.html loads %q: want a relative ui/<file> (offline, works under a prefix)", ref)
			continue
		}
		if _, err := fs.Stat(ui, ref[len("ui/"):]); err != nil {
			t.Errorf("index.html loads %q, which is not embedded", ref)
		}
	}
	init, err := fs.ReadFile(ui, "init.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`url: "openapi.yaml"`, `validatorUrl: null`} {
		if !bytes.Contains(init, []byte(want)) {
			t.Errorf("init.js lacks %s", want)
		}
	}
	if bytes.Contains(init, []byte("http")) || bytes.Contains(index, []byte("http")) {
		t.Error("the viewer must not load anything from the network")
	}
}
