package legacy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"golang.org/x/sync/errgroup"
)

// Airflow's objects are kept as the bytes Airflow sent (json.RawMessage), so that what the
// gateway passes on is Airflow's own answer; callers read the few keys they merge or compare
// on with Field.

// Page is one page of an Airflow collection: its items (the collection's one array) and
// total_entries (-1 when the collection has none, as TaskInstanceReferenceCollection).
type Page struct {
	Items        []json.RawMessage
	TotalEntries int
}

// UnmarshalJSON reads any Airflow collection: {"<name>": [...], "total_entries": n}.
func (p *Page) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	p.TotalEntries = -1
	for k, v := range m {
		if k == "total_entries" {
			if err := json.Unmarshal(v, &p.TotalEntries); err != nil {
				return fmt.Errorf("total_entries: %w", err)
			}
			continue
		}
		if len(v) > 0 && v[0] == '[' {
			if p.Items != nil {
				return fmt.Errorf("collection has two arrays")
			}
			if err := json.Unmarshal(v, &p.Items); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	if p.Items == nil {
		p.Items = []json.RawMessage{}
	}
	return nil
}

// Field reads one top-level key of an Airflow object into out; a missing key leaves out
// untouched and reports false.
func Field(obj json.RawMessage, key string, out any) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return false
	}
	v, ok := m[key]
	if !ok {
		return false
	}
	return json.Unmarshal(v, out) == nil
}

// StringField is Field for a string key ("" when missing or not a string).
func StringField(obj json.RawMessage, key string) string {
	var s string
	Field(obj, key, &s)
	return s
}

// Version is GET /version.
type Version struct {
	Version    string  `json:"version"`
	GitVersion *string `json:"git_version"`
}

// MaxPageLimit is Airflow's default [api] maximum_page_limit: the most one page holds
// unless Airflow was configured otherwise (a larger limit is silently cut to it).
const MaxPageLimit = 100

func esc(s string) string { return url.PathEscape(s) }

// Get reads any /api/v1 path (escaped, e.g. "/dags/"+url.PathEscape(id)+"/details") into
// out: for reads the typed methods do not cover.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, call{method: http.MethodGet, path: path, query: q, out: out, endpoint: "get", safe: true})
}

// --- DAGs ---

// DAGs is GET /dags with Airflow's own query (limit, offset, order_by, tags, only_active,
// paused, fields, dag_id_pattern).
func (c *Client) DAGs(ctx context.Context, q url.Values) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodGet, path: "/dags", query: q, out: &p, endpoint: "dags", safe: true})
	return p, err
}

// DAG is GET /dags/{dag_id}.
func (c *Client) DAG(ctx context.Context, dagID string, q url.Values) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, call{method: http.MethodGet, path: "/dags/" + esc(dagID), query: q, out: &out, endpoint: "dags/{dag_id}", safe: true})
	return out, err
}

// DAGDetails is GET /dags/{dag_id}/details.
func (c *Client) DAGDetails(ctx context.Context, dagID string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, call{method: http.MethodGet, path: "/dags/" + esc(dagID) + "/details", out: &out, endpoint: "dags/{dag_id}/details", safe: true})
	return out, err
}

// Tasks is GET /dags/{dag_id}/tasks.
func (c *Client) Tasks(ctx context.Context, dagID string) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodGet, path: "/dags/" + esc(dagID) + "/tasks", out: &p, endpoint: "dags/{dag_id}/tasks", safe: true})
	return p, err
}

// SetPaused is PATCH /dags/{dag_id}?update_mask=is_paused: a write, never retried.
func (c *Client) SetPaused(ctx context.Context, dagID string, paused bool) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, call{method: http.MethodPatch, path: "/dags/" + esc(dagID),
		query: url.Values{"update_mask": {"is_paused"}}, body: map[string]bool{"is_paused": paused},
		out: &out, endpoint: "dags/{dag_id}"})
	return out, err
}

// PatchDAGs is the bulk PATCH /dags with Airflow's own query (dag_id_pattern required): a
// write, never retried.
func (c *Client) PatchDAGs(ctx context.Context, q url.Values, paused bool) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodPatch, path: "/dags", query: q,
		body: map[string]bool{"is_paused": paused}, out: &p, endpoint: "dags"})
	return p, err
}

