package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// fakePrefect is an in-memory Prefect for the DAG-run handlers' unit tests. It keeps the
// behaviour the handlers depend on as the real server has it (prefect/server 3.8.8):
// create_flow_run answers 201 for a new run and 200 with the existing run for a known
// idempotency key (unique per flow); a parameter-schema refusal is a 409 "Error creating flow
// run: ..."; unknown body keys and limits over 200 are 422s; errors come as {"detail": ...} or
// {"exception_message": ...}; set_state answers orchestration results (REJECT with a written
// CANCELLED for a scheduled run asked to cancel, ABORT for a final run asked to cancel,
// REJECT without a write for a cancelling run), 201 when a state was written and 200
// otherwise. The end-to-end tests check the same behaviour against the real server.
type fakePrefect struct {
	t  testing.TB
	mu sync.Mutex

	flows       map[string]string // id → name
	deployments []*fakeDeployment
	runs        []*wire.FlowRun // creation order
	keys        map[string]string
	taskRuns    []wire.TaskRun
	events      []wire.Event      // fake_events_test.go
	automations []wire.Automation // fake_prefect_more_test.go
	taskAPI     fakeTaskAPI       // task-run states, logs, artifacts, every label (task_instances_fake_test.go)
	seq         int
	clock       time.Time

	// resources holds the variables, concurrency limits and blocks (fake_resources_test.go).
	resources fakeResources

	calls []string // "METHOD /path" of every request, in arrival order
	// onRequest, when set, runs before a request is served (fault injection, barriers);
	// it returns true when it answered the request itself.
	onRequest func(w http.ResponseWriter, r *http.Request) bool

	server *httptest.Server
}

type fakeDeployment struct {
	wire.Deployment
	// intParam, when set, is a parameter the schema types as an integer.
	intParam string
}

func newFakePrefect(t testing.TB) *fakePrefect {
	f := &fakePrefect{t: t, flows: map[string]string{}, keys: map[string]string{},
		clock: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

// URL is the API root the gateway is pointed at.
func (f *fakePrefect) URL() string { return f.server.URL + "/api" }

func (f *fakePrefect) nextID() string {
	f.seq++
	// Prefect 3.8 makes flow-run ids with uuid4: their order is not creation order. A
	// scrambled (but repeatable) prefix gives the fake's ids the same property.
	return fmt.Sprintf("%08x-0000-4000-8000-%012d", uint32(f.seq)*2654435761, f.seq)
}

func (f *fakePrefect) tick() *time.Time {
	f.clock = f.clock.Add(time.Second)
	t := f.clock
	return &t
}

// addDeployment creates flow/deployment (tags optional) and returns the deployment.
func (f *fakePrefect) addDeployment(flow, name string, tags ...string) *fakeDeployment {
	f.mu.Lock()
	defer f.mu.Unlock()
	flowID := ""
	for id, n := range f.flows {
		if n == flow {
			flowID = id
		}
	}
	if flowID == "" {
		flowID = fmt.Sprintf("f1000000-0000-4000-8000-%012d", len(f.flows)+1)
		f.flows[flowID] = flow
	}
	d := &fakeDeployment{Deployment: wire.Deployment{
		ID:     fmt.Sprintf("d1000000-0000-4000-8000-%012d", len(f.deployments)+1),
		Name:   name,
		FlowID: flowID,
		Tags:   tags,
	}}
	f.deployments = append(f.deployments, d)
	return d
}

func (f *fakePrefect) deleteDeployment(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deployments = slices.DeleteFunc(f.deployments, func(d *fakeDeployment) bool { return d.ID == id })
}

// addRun creates a run directly (as Prefect's scheduler or UI would), in state st, scheduled
// at `at`.
func (f *fakePrefect) addRun(dep *fakeDeployment, name string, at time.Time, st wire.StateType) *wire.FlowRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.insertRun(dep, name, at, st, nil, map[string]any{}, "")
}

func (f *fakePrefect) insertRun(dep *fakeDeployment, name string, at time.Time, st wire.StateType,
	params map[string]any, labels map[string]any, key string) *wire.FlowRun {
	at = at.UTC()
	depID := dep.ID
	if params == nil {
		params = map[string]any{}
	}
	rawParams, err := json.Marshal(params)
	if err != nil {
		panic(fmt.Sprintf("fake Prefect: parameters %v: %v", params, err))
	}
	run := &wire.FlowRun{ID: f.nextID(), Name: name, FlowID: dep.FlowID, DeploymentID: &depID,
		Parameters: rawParams, ExpectedStartTime: &at}
	if raw, err := json.Marshal(labels); err != nil || json.Unmarshal(raw, &run.Labels) != nil {
		panic(fmt.Sprintf("fake Prefect: labels %v: %v", labels, err))
	}
	if key != "" {
		k := key
		run.IdempotencyKey = &k
	}
	f.writeState(run, wire.State{Type: st, Name: fakeStateName(st), StateDetails: wire.StateDetails{ScheduledTime: &at}})
	f.runs = append(f.runs, run)
	return run
}

func fakeStateName(t wire.StateType) string {
	s := strings.ToLower(string(t))
	return strings.ToUpper(s[:1]) + s[1:]
}

// writeState applies a state with Prefect's bookkeeping (global_policy.py).
func (f *fakePrefect) writeState(run *wire.FlowRun, st wire.State) {
	var prev wire.StateType
	if run.StateType != nil {
		prev = *run.StateType
	}
	st.ID = f.nextID()
	st.Timestamp = f.tick()
	t, name := st.Type, st.Name
	run.StateType, run.StateName, run.State = &t, &name, &st
	if t == wire.Running && run.StartTime == nil {
		run.StartTime = st.Timestamp
	}
	if prev.Terminal() && !t.Terminal() {
		run.EndTime = nil
	}
	if t.Terminal() && run.EndTime == nil {
		if run.StartTime == nil {
			run.StartTime = st.Timestamp
		}
		run.EndTime = st.Timestamp
	}
}

func (f *fakePrefect) addTaskRun(run *wire.FlowRun, key, dynamic string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := run.ID
	f.taskRuns = append(f.taskRuns, wire.TaskRun{ID: f.nextID(), FlowRunID: &id, TaskKey: key, DynamicKey: dynamic, Name: key + "-" + dynamic})
}

func (f *fakePrefect) run(id string) *wire.FlowRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.ID == id {
			cp := *r
			return &cp
		}
	}
	return nil
}

