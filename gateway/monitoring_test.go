package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"airflow-prefect-gateway/prefect"
)

// /health's scheduler is what Prefect's settings say of its scheduler service, never made up.
func TestHealthReportsPrefectsScheduler(t *testing.T) {
	cases := []struct {
		name            string
		ready, settings int
		body            string
		db, scheduler   any
	}{
		{"scheduler on", 200, 200, `{"server":{"services":{"scheduler":{"enabled":true}}}}`, "healthy", "healthy"},
		{"scheduler off", 200, 200, `{"server":{"services":{"scheduler":{"enabled":false}}}}`, "healthy", "unhealthy"},
		{"no settings (Prefect Cloud)", 200, 404, `{"detail":"Not Found"}`, "healthy", nil},
		{"settings without the key", 200, 200, `{"server":{}}`, "healthy", nil},
		{"Prefect down", 503, 503, `{}`, "unhealthy", "unhealthy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/api/ready":
					w.WriteHeader(tc.ready)
					_, _ = w.Write([]byte(`{"message":"OK"}`))
				case "/api/admin/settings":
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tc.settings)
					_, _ = w.Write([]byte(tc.body))
				default:
					w.WriteHeader(404)
				}
			}))
			defer up.Close()
			pc, err := prefect.New(prefect.Options{BaseURL: up.URL + "/api", MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(Options{Prefect: pc, Auth: AuthOptions{Mode: AuthModeNone}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/health", nil))
			var h map[string]map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil || rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if h["metadatabase"]["status"] != tc.db || h["scheduler"]["status"] != tc.scheduler || h["scheduler"]["latest_scheduler_heartbeat"] != nil {
				t.Errorf("health %v, want metadatabase %v, scheduler %v without a heartbeat", h, tc.db, tc.scheduler)
			}
		})
	}
}
