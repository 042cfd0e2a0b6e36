package harness

import (
	"net/http"
	"testing"
)

// The validator must catch what it is there to catch, or every conformance check in the
// end-to-end suite would pass vacuously.
func TestValidatorRejectsNonConformingAnswers(t *testing.T) {
	v, err := AirflowValidator()
	if err != nil {
		t.Fatal(err)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	cases := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		ok                 bool
	}{
		{"good version", "GET", "/api/v1/version", 200, jsonHeader, `{"version":"1","git_version":null}`, true},
		{"version of wrong type", "GET", "/api/v1/version", 200, jsonHeader, `{"version":1}`, false},
		{"bad health enum", "GET", "/api/v1/health", 200, jsonHeader, `{"metadatabase":{"status":"fine"}}`, false},
		{"good dag run", "GET", "/api/v1/dags/a/dagRuns/b", 200, jsonHeader,
			`{"dag_run_id":"b","dag_id":"a","state":"queued","run_type":"manual","external_trigger":true,"conf":{}}`, true},
		{"bad dag run state", "GET", "/api/v1/dags/a/dagRuns/b", 200, jsonHeader,
			`{"dag_run_id":"b","dag_id":"a","state":"pending"}`, false},
		{"problem", "GET", "/api/v1/dags/a/dagRuns/b", 404, problemHeader,
			`{"type":"x","title":"Not Found","status":404,"detail":"no"}`, true},
		{"problem missing title", "GET", "/api/v1/dags/a/dagRuns/b", 404, problemHeader,
			`{"type":"x","status":404}`, false},
		{"undocumented status", "GET", "/api/v1/dags/a/dagRuns/b", 418, problemHeader,
			`{"type":"x","title":"t","status":418}`, false},
		{"not an Airflow route", "GET", "/api/v1/nope", 200, jsonHeader, `{}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://gateway"+tc.path, nil)
			err := v.Check(req, tc.status, tc.header, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