// namesByID lists the deployment's run names in ascending flow-run id.
func (f *fakePrefect) namesByID(deploymentID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var runs []*wire.FlowRun
	for _, r := range f.runs {
		if r.DeploymentID != nil && *r.DeploymentID == deploymentID {
			runs = append(runs, r)
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.Name
	}
	return out
}

func (f *fakePrefect) runCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.runs)
}

// takeCalls returns the calls made since the last take.
func (f *fakePrefect) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func fakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fakeDetail(w http.ResponseWriter, status int, msg string) {
	fakeJSON(w, status, map[string]any{"detail": msg})
}

// fakeDecodeStrict decodes a JSON object body into dst, refusing keys outside allowed with
// Prefect's 422 shape. It reports whether the request may go on.
func fakeDecodeStrict(w http.ResponseWriter, r *http.Request, allowed []string, dst any) bool {
	raw, _ := io.ReadAll(r.Body)
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		fakeJSON(w, 422, map[string]any{"exception_message": "Invalid request received.", "exception_detail": []any{map[string]any{"msg": err.Error()}}})
		return false
	}
	for k := range keys {
		if !slices.Contains(allowed, k) {
			fakeJSON(w, 422, map[string]any{"exception_message": "Invalid request received.",
				"exception_detail": []any{map[string]any{"loc": []string{"body", k}, "msg": "Extra inputs are not permitted"}}})
			return false
		}
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		fakeJSON(w, 422, map[string]any{"exception_message": "Invalid request received.", "exception_detail": []any{map[string]any{"msg": err.Error()}}})
		return false
	}
	return true
}

