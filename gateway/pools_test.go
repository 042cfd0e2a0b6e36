package gateway

import (
	"encoding/json"
	"net/http"
	"testing"
)

type poolJSON struct {
	Name            string  `json:"name"`
	Slots           int     `json:"slots"`
	Occupied        int     `json:"occupied_slots"`
	Running         int     `json:"running_slots"`
	Queued          int     `json:"queued_slots"`
	Open            int     `json:"open_slots"`
	Description     *string `json:"description"`
	IncludeDeferred bool    `json:"include_deferred"`
}

func (a runsAnswer) pool(t *testing.T) poolJSON {
	t.Helper()
	var p poolJSON
	if err := json.Unmarshal(a.body, &p); err != nil || a.status != 200 {
		t.Fatalf("not a pool (%d): %s", a.status, a.body)
	}
	return p
}

func TestPoolCRUD(t *testing.T) {
	e := newRunsEnv(t)
	p := e.do(http.MethodPost, "/pools", `{"name":"db","slots":5,"description":"the database","include_deferred":true}`).pool(t)
	if p.Name != "db" || p.Slots != 5 || p.Open != 5 || p.Description == nil || *p.Description != "the database" || !p.IncludeDeferred {
		t.Errorf("post %+v", p)
	}
	l := e.fake.prefectLimit("db")
	if l == nil || l.Limit != 5 || !l.Active {
		t.Fatalf("limit %+v", l)
	}
	// Prefect counts the slots taken.
	e.fake.mu.Lock()
	_, stored := e.fake.limit("db")
	stored.ActiveSlots = 2
	e.fake.mu.Unlock()
	p = e.do(http.MethodGet, "/pools/db", "").pool(t)
	if p.Occupied != 2 || p.Running != 2 || p.Queued != 0 || p.Open != 3 || *p.Description != "the database" {
		t.Errorf("get %+v", p)
	}
	if a := e.do(http.MethodPost, "/pools", `{"name":"db","slots":1}`); a.status != 409 || a.problem(t).Detail != "Pool: db already exists" {
		t.Errorf("duplicate: %d %s", a.status, a.body)
	}
	// Terraform's update: the whole object; a rename keeps the details (keyed by the limit's id).
	p = e.do(http.MethodPatch, "/pools/db", `{"name":"warehouse","slots":-1,"description":null}`).pool(t)
	if p.Name != "warehouse" || p.Slots != -1 || p.Open != -1 || p.Description != nil || p.IncludeDeferred {
		t.Errorf("patch %+v", p)
	}
	if l := e.fake.prefectLimit("warehouse"); l == nil || l.Active {
		t.Errorf("unlimited is an inactive limit: %+v", l)
	}
	p = e.do(http.MethodPatch, "/pools/warehouse?update_mask=slots", `{"slots":3,"description":"ignored"}`).pool(t)
	if p.Slots != 3 || p.Description != nil {
		t.Errorf("masked patch %+v", p)
	}
	if a := e.do(http.MethodDelete, "/pools/warehouse", ""); a.status != 204 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	a := e.do(http.MethodGet, "/pools/warehouse", "")
	if a.status != 404 || a.problem(t).Detail != "Pool with name:'warehouse' not found" {
		t.Errorf("after delete: %d %s", a.status, a.body)
	}
}

func TestDefaultPool(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.addLimit("tag:db", 4, 1, true) // a tag-based task concurrency limit
	a := e.do(http.MethodGet, "/pools", "")
	var c struct {
		Pools []poolJSON `json:"pools"`
		Total int        `json:"total_entries"`
	}
	if err := json.Unmarshal(a.body, &c); err != nil || c.Total != 2 || c.Pools[0].Name != "default_pool" || c.Pools[1].Name != "tag:db" {
		t.Fatalf("list: %s", a.body)
	}
	if d := c.Pools[0]; d.Slots != -1 || d.Open != -1 || d.Description == nil || *d.Description != "Default pool" {
		t.Errorf("virtual default_pool %+v", d)
	}
	if d := c.Pools[1]; d.Slots != 4 || d.Occupied != 1 || d.Open != 3 {
		t.Errorf("tag:db %+v", d)
	}
	for _, tc := range []struct{ method, path, body, detail string }{
		{"DELETE", "/pools/default_pool", "", "Default Pool can't be deleted"},
		{"PATCH", "/pools/default_pool", `{"name":"other","slots":1}`, "Default Pool's name can't be modified"},
		{"PATCH", "/pools/default_pool?update_mask=name", `{"name":"other"}`, "Default Pool's name can't be modified"},
	} {
		if a := e.do(tc.method, tc.path, tc.body); a.status != 400 || a.problem(t).Detail != tc.detail {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, a.status, a.body)
		}
	}
	if a := e.do(http.MethodPost, "/pools", `{"name":"default_pool","slots":1}`); a.status != 409 {
		t.Errorf("post default_pool: %d", a.status)
	}
	// Writing its slots makes the limit.
	p := e.do(http.MethodPatch, "/pools/default_pool?update_mask=slots", `{"slots":128}`).pool(t)
	if p.Slots != 128 || e.fake.prefectLimit("default_pool") == nil {
		t.Errorf("patched default_pool %+v", p)
	}
}