// DAGIDs lists the dag_ids of every DAG that passes filters (Airflow's GET /dags filters:
// tags, only_active, paused, dag_id_pattern), in dag_id order (descending when desc), with
// fields=dag_id so that each page is small. The first page tells the total; the others are
// read concurrently, at most 4 at a time. More than max DAGs (0: 10,000) is a KindTooLarge
// error rather than an unbounded read.
func (c *Client) DAGIDs(ctx context.Context, filters url.Values, desc bool, max int) ([]string, error) {
	if max <= 0 {
		max = 10000
	}
	order := "dag_id"
	if desc {
		order = "-dag_id"
	}
	page := func(ctx context.Context, offset int) (Page, error) {
		q := url.Values{}
		for k, v := range filters {
			q[k] = v
		}
		q.Set("fields", "dag_id")
		q.Set("order_by", order)
		q.Set("limit", strconv.Itoa(MaxPageLimit))
		q.Set("offset", strconv.Itoa(offset))
		var p Page
		err := c.do(ctx, call{method: http.MethodGet, path: "/dags", query: q, out: &p, endpoint: "dags", safe: true})
		return p, err
	}
	first, err := page(ctx, 0)
	if err != nil {
		return nil, err
	}
	if first.TotalEntries > max {
		return nil, errorf(KindTooLarge, "GET /api/v1/dags", "the legacy Airflow holds %d DAGs matching, more than the %d a merged listing reads", first.TotalEntries, max)
	}
	size := len(first.Items)
	pages := [][]json.RawMessage{first.Items}
	if size > 0 && size < first.TotalEntries {
		n := (first.TotalEntries + size - 1) / size
		pages = append(pages, make([][]json.RawMessage, n-1)...)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for i := 1; i < n; i++ {
			g.Go(func() error {
				p, err := page(gctx, i*size)
				pages[i] = p.Items
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	ids := make([]string, 0, first.TotalEntries)
	seen := map[string]bool{}
	for _, items := range pages {
		for _, it := range items {
			// Pages read at different moments can overlap when a DAG appears meanwhile.
			if id := StringField(it, "dag_id"); id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// --- runs and task instances ---

// DAGRuns is GET /dags/{dag_id}/dagRuns (dag_id may be "~") with Airflow's own query.
func (c *Client) DAGRuns(ctx context.Context, dagID string, q url.Values) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodGet, path: "/dags/" + esc(dagID) + "/dagRuns", query: q, out: &p, endpoint: "dags/{dag_id}/dagRuns", safe: true})
	return p, err
}

// DAGRun is GET /dags/{dag_id}/dagRuns/{dag_run_id}.
func (c *Client) DAGRun(ctx context.Context, dagID, runID string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, call{method: http.MethodGet, path: "/dags/" + esc(dagID) + "/dagRuns/" + esc(runID), out: &out, endpoint: "dags/{dag_id}/dagRuns/{dag_run_id}", safe: true})
	return out, err
}

// DAGRunsBatch is POST /dags/~/dagRuns/list (a read) with a ListDagRunsForm.
func (c *Client) DAGRunsBatch(ctx context.Context, form any) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodPost, path: "/dags/~/dagRuns/list", body: form, out: &p, endpoint: "dags/~/dagRuns/list", safe: true})
	return p, err
}

// TaskInstances is GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances (either may be "~").
func (c *Client) TaskInstances(ctx context.Context, dagID, runID string, q url.Values) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodGet, path: "/dags/" + esc(dagID) + "/dagRuns/" + esc(runID) + "/taskInstances",
		query: q, out: &p, endpoint: "dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", safe: true})
	return p, err
}

// TaskInstancesBatch is POST /dags/~/dagRuns/~/taskInstances/list (a read).
func (c *Client) TaskInstancesBatch(ctx context.Context, form any) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodPost, path: "/dags/~/dagRuns/~/taskInstances/list", body: form, out: &p,
		endpoint: "dags/~/dagRuns/~/taskInstances/list", safe: true})
	return p, err
}

// --- overview ---

// DAGStats is GET /dagStats?dag_ids=… (items: {dag_id, stats}).
func (c *Client) DAGStats(ctx context.Context, q url.Values) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodGet, path: "/dagStats", query: q, out: &p, endpoint: "dagStats", safe: true})
	return p, err
}

// ImportErrors is GET /importErrors with Airflow's own query.
func (c *Client) ImportErrors(ctx context.Context, q url.Values) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodGet, path: "/importErrors", query: q, out: &p, endpoint: "importErrors", safe: true})
	return p, err
}

// EventLogs is GET /eventLogs with Airflow's own query.
func (c *Client) EventLogs(ctx context.Context, q url.Values) (Page, error) {
	var p Page
	err := c.do(ctx, call{method: http.MethodGet, path: "/eventLogs", query: q, out: &p, endpoint: "eventLogs", safe: true})
	return p, err
}

// Health is GET /health (HealthInfo).
func (c *Client) Health(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, call{method: http.MethodGet, path: "/health", out: &out, endpoint: "health", safe: true})
	return out, err
}

// Version is GET /version.
func (c *Client) Version(ctx context.Context) (Version, error) {
	var v Version
	err := c.do(ctx, call{method: http.MethodGet, path: "/version", out: &v, endpoint: "version", safe: true})
	return v, err
}
