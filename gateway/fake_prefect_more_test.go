package gateway

import (
	"net/http"
	"slices"

	"airflow-prefect-gateway/prefect/wire"
)

// More of fakePrefect (dag_runs_fake_test.go): the endpoints the overview, dataset and event
// routes use. handleMore runs with f.mu held and reports whether it answered.
func (f *fakePrefect) handleMore(w http.ResponseWriter, r *http.Request, path string, parts []string) bool {
	switch {
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "deployments":
		if d := f.deploymentByID(parts[1]); d != nil {
			fakeJSON(w, 200, d.Deployment)
		} else {
			fakeDetail(w, 404, "Deployment not found")
		}
	case r.Method == http.MethodPost && path == "/flow_runs/bulk_delete":
		var body struct {
			FlowRuns *wire.FlowRunFilter `json:"flow_runs"`
			Limit    *int                `json:"limit"`
		}
		if !fakeDecodeStrict(w, r, []string{"flow_runs", "limit"}, &body) {
			return true
		}
		limit := 50
		if body.Limit != nil {
			limit = *body.Limit
		}
		if limit < 1 || limit > 50 {
			fakeDetail(w, 422, "Input should be less than or equal to 50")
			return true
		}
		deleted := []string{}
		f.runs = slices.DeleteFunc(f.runs, func(run *wire.FlowRun) bool {
			if len(deleted) < limit && f.matches(run, fakeQuery{FlowRuns: body.FlowRuns}) {
				deleted = append(deleted, run.ID)
				return true
			}
			return false
		})
		fakeJSON(w, 200, map[string]any{"deleted": deleted})
	case r.Method == http.MethodPost && path == "/automations/filter":
		var body struct {
			Limit  *int `json:"limit"`
			Offset int  `json:"offset"`
		}
		if !fakeDecodeStrict(w, r, []string{"sort", "limit", "offset", "automations"}, &body) || !f.checkLimit(w, body.Limit) {
			return true
		}
		fakeJSON(w, 200, fakePage(f.automations, body.Offset, body.Limit))
	default:
		return f.handleEvents(w, r, path, parts)
	}
	return true
}
