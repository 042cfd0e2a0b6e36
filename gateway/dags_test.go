package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// dagsPrefect is an in-memory Prefect for the DAG routes: flows, deployments, pause and
// resume, the latest flow run and its task runs. It answers the filter bodies the gateway
// sends the way Prefect does (paused eq_, tags any_, ids, CREATED_DESC, limit and offset,
// limit ≤ 200), and counts every call by endpoint.
type dagsPrefect struct {
	t  *testing.T
	mu sync.Mutex

	flows       map[string]string // id → name
	deployments []wire.Deployment
	runs        []wire.FlowRun // newest first
	taskRuns    map[string][]wire.TaskRun
	// fail answers a pause/resume of these deployment ids with a 500.
	fail map[string]bool

	calls map[string]int
	srv   *httptest.Server
}

func newDAGsPrefect(t *testing.T) *dagsPrefect {
	p := &dagsPrefect{t: t, flows: map[string]string{}, taskRuns: map[string][]wire.TaskRun{}, fail: map[string]bool{}, calls: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// add creates flow/name with its tags; created orders the deployments as Prefect's clock would.
func (p *dagsPrefect) add(flow, name string, paused bool, tags ...string) wire.Deployment {
	p.mu.Lock()
	defer p.mu.Unlock()
	flowID := ""
	for id, n := range p.flows {
		if n == flow {
			flowID = id
		}
	}
	if flowID == "" {
		flowID = fmt.Sprintf("f0000000-0000-4000-8000-%012d", len(p.flows)+1)
		p.flows[flowID] = flow
	}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(len(p.deployments)) * time.Minute)
	d := wire.Deployment{
		ID:      fmt.Sprintf("d0000000-0000-4000-8000-%012d", len(p.deployments)+1),
		Created: &created, Updated: &created,
		Name: name, FlowID: flowID, Paused: paused, Tags: tags,
		Schedules: []wire.DeploymentSchedule{{Schedule: wire.Schedule{Cron: "0 6 * * *"}}},
	}
	p.deployments = append(p.deployments, d)
	return d
}

func (p *dagsPrefect) remove(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, d := range p.deployments {
		if d.ID == id {
			p.deployments = append(p.deployments[:i], p.deployments[i+1:]...)
			return
		}
	}
}

func (p *dagsPrefect) paused(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.deployments {
		if d.ID == id {
			return d.Paused
		}
	}
	p.t.Fatalf("no deployment %s", id)
	return false
}

func (p *dagsPrefect) resetCalls() {
	p.mu.Lock()
	p.calls = map[string]int{}
	p.mu.Unlock()
}

func (p *dagsPrefect) callCounts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.calls {
		out[k] = v
	}
	return out
}

func (p *dagsPrefect) totalCalls() int {
	n := 0
	for _, v := range p.callCounts() {
		n += v
	}
	return n
}

type dagsQueryBody struct {
	Flows *struct {
		ID *wire.AnyOf `json:"id"`
	} `json:"flows"`
	Deployments *wire.DeploymentFilter `json:"deployments"`
	FlowRuns    *wire.FlowRunFilter    `json:"flow_runs"`
	TaskRuns    *wire.TaskRunFilter    `json:"task_runs"`
	Sort        string                 `json:"sort"`
	Limit       *int                   `json:"limit"`
	Offset      int                    `json:"offset"`
}

