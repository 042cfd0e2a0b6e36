// Package stubprefect is a fast, in-memory stand-in for the Prefect endpoints the gateway's
// hot paths call, for benchmarks and load tests only (end-to-end tests use the real server).
// It keeps the facts the gateway relies on: 201 for a new keyed run and 200 with the stored
// run for a repeat, filters capped at limit 200 (422 above), 422 on unknown top-level keys,
// errors as {"detail": ...}. Answers for list calls are encoded once and reused, so that the
// stub costs as little CPU as possible next to what it measures.
package stubprefect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DAGID is the dag_id of the stub's one deployment.
const (
	FlowName       = "bench_flow"
	DeploymentName = "load"
	DAGID          = FlowName + "." + DeploymentName
	FlowID         = "0b7e1c2a-6f55-4d2e-9a53-3c1d1f3a0001"
	DeploymentID   = "0b7e1c2a-6f55-4d2e-9a53-3c1d1f3a0002"
)

// Stub is an http.Handler serving the API root at /api.
type Stub struct {
	runs       []map[string]any // the deployment's runs, newest first
	deployment []byte
	flows      []byte
	mu         sync.Mutex
	pages      map[string][]byte // "offset/limit" → encoded page
	created    map[string][]byte // idempotency key → encoded run
	calls      atomic.Int64
}

// New returns a stub whose deployment has n runs.
func New(n int) *Stub {
	s := &Stub{pages: map[string][]byte{}, created: map[string][]byte{}}
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		at := base.Add(time.Duration(n-i) * time.Hour)
		end := at.Add(90 * time.Second)
		// Every key of Prefect 3.8.8's FlowRunResponse, as /flow_runs/filter returns it
		// (see translate/testdata/prefect_flow_runs_filter.json): pages as large as real ones.
		runID := fmt.Sprintf("0b7e1c2a-6f55-4d2e-9a53-%012d", 100000+n-i)
		stateID := fmt.Sprintf("0b7e1c2a-6f55-4d2e-9a54-%012d", i)
		s.runs = append(s.runs, map[string]any{
			"id": runID, "created": at, "updated": end,
			"name":    fmt.Sprintf("scheduled__%s", at.Format("2006-01-02T15:04:05+00:00")),
			"flow_id": FlowID, "state_id": stateID, "deployment_id": DeploymentID, "deployment_version": nil,
			"work_queue_id": nil, "work_queue_name": "default", "flow_version": "a1b2c3",
			"parameters":      map[string]any{"batch_size": 500, "region": "eu"},
			"idempotency_key": "scheduled " + DeploymentID + " " + at.Format(time.RFC3339), "context": map[string]any{},
			"empirical_policy": map[string]any{"max_retries": 0, "retry_delay_seconds": 0.0, "retries": 0, "retry_delay": 0,
				"pause_keys": []any{}, "resuming": false, "retry_type": nil},
			"tags": []string{"bench"},
			"labels": map[string]any{"prefect.flow.id": FlowID, "prefect.deployment.id": DeploymentID,
				"prefect.worker.name": "bench-worker"},
			"parent_task_run_id": nil, "state_type": "COMPLETED", "state_name": "Completed", "run_count": 1,
			"expected_start_time": at, "next_scheduled_start_time": nil, "start_time": at, "end_time": end,
			"total_run_time": 90.0, "estimated_run_time": 90.0, "estimated_start_time_delta": 0.52,
			"auto_scheduled": true, "infrastructure_document_id": nil, "infrastructure_pid": "bench-1",
			"created_by": nil, "work_pool_id": nil, "work_pool_name": "bench-pool",
			"state": map[string]any{"id": stateID, "type": "COMPLETED", "name": "Completed", "timestamp": end,
				"message": nil, "data": nil, "state_details": map[string]any{"flow_run_id": runID, "task_run_id": nil,
					"child_flow_run_id": nil, "scheduled_time": nil, "cache_key": nil, "cache_expiration": nil,
					"deferred": false, "untrackable_result": false, "pause_timeout": nil, "pause_reschedule": false,
					"pause_key": nil, "run_input_keyset": nil, "refresh_cache": nil, "retriable": nil,
					"transition_id": nil, "task_parameters_id": nil, "traceparent": nil,
					"deployment_concurrency_lease_id": nil}},
			"job_variables": map[string]any{},
		})
	}
	dep := map[string]any{"id": DeploymentID, "created": base, "updated": base, "name": DeploymentName,
		"flow_id": FlowID, "paused": false, "schedules": []any{}, "parameters": map[string]any{"batch_size": 500},
		"parameter_openapi_schema": map[string]any{"type": "object", "properties": map[string]any{}},
		"enforce_parameter_schema": false, "tags": []string{"bench"}, "labels": map[string]any{},
		"description": "benchmark deployment", "entrypoint": "flows/bench.py:load", "status": "READY"}
	s.deployment, _ = json.Marshal(dep)
	s.flows, _ = json.Marshal([]any{map[string]any{"id": FlowID, "name": FlowName, "created": base, "updated": base, "tags": []string{}, "labels": map[string]any{}}})
	return s
}

