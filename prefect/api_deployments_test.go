package prefect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"airflow-prefect-gateway/prefect/wire"
)

// deploymentPages serves /deployments/filter over n deployments, newest first,
// as Prefect does for CREATED_DESC. before runs ahead of each filter call (under the lock),
// to change the data between pages.
type deploymentPages struct {
	mu      sync.Mutex
	ids     []string // newest first
	filters []int    // offsets asked for, in order
	before  func(p *deploymentPages, offset int) (status int)
}

func newDeploymentPages(n int) *deploymentPages {
	p := &deploymentPages{}
	for i := n; i > 0; i-- {
		p.ids = append(p.ids, fmt.Sprintf("dep-%05d", i))
	}
	return p
}

func (p *deploymentPages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var q wire.Query
	_ = json.NewDecoder(r.Body).Decode(&q)
	switch r.URL.Path {
	case "/api/deployments/filter":
		if q.Sort != "CREATED_DESC" || q.Limit == nil || *q.Limit != MaxLimit {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		p.filters = append(p.filters, q.Offset)
		if p.before != nil {
			if status := p.before(p, q.Offset); status != 0 {
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"detail":"boom"}`))
				return
			}
		}
		var out []wire.Deployment
		for i := q.Offset; i < len(p.ids) && i < q.Offset+MaxLimit; i++ {
			out = append(out, wire.Deployment{ID: p.ids[i]})
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestFilterAllDeployments(t *testing.T) {
	cases := []struct {
		name        string
		n           int
		before      func(p *deploymentPages, offset int) int
		want        int   // deployments returned
		wantOffsets []int // filter calls
		wantErr     bool
	}{
		{name: "one short page: one call", n: 199, want: 199, wantOffsets: []int{0}},
		{name: "none", n: 0, want: 0, wantOffsets: []int{0}},
		{name: "exactly one full page: one more to see the end", n: 200, want: 200, wantOffsets: []int{0, 199}},
		{name: "three pages overlapping by one", n: 430, want: 430, wantOffsets: []int{0, 199, 398}},
		{name: "created while reading: rows pushed down are read twice, kept once", n: 430,
			before: func(p *deploymentPages, offset int) int {
				if offset == 199 {
					p.ids = append([]string{"dep-new-1", "dep-new-2"}, p.ids...)
				}
				return 0
			},
			want: 430, wantOffsets: []int{0, 199, 398}},
		{name: "deleted while reading: rows pulled up are noticed and the read starts over", n: 430,
			before: func(p *deploymentPages, offset int) int {
				if offset == 199 && len(p.ids) == 430 {
					p.ids = p.ids[3:] // three of the first page's rows are deleted
				}
				return 0
			},
			want: 427, wantOffsets: []int{0, 199, 398, 0, 199, 398}},
		{name: "a failing page fails the read", n: 430,
			before: func(p *deploymentPages, offset int) int {
				if offset == 398 {
					return http.StatusUnprocessableEntity
				}
				return 0
			},
			wantErr: true, wantOffsets: []int{0, 199, 398}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pages := newDeploymentPages(tc.n)
			pages.before = tc.before
			srv := httptest.NewServer(pages)
			defer srv.Close()
			c := newTestClient(t, srv.URL+"/api", func(o *Options) { o.MaxAttempts = 1 })
			got, err := c.FilterAllDeployments(t.Context(), nil)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			pages.mu.Lock()
			defer pages.mu.Unlock()
			if fmt.Sprint(pages.filters) != fmt.Sprint(tc.wantOffsets) {
				t.Errorf("pages read at %v; want %v", pages.filters, tc.wantOffsets)
			}
			if tc.wantErr {
				return
			}
			ids := map[string]bool{}
			for _, d := range got {
				if ids[d.ID] {
					t.Errorf("%s returned twice", d.ID)
				}
				ids[d.ID] = true
			}
			if len(got) != tc.want {
				t.Errorf("%d deployments; want %d", len(got), tc.want)
			}
			// Every deployment that exists at the end was returned.
			var missing []string
			for _, id := range pages.ids {
				if !ids[id] && !strings.HasPrefix(id, "dep-new") {
					missing = append(missing, id)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("skipped %v", missing)
			}
		})
	}
}