func (p *dagsPrefect) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/api")
	var q dagsQueryBody
	if r.Method == http.MethodPost {
		raw, _ := io.ReadAll(r.Body)
		if len(raw) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&q); err != nil {
				w.WriteHeader(http.StatusUnprocessableEntity)
				_, _ = fmt.Fprintf(w, `{"detail":%q}`, err.Error())
				return
			}
		}
		if q.Limit != nil && *q.Limit > 200 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"detail":"Invalid limit: must be less than or equal to 200."}`)
			return
		}
	}
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := func() {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"detail":"Deployment not found"}`)
	}
	endpoint := r.Method + " " + path
	defer func() { p.calls[endpoint]++ }()
	switch {
	case r.Method == http.MethodPost && path == "/deployments/filter", r.Method == http.MethodPost && path == "/deployments/count":
		var out []wire.Deployment
		for _, d := range p.deployments {
			if p.matches(d, q.Deployments) {
				out = append(out, d)
			}
		}
		if path == "/deployments/count" {
			reply(len(out))
			return
		}
		switch q.Sort {
		case "CREATED_DESC":
			sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(*out[j].Created) })
		case "", "NAME_ASC":
			sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		}
		reply(dagsPageOf(out, q.Offset, q.Limit))
	case r.Method == http.MethodPost && path == "/flows/filter":
		var out []wire.Flow
		for id, name := range p.flows {
			if q.Flows == nil || q.Flows.ID == nil || dagsContains(q.Flows.ID.Any, id) {
				out = append(out, wire.Flow{ID: id, Name: name})
			}
		}
		reply(out)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/deployments/name/"):
		parts := strings.Split(strings.TrimPrefix(path, "/deployments/name/"), "/")
		for _, d := range p.deployments {
			if len(parts) == 2 && p.flows[d.FlowID] == parts[0] && d.Name == parts[1] {
				reply(d)
				return
			}
		}
		endpoint = "GET /deployments/name/{flow}/{name}"
		notFound()
	case strings.HasPrefix(path, "/deployments/"):
		id, action, _ := strings.Cut(strings.TrimPrefix(path, "/deployments/"), "/")
		endpoint = r.Method + " /deployments/{id}" + map[bool]string{true: "/" + action}[action != ""]
		for i := range p.deployments {
			d := &p.deployments[i]
			if d.ID != id {
				continue
			}
			switch action {
			case "":
				reply(d)
			case "pause_deployment", "resume_deployment":
				if p.fail[id] {
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = io.WriteString(w, `{"exception_message":"Internal Server Error"}`)
					return
				}
				d.Paused = action == "pause_deployment"
				reply(nil)
			}
			return
		}
		notFound()
	case r.Method == http.MethodPost && path == "/flow_runs/filter":
		var out []wire.FlowRun
		for _, run := range p.runs {
			if q.FlowRuns != nil && q.FlowRuns.DeploymentID != nil && (run.DeploymentID == nil || !dagsContains(q.FlowRuns.DeploymentID.Any, *run.DeploymentID)) {
				continue
			}
			if q.TaskRuns != nil && len(p.taskRuns[run.ID]) == 0 {
				continue
			}
			out = append(out, run)
		}
		reply(dagsPageOf(out, q.Offset, q.Limit))
	case r.Method == http.MethodPost && path == "/task_runs/filter":
		var out []wire.TaskRun
		if q.TaskRuns != nil && q.TaskRuns.FlowRunID != nil {
			for _, id := range q.TaskRuns.FlowRunID.Any {
				out = append(out, p.taskRuns[id]...)
			}
		}
		reply(dagsPageOf(out, q.Offset, q.Limit))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"detail":"Not Found"}`)
	}
}

func (p *dagsPrefect) matches(d wire.Deployment, f *wire.DeploymentFilter) bool {
	if f == nil {
		return true
	}
	if f.Paused != nil && f.Paused.Eq != nil && d.Paused != *f.Paused.Eq {
		return false
	}
	if f.ID != nil && !dagsContains(f.ID.Any, d.ID) {
		return false
	}
	if f.Tags != nil {
		for _, all := range f.Tags.All {
			if !dagsContains(d.Tags, all) {
				return false
			}
		}
		if f.Tags.Any != nil {
			hit := false
			for _, t := range f.Tags.Any {
				hit = hit || dagsContains(d.Tags, t)
			}
			if !hit {
				return false
			}
		}
	}
	return true
}

func dagsPageOf[T any](items []T, offset int, limit *int) []T {
	n := 200
	if limit != nil {
		n = *limit
	}
	lo := min(offset, len(items))
	hi := min(lo+n, len(items))
	return append([]T{}, items[lo:hi]...)
}

func dagsContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// newDAGsServer is a gateway (auth off: an Admin who sees every DAG) in front of p.
func newDAGsServer(t *testing.T, p *dagsPrefect, mutate ...func(*Options)) *Server {
	t.Helper()
	client, err := prefect.New(prefect.Options{BaseURL: p.srv.URL + "/api", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Prefect: client, Auth: AuthOptions{Mode: AuthModeNone}}
	for _, m := range mutate {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type dagsAnswer struct {
	status int
	body   []byte
}

func (a dagsAnswer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", a.status, err, a.body)
	}
}

func (a dagsAnswer) problem(t *testing.T) Problem {
	t.Helper()
	var p Problem
	a.decode(t, &p)
	return p
}

func dagsDo(s *Server, method, path, body string) dagsAnswer {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return dagsAnswer{rec.Code, rec.Body.Bytes()}
}

type dagsPage struct {
	DAGs         []translate.DAG `json:"dags"`
	TotalEntries int             `json:"total_entries"`
}

func dagsIDs(dags []translate.DAG) []string {
	ids := make([]string, len(dags))
	for i, d := range dags {
		ids[i] = d.DAGID
	}
	return ids
}

// The call budget of DESIGN §5, counted at the Prefect side: every figure is the exact
// number of calls a request costs.
func TestDAGCallBudget(t *testing.T) {
	p := newDAGsPrefect(t)
	etl := p.add("etl", "daily", false, "demo")
	p.add("etl", "hourly", false)
	p.add("sales", "report", true, "airflow-dag-id:legacy_sales")
	runID := "r0000000-0000-4000-8000-000000000001"
	p.runs = []wire.FlowRun{{ID: runID, DeploymentID: &etl.ID}}
	p.taskRuns[runID] = []wire.TaskRun{{ID: "t1", TaskKey: "extract-1a2b3c4d", DynamicKey: "0", Name: "extract-0"}}
	s := newDAGsServer(t, p)

	steps := []struct {
		name, method, path, body string
		status                   int
		calls                    map[string]int
	}{
		{"list DAGs, cold: deployments and flow names", "GET", "/api/v1/dags", "", 200,
			map[string]int{"POST /deployments/filter": 1, "POST /flows/filter": 1}},
		{"list DAGs, warm (flow names cached forever)", "GET", "/api/v1/dags?limit=2&offset=1", "", 200,
			map[string]int{"POST /deployments/filter": 1}},
		{"list DAGs with Prefect-side filters", "GET", "/api/v1/dags?paused=false&tags=demo", "", 200,
			map[string]int{"POST /deployments/filter": 1}},
		{"list DAGs asking only for gateway tags costs nothing", "GET", "/api/v1/dags?tags=owner:x", "", 200,
			map[string]int{}},
		{"get DAG, warm: the deployment read fresh by id", "GET", "/api/v1/dags/etl.daily", "", 200,
			map[string]int{"GET /deployments/{id}": 1}},
		{"get DAG by tag alias, warm", "GET", "/api/v1/dags/legacy_sales", "", 200,
			map[string]int{"GET /deployments/{id}": 1}},
		{"details, warm", "GET", "/api/v1/dags/etl.daily/details", "", 200,
			map[string]int{"GET /deployments/{id}": 1}},
		{"pause, warm: pause and fresh read", "PATCH", "/api/v1/dags/etl.daily?update_mask=is_paused", `{"is_paused": true}`, 200,
			map[string]int{"POST /deployments/{id}/pause_deployment": 1, "GET /deployments/{id}": 1}},
		{"tasks, warm: latest run with task runs, its task runs", "GET", "/api/v1/dags/etl.daily/tasks", "", 200,
			map[string]int{"POST /flow_runs/filter": 1, "POST /task_runs/filter": 1}},
		{"one task, warm: the same two reads", "GET", "/api/v1/dags/etl.daily/tasks/nope", "", 404,
			map[string]int{"POST /flow_runs/filter": 1, "POST /task_runs/filter": 1}},
		{"bulk pause of a page of 2: one listing, one pause each", "PATCH", "/api/v1/dags?dag_id_pattern=~&limit=2", `{"is_paused": true}`, 200,
			map[string]int{"POST /deployments/filter": 1, "POST /deployments/{id}/pause_deployment": 2}},
		{"a bad mask costs nothing", "PATCH", "/api/v1/dags/etl.daily?update_mask=description", `{"is_paused": true}`, 400,
			map[string]int{}},
	}
	for _, st := range steps {
		p.resetCalls()
		a := dagsDo(s, st.method, st.path, st.body)
		if a.status != st.status {
			t.Fatalf("%s: status %d: %s", st.name, a.status, a.body)
		}
		if got := p.callCounts(); fmt.Sprint(got) != fmt.Sprint(st.calls) {
			t.Errorf("%s: Prefect calls %v; want %v", st.name, got, st.calls)
		}
	}
}

// A cold get costs the resolution only: no second read of what it just read.
func TestGetDAGColdReadsOnce(t *testing.T) {
	p := newDAGsPrefect(t)
	p.add("etl", "daily", false)
	s := newDAGsServer(t, p)
	a := dagsDo(s, "GET", "/api/v1/dags/etl.daily", "")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	calls := p.callCounts()
	if calls["GET /deployments/{id}"] != 0 || calls["GET /deployments/name/{flow}/{name}"]+calls["GET /deployments/name/etl/daily"] == 0 {
		t.Errorf("cold get calls = %v; want the resolution's reads and no read by id", calls)
	}
}

// Many deployments (more than one Prefect page), aliases that sort apart from their
// canonical names: every limit pages through every DAG exactly once, in dag_id order, with
// the exact total.
func TestListDAGsPagesEveryDAGOnce(t *testing.T) {
	p := newDAGsPrefect(t)
	var want []string
	for i := 0; i < 430; i++ {
		flow := fmt.Sprintf("flow%02d", i%17)
		name := fmt.Sprintf("dep%03d", i)
		var tags []string
		id := flow + "." + name
		if i%50 == 0 {
			id = fmt.Sprintf("alias_%03d", 430-i)
			tags = []string{"airflow-dag-id:" + id}
		}
		p.add(flow, name, i%3 == 0, tags...)
		want = append(want, id)
	}
	sort.Strings(want)
	s := newDAGsServer(t, p, func(o *Options) { o.DAGAliases = map[string]string{"zz_configured": "flow01/dep001"} })
	for i, id := range want {
		if id == "flow01.dep001" {
			want = append(want[:i], want[i+1:]...)
			break
		}
	}
	want = append(want, "zz_configured")

	p.resetCalls()
	a := dagsDo(s, "GET", "/api/v1/dags?limit=1", "")
	// 430 deployments: three pages of 200 that overlap by a row (and, cold, the flow names).
	if calls := p.callCounts(); calls["POST /deployments/filter"] != 3 || calls["POST /flows/filter"] != 1 || len(calls) != 2 {
		t.Errorf("reading 430 deployments cost %v; want 3 pages and 1 read of flow names", calls)
	}
	var first dagsPage
	a.decode(t, &first)
	if first.TotalEntries != 430 {
		t.Fatalf("total_entries = %d; want 430", first.TotalEntries)
	}
	for _, limit := range []int{7, 100} {
		var got []string
		for offset := 0; offset < 430; offset += limit {
			var pg dagsPage
			dagsDo(s, "GET", fmt.Sprintf("/api/v1/dags?limit=%d&offset=%d", limit, offset), "").decode(t, &pg)
			if pg.TotalEntries != 430 || len(pg.DAGs) != min(limit, 430-offset) {
				t.Fatalf("limit %d offset %d: %d rows of %d", limit, offset, len(pg.DAGs), pg.TotalEntries)
			}
			got = append(got, dagsIDs(pg.DAGs)...)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("limit %d: paging does not see every DAG once in order", limit)
		}
	}
	for _, offset := range []int{0, 1, 2, 49, 50, 428, 429} {
		var pg dagsPage
		dagsDo(s, "GET", fmt.Sprintf("/api/v1/dags?limit=1&offset=%d", offset), "").decode(t, &pg)
		if len(pg.DAGs) != 1 || pg.DAGs[0].DAGID != want[offset] {
			t.Errorf("limit 1 offset %d = %v; want %s", offset, dagsIDs(pg.DAGs), want[offset])
		}
	}
	var desc dagsPage
	dagsDo(s, "GET", "/api/v1/dags?order_by=-dag_id&limit=3", "").decode(t, &desc)
	if got := dagsIDs(desc.DAGs); strings.Join(got, ",") != strings.Join([]string{want[429], want[428], want[427]}, ",") {
		t.Errorf("order_by=-dag_id = %v", got)
	}
}

func TestListDAGsFilters(t *testing.T) {
	p := newDAGsPrefect(t)
	p.add("etl", "daily", false, "demo", "warehouse", "owner:data-team")
	p.add("etl", "hourly", true, "demo")
	p.add("sales", "report", false, "finance", "airflow-dag-id:Legacy_Sales")
	p.add("ml", "train", true)
	s := newDAGsServer(t, p)
	cases := []struct {
		query string
		want  string
		total int
	}{
		{"", "Legacy_Sales,etl.daily,etl.hourly,ml.train", 4},
		{"?paused=true", "etl.hourly,ml.train", 2},
		{"?paused=false", "Legacy_Sales,etl.daily", 2},
		{"?tags=demo", "etl.daily,etl.hourly", 2},
		{"?tags=finance&tags=warehouse", "Legacy_Sales,etl.daily", 2},
		{"?tags=demo&paused=true", "etl.hourly", 1},
		{"?tags=owner:data-team", "", 0},
		{"?dag_id_pattern=ETL.", "etl.daily,etl.hourly", 2},
		{"?dag_id_pattern=legacy", "Legacy_Sales", 1},
		{"?dag_id_pattern=sales.report", "", 0}, // the canonical name of an aliased DAG
		{"?dag_id_pattern=e_l", "etl.daily,etl.hourly", 2},
		{"?only_active=false", "Legacy_Sales,etl.daily,etl.hourly,ml.train", 4},
		{"?limit=2&offset=1", "etl.daily,etl.hourly", 4},
		{"?offset=10", "", 4},
	}
	for _, tc := range cases {
		a := dagsDo(s, "GET", "/api/v1/dags"+tc.query, "")
		var pg dagsPage
		a.decode(t, &pg)
		if a.status != 200 || strings.Join(dagsIDs(pg.DAGs), ",") != tc.want || pg.TotalEntries != tc.total {
			t.Errorf("%q → %d %v total %d; want %s total %d", tc.query, a.status, dagsIDs(pg.DAGs), pg.TotalEntries, tc.want, tc.total)
		}
	}
	// fields keeps total_entries and only the named fields.
	a := dagsDo(s, "GET", "/api/v1/dags?fields=dag_id,is_paused&limit=1", "")
	var projected map[string]any
	a.decode(t, &projected)
	if want := map[string]any{"dags": []any{map[string]any{"dag_id": "Legacy_Sales", "is_paused": false}}, "total_entries": 4.0}; !reflect.DeepEqual(projected, want) {
		t.Errorf("fields: %s", a.body)
	}
	for _, tc := range []struct{ query, title, detail string }{
		{"?fields=dag_id,timezone", "DAGCollectionSchema init error", "Invalid fields: timezone."},
		{"?order_by=owners", "Bad Request", "Ordering with 'owners' is disallowed or the attribute does not exist on the model"},
		{"?limit=-1", "Bad Request", "Page limit must be a positive integer"},
		{"?paused=sometimes", "Bad Request", "'paused'"},
	} {
		a := dagsDo(s, "GET", "/api/v1/dags"+tc.query, "")
		pr := a.problem(t)
		if a.status != 400 || pr.Title != tc.title || !strings.Contains(pr.Detail, tc.detail) {
			t.Errorf("%q → %d %+v; want 400 %q %q", tc.query, a.status, pr, tc.title, tc.detail)
		}
	}
}

// callDAGHandler runs a DAG handler directly as principal, as the auth middleware would
// leave it, and renders its error the way the app does.
func callDAGHandler(t *testing.T, s *Server, h func(*dagAPI) echo.HandlerFunc, principal *Principal, method, target, dagID, body string) dagsAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	rec := httptest.NewRecorder()
	c := s.Echo().NewContext(req, rec)
	c.Set(principalKey, principal)
	if dagID != "" {
		c.SetParamNames("dag_id")
		c.SetParamValues(dagID)
	}
	if err := h(newDAGAPI(s))(c); err != nil {
		writeProblem(c, asProblem(err))
	}
	return dagsAnswer{rec.Code, rec.Body.Bytes()}
}

func TestDAGsLimitedPrincipal(t *testing.T) {
	p := newDAGsPrefect(t)
	hidden := p.add("secret", "daily", false)
	p.add("etl", "daily", false)
	p.add("etl", "hourly", false)
	s := newDAGsServer(t, p)
	viewer := &Principal{User: "v", Role: RoleUser, DAGPatterns: []string{"etl.*"}}

	var pg dagsPage
	callDAGHandler(t, s, func(d *dagAPI) echo.HandlerFunc { return d.list }, viewer, "GET", "/api/v1/dags", "", "").decode(t, &pg)
	if strings.Join(dagsIDs(pg.DAGs), ",") != "etl.daily,etl.hourly" || pg.TotalEntries != 2 {
		t.Errorf("limited listing = %v total %d; want the two etl DAGs", dagsIDs(pg.DAGs), pg.TotalEntries)
	}
	p.resetCalls()
	for _, h := range []struct {
		name   string
		h      func(*dagAPI) echo.HandlerFunc
		method string
		body   string
	}{
		{"get", func(d *dagAPI) echo.HandlerFunc { return d.get }, "GET", ""},
		{"details", func(d *dagAPI) echo.HandlerFunc { return d.details }, "GET", ""},
		{"tasks", func(d *dagAPI) echo.HandlerFunc { return d.tasks }, "GET", ""},
		{"patch", func(d *dagAPI) echo.HandlerFunc { return d.patch }, "PATCH", `{"is_paused": true}`},
	} {
		a := callDAGHandler(t, s, h.h, viewer, h.method, "/api/v1/dags/secret.daily", "secret.daily", h.body)
		pr := a.problem(t)
		if a.status != 404 || pr.Title != "DAG not found" || pr.Detail != "The DAG with dag_id: secret.daily was not found" {
			t.Errorf("%s of a hidden DAG = %d %+v; want Airflow's DAG 404", h.name, a.status, pr)
		}
	}
	if n := p.totalCalls(); n != 0 {
		t.Errorf("hidden DAGs cost %d Prefect calls; want none", n)
	}
	// Bulk pause with "~" changes only what the caller may see.
	var bulk dagsPage
	callDAGHandler(t, s, func(d *dagAPI) echo.HandlerFunc { return d.patchMany }, viewer, "PATCH", "/api/v1/dags?dag_id_pattern=~", "", `{"is_paused": true}`).decode(t, &bulk)
	if bulk.TotalEntries != 2 || p.paused(hidden.ID) {
		t.Errorf("bulk pause by a limited user: total %d, hidden DAG paused = %v", bulk.TotalEntries, p.paused(hidden.ID))
	}
}

func TestPatchDAG(t *testing.T) {
	p := newDAGsPrefect(t)
	d := p.add("etl", "daily", false, "owner:ops")
	s := newDAGsServer(t, p, func(o *Options) { o.DAGOwners = map[string][]string{"etl.daily": {"alice"}} })

	var got translate.DAG
	a := dagsDo(s, "PATCH", "/api/v1/dags/etl.daily", `{"is_paused": true}`)
	a.decode(t, &got)
	if a.status != 200 || !got.IsPaused || !p.paused(d.ID) || strings.Join(got.Owners, ",") != "alice" {
		t.Fatalf("pause = %d %+v, Prefect paused = %v", a.status, got, p.paused(d.ID))
	}
	a = dagsDo(s, "PATCH", "/api/v1/dags/etl.daily?update_mask=is_paused", `{"is_paused": false}`)
	a.decode(t, &got)
	if a.status != 200 || got.IsPaused || p.paused(d.ID) {
		t.Fatalf("unpause = %d %+v, Prefect paused = %v", a.status, got, p.paused(d.ID))
	}
	// The cache follows the write: the next read says unpaused without asking again.
	if res, ok := s.dags.Cached(t.Context(), "etl.daily"); !ok || res.Deployment.Paused {
		t.Errorf("cached after unpause = %+v, %v", res.Deployment.Paused, ok)
	}
	for _, tc := range []struct{ path, body, detail string }{
		{"?update_mask=description", `{"is_paused": true}`, "Only `is_paused` field can be updated through the REST API"},
		{"?update_mask=is_paused,tags", `{"is_paused": true}`, "Only `is_paused` field can be updated through the REST API"},
		{"?update_mask=is_paused", `{}`, "The request body has no `is_paused`"},
		{"", `{"is_paused": "yes"}`, "is_paused"},
		{"", `not json`, "JSON"},
	} {
		a := dagsDo(s, "PATCH", "/api/v1/dags/etl.daily"+tc.path, tc.body)
		if pr := a.problem(t); a.status != 400 || !strings.Contains(pr.Detail, tc.detail) {
			t.Errorf("PATCH %s %s → %d %+v; want 400 %q", tc.path, tc.body, a.status, pr, tc.detail)
		}
	}
	if p.paused(d.ID) {
		t.Errorf("a refused PATCH changed Prefect")
	}
	// The cached deployment was deleted: one fresh resolution, then Airflow's 404.
	p.remove(d.ID)
	a = dagsDo(s, "PATCH", "/api/v1/dags/etl.daily", `{"is_paused": true}`)
	if pr := a.problem(t); a.status != 404 || pr.Title != "DAG not found" {
		t.Errorf("PATCH of a deleted DAG = %d %+v", a.status, pr)
	}
	if _, ok := s.dags.Cached(t.Context(), "etl.daily"); ok {
		t.Errorf("a deleted DAG stayed cached")
	}
}

// A cached resolution that went stale is noticed by the fresh read.
func TestGetDAGNoticesStaleCache(t *testing.T) {
	p := newDAGsPrefect(t)
	d := p.add("etl", "daily", false)
	s := newDAGsServer(t, p)
	if a := dagsDo(s, "GET", "/api/v1/dags/etl.daily", ""); a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	// Paused in Prefect's UI, behind the gateway's back.
	p.mu.Lock()
	p.deployments[0].Paused = true
	p.mu.Unlock()
	var got translate.DAG
	dagsDo(s, "GET", "/api/v1/dags/etl.daily", "").decode(t, &got)
	if !got.IsPaused {
		t.Errorf("is_paused = false after Prefect paused it")
	}
	// Given an alias tag: etl.daily no longer names it.
	p.mu.Lock()
	p.deployments[0].Tags = []string{"airflow-dag-id:renamed"}
	p.mu.Unlock()
	if a := dagsDo(s, "GET", "/api/v1/dags/etl.daily", ""); a.status != 404 {
		t.Errorf("old id after the alias tag = %d; want 404", a.status)
	}
	dagsDo(s, "GET", "/api/v1/dags/renamed", "").decode(t, &got)
	if got.DAGID != "renamed" || got.FileToken != d.ID {
		t.Errorf("renamed = %+v", got)
	}
	p.remove(d.ID)
	if a := dagsDo(s, "GET", "/api/v1/dags/renamed/details", ""); a.status != 404 {
		t.Errorf("deleted DAG details = %d; want 404", a.status)
	}
}

func TestPatchManyReportsPartialFailure(t *testing.T) {
	p := newDAGsPrefect(t)
	a1 := p.add("a", "one", false)
	b2 := p.add("b", "two", false)
	c3 := p.add("c", "three", false)
	p.fail[b2.ID] = true
	s := newDAGsServer(t, p)
	a := dagsDo(s, "PATCH", "/api/v1/dags?dag_id_pattern=~", `{"is_paused": true}`)
	pr := a.problem(t)
	if a.status != http.StatusBadGateway || !strings.Contains(pr.Detail, "Changed: a.one, c.three.") || !strings.Contains(pr.Detail, "Not changed: b.two") {
		t.Errorf("partial failure = %d %+v", a.status, pr)
	}
	if !p.paused(a1.ID) || p.paused(b2.ID) || !p.paused(c3.ID) {
		t.Errorf("Prefect paused = %v %v %v; want the two that worked", p.paused(a1.ID), p.paused(b2.ID), p.paused(c3.ID))
	}
	// The page and total of a successful bulk change; pattern and page select by dag_id.
	delete(p.fail, b2.ID)
	var pg dagsPage
	a = dagsDo(s, "PATCH", "/api/v1/dags?dag_id_pattern=O&limit=1&offset=1&update_mask=is_paused", `{"is_paused": false}`)
	a.decode(t, &pg)
	if a.status != 200 || strings.Join(dagsIDs(pg.DAGs), ",") != "b.two" || pg.TotalEntries != 2 || pg.DAGs[0].IsPaused {
		t.Errorf("bulk unpause = %d %s", a.status, a.body)
	}
	if !p.paused(a1.ID) || p.paused(b2.ID) {
		t.Errorf("only b.two (second of a.one, b.two) should have changed")
	}
	for _, tc := range []struct{ query, body, detail string }{
		{"", `{"is_paused": true}`, "dag_id_pattern"},
		{"?dag_id_pattern=~&update_mask=tags", `{"is_paused": true}`, "Only `is_paused` field can be updated through the REST API"},
	} {
		a := dagsDo(s, "PATCH", "/api/v1/dags"+tc.query, tc.body)
		if pr := a.problem(t); a.status != 400 || !strings.Contains(pr.Detail, tc.detail) {
			t.Errorf("%q → %d %+v", tc.query, a.status, pr)
		}
	}
}

func TestDAGTasks(t *testing.T) {
	p := newDAGsPrefect(t)
	d := p.add("etl", "daily", false, "owner:data-team")
	other := p.add("etl", "adhoc", false)
	pool, queue := "process", "default"
	older, newer, bare := "r1", "r2", "r3"
	p.runs = []wire.FlowRun{
		{ID: bare, DeploymentID: &d.ID},                                              // newest, no task runs yet
		{ID: newer, DeploymentID: &d.ID, WorkPoolName: &pool, WorkQueueName: &queue}, // latest with task runs
		{ID: older, DeploymentID: &d.ID},
	}
	p.taskRuns[older] = []wire.TaskRun{{ID: "o1", TaskKey: "old-00000000", DynamicKey: "0"}}
	p.taskRuns[newer] = []wire.TaskRun{
		{ID: "n1", TaskKey: "load-9c0d1e2f", DynamicKey: "0", Name: "load-0",
			TaskInputs: map[string][]wire.TaskInput{"x": {{InputType: "task_run", ID: "n2"}}}},
		{ID: "n2", TaskKey: "extract-1a2b3c4d", DynamicKey: "0", Name: "extract-0"},
	}
	s := newDAGsServer(t, p)
	var got struct {
		Tasks        []translate.Task `json:"tasks"`
		TotalEntries int              `json:"total_entries"`
	}
	a := dagsDo(s, "GET", "/api/v1/dags/etl.daily/tasks", "")
	a.decode(t, &got)
	if a.status != 200 || got.TotalEntries != 2 || got.Tasks[0].TaskID != "extract-1a2b3c4d" || got.Tasks[1].TaskID != "load-9c0d1e2f" {
		t.Fatalf("tasks = %d %s", a.status, a.body)
	}
	if tk := got.Tasks[0]; tk.Owner != "data-team" || tk.Pool != "process" || *tk.Queue != "default" || strings.Join(tk.DownstreamTaskIDs, ",") != "load-9c0d1e2f" || tk.TaskDisplayName != "extract" {
		t.Errorf("extract = %+v", tk)
	}
	a = dagsDo(s, "GET", "/api/v1/dags/etl.daily/tasks?order_by=-task_id", "")
	a.decode(t, &got)
	if got.Tasks[0].TaskID != "load-9c0d1e2f" {
		t.Errorf("order_by=-task_id = %s", a.body)
	}
	// A DAG that never ran has no tasks: an empty collection, not an error.
	a = dagsDo(s, "GET", "/api/v1/dags/etl.adhoc/tasks", "")
	var none map[string]any
	a.decode(t, &none)
	if want := map[string]any{"tasks": []any{}, "total_entries": 0.0}; a.status != 200 || !reflect.DeepEqual(none, want) {
		t.Errorf("tasks of %s = %d %s", other.Name, a.status, a.body)
	}
	// One task: the same object the list holds.
	var one translate.Task
	a = dagsDo(s, "GET", "/api/v1/dags/etl.daily/tasks/load-9c0d1e2f", "")
	a.decode(t, &one)
	if a.status != 200 || one.TaskID != "load-9c0d1e2f" || mustMarshal(one) != mustMarshal(got.Tasks[0]) {
		t.Errorf("task load-9c0d1e2f = %d %s, want %s", a.status, a.body, mustMarshal(got.Tasks[0]))
	}
	for _, tc := range []struct {
		path   string
		status int
		detail string
	}{
		{"/api/v1/dags/etl.daily/tasks?order_by=nope", 400, "'Task' object has no attribute 'nope'"},
		{"/api/v1/dags/no.such/tasks", 404, "The DAG with dag_id: no.such was not found"},
		{"/api/v1/dags/no.such/tasks/load-9c0d1e2f", 404, "The DAG with dag_id: no.such was not found"},
		{"/api/v1/dags/etl.daily/tasks/nope", 404, "The task with task_id: nope was not found in the DAG with dag_id: etl.daily"},
		{"/api/v1/dags/etl.adhoc/tasks/load-9c0d1e2f", 404, "The task with task_id: load-9c0d1e2f was not found in the DAG with dag_id: etl.adhoc"},
		{"/api/v1/dags/etl.daily/tasks/load-9c0d1e2f?order_by=task_id", 400, "Extra query parameter(s) order_by not in spec"},
	} {
		a := dagsDo(s, "GET", tc.path, "")
		if pr := a.problem(t); a.status != tc.status || pr.Detail != tc.detail {
			t.Errorf("%s = %d %+v", tc.path, a.status, pr)
		}
	}
}

// Prefect failing under /tasks is a gateway error (502), never a 500.
func TestDAGTasksUpstreamFailureIsNot500(t *testing.T) {
	p := newDAGsPrefect(t)
	p.add("etl", "daily", false)
	s := newDAGsServer(t, p)
	if a := dagsDo(s, "GET", "/api/v1/dags/etl.daily", ""); a.status != 200 {
		t.Fatal(a.status)
	}
	p.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"exception_message":"Internal Server Error"}`)
	})
	for _, path := range []string{"/api/v1/dags/etl.daily/tasks", "/api/v1/dags/etl.daily/tasks/t", "/api/v1/dags", "/api/v1/dags/etl.daily"} {
		if a := dagsDo(s, "GET", path, ""); a.status != http.StatusBadGateway {
			t.Errorf("%s with Prefect failing = %d %s; want 502", path, a.status, a.body)
		}
	}
}