// Calls is the number of requests the stub answered.
func (s *Stub) Calls() int64 { return s.calls.Load() }

// filterBody is the subset of a filter body the stub reads; unknown top-level keys are a
// 422, as on Prefect.
type filterBody struct {
	Flows          json.RawMessage `json:"flows"`
	FlowRuns       json.RawMessage `json:"flow_runs"`
	TaskRuns       json.RawMessage `json:"task_runs"`
	Deployments    json.RawMessage `json:"deployments"`
	WorkPools      json.RawMessage `json:"work_pools"`
	WorkPoolQueues json.RawMessage `json:"work_pool_queues"`
	Sort           string          `json:"sort"`
	Limit          *int            `json:"limit"`
	Offset         int             `json:"offset"`
	Page           int             `json:"page"` // /paginate only
}

func (s *Stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Answers carry their length, as uvicorn's do: buffered, then written at once.
	buf := answerBuffers.Get().(*lengthWriter)
	buf.ResponseWriter, buf.status = w, http.StatusOK
	s.serve(buf, r)
	w.Header().Set("Content-Length", strconv.Itoa(buf.body.Len()))
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
	buf.ResponseWriter = nil
	buf.body.Reset()
	answerBuffers.Put(buf)
}

// answerBuffers recycles answer buffers: the stub should cost next to nothing.
var answerBuffers = sync.Pool{New: func() any { return new(lengthWriter) }}

// lengthWriter holds an answer back until it is complete.
type lengthWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (l *lengthWriter) WriteHeader(status int)      { l.status = status }
func (l *lengthWriter) Write(b []byte) (int, error) { return l.body.Write(b) }

func (s *Stub) serve(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	path := strings.TrimPrefix(r.URL.Path, "/api")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case path == "/health":
		_, _ = io.WriteString(w, "true")
	case path == "/ready":
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	case path == "/admin/version":
		_, _ = io.WriteString(w, `"3.8.8"`)
	case path == "/csrf-token":
		fail(w, http.StatusUnprocessableEntity, "CSRF protection is disabled.")
	case path == "/deployments/name/"+FlowName+"/"+DeploymentName || path == "/deployments/"+DeploymentID:
		_, _ = w.Write(s.deployment)
	case strings.HasPrefix(path, "/deployments/name/"):
		fail(w, http.StatusNotFound, "Deployment not found")
	case path == "/deployments/filter":
		f, ok := readFilter(w, r)
		if !ok {
			return
		}
		if bytes.Contains(f.Deployments, []byte("airflow-dag-id:")) {
			_, _ = io.WriteString(w, `[]`) // no deployment declares an id by tag
			return
		}
		_, _ = w.Write(append(append([]byte{'['}, s.deployment...), ']'))
	case path == "/deployments/count":
		if _, ok := readFilter(w, r); ok {
			_, _ = io.WriteString(w, "1")
		}
	case path == "/flows/filter":
		if _, ok := readFilter(w, r); ok {
			_, _ = w.Write(s.flows)
		}
	case path == "/flow_runs/filter":
		f, ok := readFilter(w, r)
		if !ok {
			return
		}
		limit := 200
		if f.Limit != nil {
			limit = *f.Limit
		}
		if bytes.Contains(f.FlowRuns, []byte(`"name"`)) {
			limit = min(limit, 1) // a lookup by name: the newest run plays the part
		}
		_, _ = w.Write(s.page(f.Offset, limit))
	case path == "/flow_runs/paginate":
		f, ok := readFilter(w, r)
		if !ok {
			return
		}
		limit := 200
		if f.Limit != nil {
			limit = *f.Limit
		}
		_, _ = w.Write(s.paginated(max(f.Page, 1), limit))
	case path == "/flow_runs/count":
		if _, ok := readFilter(w, r); ok {
			_, _ = io.WriteString(w, strconv.Itoa(len(s.runs)))
		}
	case path == "/deployments/"+DeploymentID+"/create_flow_run":
		s.create(w, r)
	default:
		fail(w, http.StatusNotFound, "Not Found")
	}
}

