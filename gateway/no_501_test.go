package gateway

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"airflow-prefect-gateway/spec"
)

// expectedFromOthers are the Airflow operations that other work in progress implements
// (issue 13: task instances, their logs, links, XComs and notes). Until they land they
// answer 501; TestNoOperationAnswers501 fails for a 501 outside this list, and for an entry
// here that no longer answers 501 (then delete the entry). The list ends empty.
var expectedFromOthers = map[string]bool{
	// issue 13
	"patch_task_instance": true, "patch_mapped_task_instance": true,
	"set_task_instance_note": true, "set_mapped_task_instance_note": true,
	"get_task_instance_dependencies": true, "get_mapped_task_instance_dependencies": true,
	"get_extra_links": true, "get_xcom_entries": true, "get_xcom_entry": true,
	"post_clear_task_instances": true, "post_set_task_instances_state": true,
}

// Every operation of Airflow's v1.yaml, called on the gateway in front of the fake Prefect:
// none answers 501 (Not Implemented), whatever else it answers.
func TestNoOperationAnswers501(t *testing.T) {
	e := newRunsEnv(t)
	known := map[string]bool{}
	var unexpected, landed []string
	for _, op := range spec.AirflowOperations() {
		known[op.OperationID] = true
		body := ""
		if op.Method == http.MethodPost || op.Method == http.MethodPatch || op.Method == http.MethodPut {
			body = "{}"
		}
		if op.OperationID == "test_connection" {
			continue // Airflow's own plain-text 403 while testing is disabled (connections_test.go)
		}
		a := e.do(op.Method, fillParams(EchoPath(op.Path), "etl.daily"), body)
		switch {
		case a.status == http.StatusNotImplemented && !expectedFromOthers[op.OperationID]:
			unexpected = append(unexpected, op.OperationID)
		case a.status != http.StatusNotImplemented && expectedFromOthers[op.OperationID]:
			landed = append(landed, op.OperationID)
		}
	}
	for id := range expectedFromOthers {
		if !known[id] {
			t.Errorf("expectedFromOthers names %s, which is not an operation of Airflow's API", id)
		}
	}
	sort.Strings(unexpected)
	sort.Strings(landed)
	if len(unexpected) > 0 {
		t.Errorf("these operations answer 501: %s", strings.Join(unexpected, ", "))
	}
	if len(landed) > 0 {
		t.Errorf("these operations are implemented now: delete them from expectedFromOthers: %s", strings.Join(landed, ", "))
	}
}