func TestPoolErrorsWriteNothing(t *testing.T) {
	e := newRunsEnv(t)
	e.do(http.MethodPost, "/pools", `{"name":"kept","slots":2}`).pool(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		detail                   string
	}{
		{"missing fields", "POST", "/pools", `{"description":"d"}`, 400, "Missing required property(ies): ['name', 'slots']"},
		{"read-only field", "POST", "/pools", `{"name":"p","slots":1,"occupied_slots":3}`, 400, ""},
		{"unstorable name", "POST", "/pools", `{"name":"a/b","slots":1}`, 400, ""},
		{"unstorable slots", "POST", "/pools", `{"name":"p","slots":-5}`, 400, ""},
		{"patch without name", "PATCH", "/pools/kept", `{"slots":3}`, 400, "Missing required property(ies): ['name']"},
		{"mask on an unknown field", "PATCH", "/pools/kept?update_mask=bogus", `{"slots":3}`, 400, "Invalid field: bogus in update mask"},
		{"patch of a missing pool", "PATCH", "/pools/nope", `{"name":"nope","slots":1}`, 404, "Pool with name:'nope' not found"},
		{"delete of a missing pool", "DELETE", "/pools/nope", "", 404, "Pool with name:'nope' not found"},
	} {
		a := e.do(tc.method, tc.path, tc.body)
		if a.status != tc.status || (tc.detail != "" && a.problem(t).Detail != tc.detail) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, a.status, a.body, tc.status, tc.detail)
		}
	}
	if l := e.fake.prefectLimit("kept"); l.Limit != 2 || e.fake.prefectLimit("p") != nil {
		t.Errorf("a refused request wrote: %+v", l)
	}
}

func TestPoolCallBudget(t *testing.T) {
	e := newRunsEnv(t)
	e.fake.addLimit("p1", 3, 0, true)
	cases := []struct {
		name, method, path, body string
		status                   int
		calls                    []string
	}{
		{"list", "GET", "/pools", "", 200, []string{"POST /v2/concurrency_limits/filter", "POST /block_documents/filter"}},
		{"get", "GET", "/pools/p1", "", 200, []string{"GET /v2/concurrency_limits/p1", "GET /block_types/slug/airflow-pool/block_documents/name/{id}"}},
		{"create", "POST", "/pools", `{"name":"p2","slots":1}`, 200, []string{"POST /v2/concurrency_limits/"}},
		{"create with a description (first: registers the block type)", "POST", "/pools", `{"name":"p3","slots":1,"description":"d"}`, 200,
			[]string{"POST /v2/concurrency_limits/", "GET /block_types/slug/airflow-pool", "POST /block_types/", "POST /block_schemas/", "POST /block_documents/"}},
		{"patch slots", "PATCH", "/pools/p1?update_mask=slots", `{"slots":5}`, 200,
			[]string{"GET /v2/concurrency_limits/p1", "GET /block_types/slug/airflow-pool/block_documents/name/{id}", "PATCH /v2/concurrency_limits/{id}"}},
		{"patch the description", "PATCH", "/pools/p3?update_mask=description", `{"description":"e"}`, 200,
			[]string{"GET /v2/concurrency_limits/p3", "GET /block_types/slug/airflow-pool/block_documents/name/{id}", "PATCH /block_documents/{id}"}},
		{"delete", "DELETE", "/pools/p3", "", 204,
			[]string{"GET /v2/concurrency_limits/p3", "GET /block_types/slug/airflow-pool/block_documents/name/{id}", "DELETE /v2/concurrency_limits/{id}", "DELETE /block_documents/{id}"}},
		{"delete default_pool", "DELETE", "/pools/default_pool", "", 400, nil},
	}
	for _, tc := range cases {
		e.fake.takeCalls()
		a := e.do(tc.method, tc.path, tc.body)
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, a.status, tc.status, a.body)
			continue
		}
		if got := normalizeCalls(e.fake.takeCalls()); !sameMultiset(got, tc.calls) {
			t.Errorf("%s: Prefect calls %v, budget %v", tc.name, got, tc.calls)
		}
	}
}