func readFilter(w http.ResponseWriter, r *http.Request) (filterBody, bool) {
	var f filterBody
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil && err != io.EOF {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = fmt.Fprintf(w, `{"exception_message":"Invalid request received.","exception_detail":[{"msg":%q}]}`, err.Error())
		return f, false
	}
	if f.Limit != nil && (*f.Limit > 200 || *f.Limit < 0) {
		fail(w, http.StatusUnprocessableEntity, "Invalid limit: must be less than or equal to 200.")
		return f, false
	}
	return f, true
}

func (s *Stub) page(offset, limit int) []byte {
	key := strconv.Itoa(offset) + "/" + strconv.Itoa(limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.pages[key]; ok {
		return b
	}
	lo, hi := min(offset, len(s.runs)), min(offset+limit, len(s.runs))
	b, _ := json.Marshal(s.runs[lo:hi])
	s.pages[key] = b
	return b
}

// paginated is /flow_runs/paginate's answer for page (1-based) of limit runs, encoded once.
func (s *Stub) paginated(page, limit int) []byte {
	key := "paginate/" + strconv.Itoa(page) + "/" + strconv.Itoa(limit)
	s.mu.Lock()
	b, ok := s.pages[key]
	s.mu.Unlock()
	if ok {
		return b
	}
	pages := (len(s.runs) + max(limit, 1) - 1) / max(limit, 1)
	b = fmt.Appendf(nil, `{"results":%s,"count":%d,"limit":%d,"pages":%d,"page":%d}`,
		s.page((page-1)*limit, limit), len(s.runs), limit, pages, page)
	s.mu.Lock()
	s.pages[key] = b
	s.mu.Unlock()
	return b
}

func (s *Stub) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name           string         `json:"name"`
		Parameters     map[string]any `json:"parameters"`
		State          map[string]any `json:"state"`
		Tags           []string       `json:"tags"`
		IdempotencyKey string         `json:"idempotency_key"`
		Labels         map[string]any `json:"labels"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		fail(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.created[body.IdempotencyKey]; ok && body.IdempotencyKey != "" {
		_, _ = w.Write(b)
		return
	}
	now := time.Now().UTC()
	scheduled := now
	if sd, ok := body.State["state_details"].(map[string]any); ok {
		if t, ok := sd["scheduled_time"].(string); ok {
			if p, err := time.Parse(time.RFC3339Nano, t); err == nil {
				scheduled = p
			}
		}
	}
	run := map[string]any{"id": fmt.Sprintf("0b7e1c2a-6f55-4d2e-9a55-%012d", len(s.created)+1), "created": now, "updated": now,
		"name": body.Name, "flow_id": FlowID, "deployment_id": DeploymentID, "parameters": body.Parameters,
		"idempotency_key": body.IdempotencyKey, "tags": body.Tags, "labels": body.Labels, "state_type": "SCHEDULED",
		"state_name": "Scheduled", "run_count": 0, "expected_start_time": scheduled, "next_scheduled_start_time": scheduled,
		"auto_scheduled": false, "state": map[string]any{"id": "s-" + body.IdempotencyKey, "type": "SCHEDULED", "name": "Scheduled",
			"timestamp": now, "state_details": map[string]any{"scheduled_time": scheduled}}}
	b, _ := json.Marshal(run)
	if body.IdempotencyKey != "" {
		s.created[body.IdempotencyKey] = b
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(b)
}

func fail(w http.ResponseWriter, status int, detail string) {
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"detail": detail})
	_, _ = w.Write(b)
}