func TestDAGFieldsOnSingleDAG(t *testing.T) {
	p := newDAGsPrefect(t)
	p.add("etl", "daily", false)
	s := newDAGsServer(t, p)
	a := dagsDo(s, "GET", "/api/v1/dags/etl.daily?fields=dag_id,next_dagrun", "")
	var m map[string]any
	a.decode(t, &m)
	if len(m) != 2 || m["dag_id"] != "etl.daily" || m["next_dagrun"] == nil {
		t.Errorf("fields = %s", a.body)
	}
	a = dagsDo(s, "GET", "/api/v1/dags/etl.daily/details?fields=params,timezone", "")
	m = nil
	a.decode(t, &m)
	if len(m) != 2 || m["timezone"] != "UTC" {
		t.Errorf("details fields = %s", a.body)
	}
	for path, title := range map[string]string{
		"/api/v1/dags/etl.daily?fields=params":       "DAGSchema init error",
		"/api/v1/dags/etl.daily/details?fields=nope": "DAGDetailSchema init error",
	} {
		if pr := dagsDo(s, "GET", path, "").problem(t); pr.Status != 400 || pr.Title != title {
			t.Errorf("%s = %+v; want 400 %q", path, pr, title)
		}
	}
}

// The dag_id is the exact, percent-decoded path segment, decoded once.
func TestDAGIDPathDecoding(t *testing.T) {
	p := newDAGsPrefect(t)
	p.add("my flow", "daily", false)
	p.add("odd%41", "x", false)
	s := newDAGsServer(t, p)
	for path, want := range map[string]string{
		"/api/v1/dags/my%20flow.daily":   "my flow.daily",
		"/api/v1/dags/odd%2541.x":        "odd%41.x",
		"/api/v1/dags/my%20flow%2Edaily": "my flow.daily", // an escape Go keeps raw
	} {
		var got translate.DAG
		a := dagsDo(s, "GET", path, "")
		a.decode(t, &got)
		if a.status != 200 || got.DAGID != want {
			t.Errorf("%s = %d %s; want dag_id %q", path, a.status, a.body, want)
		}
	}
}

func TestDAGTagPrefixesAgree(t *testing.T) {
	if translate.DAGIDTagPrefix != prefect.DAGTagPrefix {
		t.Fatalf("translate.DAGIDTagPrefix %q != prefect.DAGTagPrefix %q", translate.DAGIDTagPrefix, prefect.DAGTagPrefix)
	}
}