type fakeQuery struct {
	Page        int                    `json:"page"`
	Flows       *wire.FlowFilter       `json:"flows"`
	FlowRuns    *wire.FlowRunFilter    `json:"flow_runs"`
	TaskRuns    *wire.TaskRunFilter    `json:"task_runs"`
	Deployments *wire.DeploymentFilter `json:"deployments"`
	Sort        string                 `json:"sort"`
	Limit       *int                   `json:"limit"`
	Offset      int                    `json:"offset"`
}

var (
	fakeFilterKeys = []string{"flows", "flow_runs", "task_runs", "deployments", "work_pools", "work_pool_queues", "sort", "limit", "offset"}
	fakeCountKeys  = []string{"flows", "flow_runs", "task_runs", "deployments", "work_pools", "work_pool_queues"}
	fakeCreateKeys = []string{"state", "name", "parameters", "enforce_parameter_schema", "context", "infrastructure_document_id",
		"empirical_policy", "tags", "idempotency_key", "labels", "parent_task_run_id", "work_queue_name", "job_variables"}
)

func (f *fakePrefect) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api")
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+path)
	hook := f.onRequest
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	f.handle(w, r)
}

// handle answers a request as the fake Prefect does, without the hook.
func (f *fakePrefect) handle(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api")
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 4 && parts[0] == "deployments" && parts[1] == "name":
		for _, d := range f.deployments {
			if f.flows[d.FlowID] == parts[2] && d.Name == parts[3] {
				fakeJSON(w, 200, d.Deployment)
				return
			}
		}
		fakeDetail(w, 404, "Deployment not found")
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "deployments":
		if d := f.deploymentByID(parts[1]); d != nil {
			fakeJSON(w, 200, d.Deployment)
			return
		}
		fakeDetail(w, 404, "Deployment not found")
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "deployments" &&
		(parts[2] == "pause_deployment" || parts[2] == "resume_deployment"):
		d := f.deploymentByID(parts[1])
		if d == nil {
			fakeDetail(w, 404, "Deployment not found")
			return
		}
		d.Paused = parts[2] == "pause_deployment"
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && path == "/deployments/filter":
		var q fakeQuery
		if !fakeDecodeStrict(w, r, fakeFilterKeys, &q) || !f.checkLimit(w, q.Limit) {
			return
		}
		var out []wire.Deployment
		for _, d := range f.deployments {
			if df := q.Deployments; df != nil {
				if df.ID != nil && !slices.Contains(df.ID.Any, d.ID) {
					continue
				}
				if df.Tags != nil && (!fakeHasAll(d.Tags, df.Tags.All) ||
					(df.Tags.Any != nil && !slices.ContainsFunc(df.Tags.Any, func(t string) bool { return slices.Contains(d.Tags, t) }))) {
					continue
				}
				if df.Name != nil && df.Name.Any != nil && !slices.Contains(df.Name.Any, d.Name) {
					continue
				}
			}
			if ff := q.Flows; ff != nil && !fakeFlowMatches(ff, d.FlowID, f.flows[d.FlowID]) {
				continue
			}
			out = append(out, d.Deployment)
		}
		fakeJSON(w, 200, fakePage(out, q.Offset, q.Limit))
	case r.Method == http.MethodPost && path == "/flows/count":
		fakeJSON(w, 200, len(f.flows))
	case r.Method == http.MethodPost && path == "/flows/filter":
		var q fakeQuery
		if !fakeDecodeStrict(w, r, fakeFilterKeys, &q) || !f.checkLimit(w, q.Limit) {
			return
		}
		var out []wire.Flow
		for id, name := range f.flows {
			if q.Flows != nil && !fakeFlowMatches(q.Flows, id, name) {
				continue
			}
			out = append(out, wire.Flow{ID: id, Name: name})
		}
		fakeJSON(w, 200, fakePage(out, q.Offset, q.Limit))
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "deployments" && parts[2] == "create_flow_run":
		f.createFlowRun(w, r, parts[1])
	case r.Method == http.MethodPost && (path == "/flow_runs/filter" || path == "/flow_runs/count" || path == "/flow_runs/paginate"):
		var q fakeQuery
		keys := fakeFilterKeys
		switch path {
		case "/flow_runs/count":
			keys = fakeCountKeys
		case "/flow_runs/paginate":
			keys = append(slices.Clone(fakeCountKeys), "sort", "limit", "page")
		}
		if !fakeDecodeStrict(w, r, keys, &q) || !f.checkLimit(w, q.Limit) {
			return
		}
		var out []wire.FlowRun
		for _, run := range f.runs {
			if f.matches(run, q) {
				out = append(out, *run)
			}
		}
		if path == "/flow_runs/count" {
			fakeJSON(w, 200, len(out))
			return
		}
		if !fakeSortRuns(out, q.Sort) {
			fakeDetail(w, 422, "bad sort "+q.Sort)
			return
		}
		if path == "/flow_runs/paginate" {
			limit := 200
			if q.Limit != nil {
				limit = *q.Limit
			}
			if q.Page < 1 {
				q.Page = 1
			}
			fakeJSON(w, 200, map[string]any{"results": f.withExtras(fakePage(out, (q.Page-1)*limit, &limit)), "count": len(out),
				"limit": limit, "pages": (len(out) + limit - 1) / max(limit, 1), "page": q.Page})
			return
		}
		fakeJSON(w, 200, f.withExtras(fakePage(out, q.Offset, q.Limit)))
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "flow_runs" && parts[2] == "set_state":
		f.setState(w, r, parts[1])
	case r.Method == http.MethodDelete && len(parts) == 2 && parts[0] == "flow_runs":
		for i, run := range f.runs {
			if run.ID == parts[1] {
				f.runs = slices.Delete(f.runs, i, i+1)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		fakeDetail(w, 404, "Flow run not found")
	case r.Method == http.MethodPatch && len(parts) == 3 && parts[0] == "flow_runs" && parts[2] == "labels":
		var labels map[string]any
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &labels); err != nil {
			fakeDetail(w, 422, err.Error())
			return
		}
		for _, run := range f.runs {
			if run.ID == parts[1] {
				// Prefect merges the given labels into the run's; decoding into the
				// run's labels does the same for the ones the gateway reads.
				_ = json.Unmarshal(raw, &run.Labels)
				f.mergeLabels(run.ID, labels)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		fakeJSON(w, 404, map[string]any{"exception_message": "Flow run with id " + parts[1] + " not found"})
	default:
		if f.handleTaskAPI(w, r, path, parts) { // task runs, logs, artifacts: task_instances_fake_test.go
			return
		}
		if !f.handleMore(w, r, path, parts) && !f.handleResource(w, r, path, parts) {
			fakeDetail(w, 404, "Not Found")
		}
	}
}

func (f *fakePrefect) checkLimit(w http.ResponseWriter, limit *int) bool {
	if limit != nil && (*limit > 200 || *limit < 0) {
		fakeDetail(w, 422, "Invalid limit: must be less than or equal to 200.")
		return false
	}
	return true
}

func fakePage[T any](rows []T, offset int, limit *int) []T {
	if rows == nil {
		rows = []T{}
	}
	if offset >= len(rows) {
		return []T{}
	}
	rows = rows[offset:]
	n := 200
	if limit != nil {
		n = *limit
	}
	if n < len(rows) {
		rows = rows[:n]
	}
	return rows
}

// fakeFlowMatches applies a flows filter's id and name criteria.
func fakeFlowMatches(ff *wire.FlowFilter, id, name string) bool {
	return (ff.ID == nil || slices.Contains(ff.ID.Any, id)) && (ff.Name == nil || ff.Name.Any == nil || slices.Contains(ff.Name.Any, name))
}

func fakeHasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func (f *fakePrefect) deploymentByID(id string) *fakeDeployment {
	for _, d := range f.deployments {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func (f *fakePrefect) createFlowRun(w http.ResponseWriter, r *http.Request, depID string) {
	var body struct {
		State          *wire.StateCreate `json:"state"`
		Name           string            `json:"name"`
		Parameters     map[string]any    `json:"parameters"`
		IdempotencyKey string            `json:"idempotency_key"`
		Labels         map[string]any    `json:"labels"`
	}
	if !fakeDecodeStrict(w, r, fakeCreateKeys, &body) {
		return
	}
	dep := f.deploymentByID(depID)
	if dep == nil {
		fakeDetail(w, 404, "Deployment not found")
		return
	}
	if dep.intParam != "" {
		if v, ok := body.Parameters[dep.intParam]; ok {
			if _, isNum := v.(float64); !isNum {
				fakeDetail(w, 409, fmt.Sprintf("Error creating flow run: Validation failed for field '%s'. Failure reason: %s is not of type 'integer'", dep.intParam, fakeJSONText(v)))
				return
			}
		}
	}
	if body.IdempotencyKey != "" {
		if id, ok := f.keys[dep.FlowID+"|"+body.IdempotencyKey]; ok {
			for _, run := range f.runs {
				if run.ID == id {
					fakeJSON(w, 200, run)
					return
				}
			}
		}
	}
	at := f.clock
	st := wire.Scheduled
	if body.State != nil {
		st = body.State.Type
		if body.State.StateDetails != nil && body.State.StateDetails.ScheduledTime != nil {
			at = *body.State.StateDetails.ScheduledTime
		}
	}
	labels := map[string]any{"prefect.flow.id": dep.FlowID}
	for k, v := range body.Labels {
		labels[k] = v
	}
	name := body.Name
	if name == "" {
		name = "random-slug"
	}
	run := f.insertRun(dep, name, at, st, body.Parameters, labels, body.IdempotencyKey)
	if body.IdempotencyKey != "" {
		f.keys[dep.FlowID+"|"+body.IdempotencyKey] = run.ID
	}
	fakeJSON(w, 201, run)
}

func fakeJSONText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (f *fakePrefect) matches(run *wire.FlowRun, q fakeQuery) bool {
	if q.TaskRuns != nil && !f.hasTaskRun(run.ID, q.TaskRuns) {
		return false
	}
	if q.Deployments != nil {
		if run.DeploymentID == nil {
			return false
		}
		dep := f.deploymentByID(*run.DeploymentID)
		if dep == nil || (q.Deployments.ID != nil && !slices.Contains(q.Deployments.ID.Any, dep.ID)) {
			return false
		}
	}
	fr := q.FlowRuns
	if fr == nil {
		return true
	}
	var results []bool
	if fr.ID != nil {
		results = append(results, slices.Contains(fr.ID.Any, run.ID))
	}
	if fr.Name != nil {
		results = append(results, slices.Contains(fr.Name.Any, run.Name))
	}
	if fr.DeploymentID != nil {
		if fr.DeploymentID.Any != nil {
			results = append(results, run.DeploymentID != nil && slices.Contains(fr.DeploymentID.Any, *run.DeploymentID))
		}
		if fr.DeploymentID.IsNull != nil {
			results = append(results, (run.DeploymentID == nil) == *fr.DeploymentID.IsNull)
		}
	}
	if fr.State != nil && fr.State.Type != nil {
		results = append(results, slices.Contains(fr.State.Type.Any, string(*run.StateType)))
	}
	if fr.IdempotencyKey != nil {
		results = append(results, run.IdempotencyKey != nil && slices.Contains(fr.IdempotencyKey.Any, *run.IdempotencyKey))
	}
	inRange := func(t *time.Time, rg *wire.TimeRange) bool {
		if rg.IsNull != nil && (t == nil) != *rg.IsNull {
			return false
		}
		if (rg.After != nil || rg.Before != nil) && t == nil {
			return false
		}
		if rg.After != nil && t.Before(*rg.After) {
			return false
		}
		if rg.Before != nil && t.After(*rg.Before) {
			return false
		}
		return true
	}
	if rg := fr.ExpectedStartTime; rg != nil {
		results = append(results, inRange(run.ExpectedStartTime, rg))
	}
	if rg := fr.StartTime; rg != nil {
		// Prefect compares COALESCE(start_time, expected_start_time), and is_null_ the
		// real start_time.
		coalesced := run.StartTime
		if coalesced == nil {
			coalesced = run.ExpectedStartTime
		}
		ok := inRange(coalesced, &wire.TimeRange{After: rg.After, Before: rg.Before})
		if rg.IsNull != nil {
			ok = ok && (run.StartTime == nil) == *rg.IsNull
		}
		results = append(results, ok)
	}
	if rg := fr.EndTime; rg != nil {
		results = append(results, inRange(run.EndTime, rg))
	}
	if len(results) == 0 {
		return true
	}
	if fr.Operator == "or_" {
		return slices.Contains(results, true)
	}
	return !slices.Contains(results, false)
}

// fakeSortRuns orders as Prefect's FlowRunSort; ties keep creation order (Prefect promises
// none, so the handlers must not rely on it).
func fakeSortRuns(runs []wire.FlowRun, by string) bool {
	t := func(p *time.Time) time.Time {
		if p == nil {
			return time.Time{} // SQLite sorts NULL first ascending, last descending
		}
		return *p
	}
	coalesce := func(r wire.FlowRun) time.Time {
		if r.StartTime != nil {
			return *r.StartTime
		}
		return t(r.ExpectedStartTime)
	}
	var less func(a, b wire.FlowRun) bool
	switch by {
	case "", "ID_DESC":
		less = func(a, b wire.FlowRun) bool { return a.ID > b.ID }
	case "EXPECTED_START_TIME_ASC":
		less = func(a, b wire.FlowRun) bool { return t(a.ExpectedStartTime).Before(t(b.ExpectedStartTime)) }
	case "EXPECTED_START_TIME_DESC":
		less = func(a, b wire.FlowRun) bool { return t(a.ExpectedStartTime).After(t(b.ExpectedStartTime)) }
	case "NAME_ASC":
		less = func(a, b wire.FlowRun) bool { return a.Name < b.Name }
	case "NAME_DESC":
		less = func(a, b wire.FlowRun) bool { return a.Name > b.Name }
	case "START_TIME_ASC":
		less = func(a, b wire.FlowRun) bool { return coalesce(a).Before(coalesce(b)) }
	case "START_TIME_DESC":
		less = func(a, b wire.FlowRun) bool { return coalesce(a).After(coalesce(b)) }
	case "END_TIME_DESC":
		less = func(a, b wire.FlowRun) bool { return t(a.EndTime).After(t(b.EndTime)) }
	default:
		return false
	}
	sort.SliceStable(runs, func(i, j int) bool { return less(runs[i], runs[j]) })
	return true
}

func (f *fakePrefect) setState(w http.ResponseWriter, r *http.Request, id string) {
	var body struct {
		State wire.StateCreate `json:"state"`
		Force bool             `json:"force"`
	}
	if !fakeDecodeStrict(w, r, []string{"state", "force"}, &body) {
		return
	}
	var run *wire.FlowRun
	for _, fr := range f.runs {
		if fr.ID == id {
			run = fr
		}
	}
	if run == nil {
		fakeJSON(w, 404, map[string]any{"exception_message": "Flow run with id " + id + " not found"})
		return
	}
	current := *run.StateType
	result := func(status int, s wire.OrchestrationStatus, kind, reason string) {
		st := *run.State
		res := map[string]any{"state": st, "status": s, "details": map[string]any{"type": kind}}
		if reason != "" {
			res["details"].(map[string]any)["reason"] = reason
		}
		fakeJSON(w, status, res)
	}
	proposed := body.State
	if proposed.Name == "" {
		proposed.Name = fakeStateName(proposed.Type)
	}
	switch {
	case current.Terminal() && (proposed.Type == wire.Cancelling || proposed.Type == wire.Paused || proposed.Type == wire.Crashed):
		result(200, wire.Abort, "abort_details", "Run is already in terminal state "+string(current)+".")
	case current == wire.Cancelling && proposed.Type != wire.Cancelled:
		result(200, wire.Reject, "reject_details", "Cannot transition flow run in CANCELLING state to "+string(proposed.Type)+".")
	case current == wire.Scheduled && proposed.Type == wire.Cancelling:
		f.writeState(run, wire.State{Type: wire.Cancelled, Name: "Cancelled"})
		result(201, wire.Reject, "reject_details", "Scheduled flow run has no infrastructure to terminate.")
	default:
		f.writeState(run, wire.State{Type: proposed.Type, Name: proposed.Name, Message: &proposed.Message})
		result(201, wire.Accept, "accept_details", "")
	}
}
