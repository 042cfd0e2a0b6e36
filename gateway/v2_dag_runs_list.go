package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// DAG-run listings of /api/v2: GET /dags/{dag_id|~}/dagRuns and POST /dags/~/dagRuns/list,
// on v1's Prefect query (translate.DAGRunQuery.PrefectQuery) and paging rules (at most two
// calls: a page and its count, or the count then a page read from the other end).
//
// Filters Prefect applies exactly: state, run_after and logical_date (both the run's expected
// start: the logical date of a run whose logical date is not its start is not filtered by),
// start_date, end_date, run_id_pattern (one pattern: Prefect's ILIKE), dag_id_pattern (the
// DAGs matched in the gateway). Those Prefect cannot apply (updated_at, duration,
// conf_contains, dag_version, bundle_version, triggering_user_name_pattern, partition_*,
// run_type other than all of them) are a 400 naming them, never dropped. Orders: id (the
// default), run_id / dag_run_id, logical_date and run_after (the expected start),
// start_date, end_date; others answer Airflow's 400.

// v2RunOrder maps Airflow 3's order keys onto the v1 DAGRunOrder fields.
var v2RunOrder = map[string]string{"id": "id", "dag_id": "dag_id", "run_id": "dag_run_id", "dag_run_id": "dag_run_id",
	"logical_date": "execution_date", "run_after": "execution_date", "start_date": "start_date", "end_date": "end_date"}

var v2RunOrderKeys = []string{"id", "state", "dag_id", "run_id", "logical_date", "partition_date", "run_after",
	"start_date", "end_date", "updated_at", "conf", "duration"}

// unsupportedRunFilters are the v2 list filters Prefect cannot evaluate.
var unsupportedRunFilters = []string{"updated_at_gte", "updated_at_gt", "updated_at_lte", "updated_at_lt",
	"duration_gte", "duration_gt", "duration_lte", "duration_lt", "conf_contains", "dag_version", "bundle_version",
	"triggering_user_name_pattern", "triggering_user_name_prefix_pattern", "partition_key_pattern",
	"partition_key_prefix_pattern", "partition_date_gte", "partition_date_lte", "consuming_asset_pattern",
	"run_id_prefix_pattern"}

func unsupportedFilter(name string) *Problem {
	return v2BadRequest(fmt.Sprintf("Filtering DAG runs by %s is not supported: Prefect cannot filter flow runs by it", name))
}

// v2RunListQuery reads the filters and order common to the GET query and the batch body
// (given here as url.Values: the body's keys are the query's).
func v2RunListQuery(q url.Values, page translate.Page) (translate.DAGRunQuery, string, error) {
	out := translate.DAGRunQuery{Page: page}
	for _, name := range unsupportedRunFilters {
		if q.Get(name) != "" {
			return out, "", unsupportedFilter(name)
		}
	}
	if rt := v2List(q, "run_type"); len(rt) > 0 {
		all := contains(rt, "manual") && contains(rt, "scheduled") && contains(rt, "backfill") && contains(rt, "asset_triggered")
		if !all {
			return out, "", unsupportedFilter("run_type")
		}
	}
	order, err := v2OrderBy(q, []string{"id"}, v2RunOrderKeys, map[string]string{"dag_run_id": "run_id"})
	if err != nil {
		return out, "", err
	}
	first := order[0]
	field, ok := v2RunOrder[first.Field]
	if !ok {
		return out, "", v2BadRequest(fmt.Sprintf("Ordering with '%s' is disallowed or the attribute does not exist on the model (Prefect cannot sort flow runs by it)", first.Field))
	}
	if len(order) > 1 && !(len(order) == 2 && order[1].Field == "id") {
		return out, "", v2BadRequest("Ordering by more than one attribute is not supported: Prefect sorts flow runs by one (an id tie-break aside)")
	}
	out.OrderBy = translate.OrderBy{Field: field, Desc: first.Desc}
	out.States = v2List(q, "state")
	for _, r := range []struct {
		name string
		dst  *translate.TimeBounds
	}{{"run_after", &out.ExecutionDate}, {"logical_date", &out.ExecutionDate}, {"start_date", &out.StartDate}, {"end_date", &out.EndDate}} {
		tr, err := v2TimeRange(q, r.name)
		if err != nil {
			return out, "", err
		}
		if tr.set() {
			*r.dst = intersect(*r.dst, tr.Inclusive())
		}
	}
	pattern := ""
	if ps := v2Patterns(q, "run_id_pattern"); len(ps) > 1 {
		return out, "", v2BadRequest("run_id_pattern: Prefect matches one pattern per filter, not alternatives with '|'")
	} else if len(ps) == 1 {
		pattern = ps[0]
	}
	return out, pattern, nil
}

func intersect(a, b translate.TimeBounds) translate.TimeBounds {
	if b.GTE != nil && (a.GTE == nil || b.GTE.After(*a.GTE)) {
		a.GTE = b.GTE
	}
	if b.LTE != nil && (a.LTE == nil || b.LTE.Before(*a.LTE)) {
		a.LTE = b.LTE
	}
	return a
}

// v2RunScope is the DAGs a listing covers, with their deployments (dag_versions).
type v2RunScope struct {
	runScope
	resolved map[string]prefect.ResolvedDAG
}

func (s *Server) listDAGRunsV2(c echo.Context) error {
	q := c.QueryParams()
	query, pattern, err := v2RunListQuery(q, v2Page(q, s.opts.MaxPageLimit))
	if err != nil {
		return err
	}
	dagID := decodedPathParam(c, "dag_id")
	var scope v2RunScope
	if dagID == allDAGs {
		scope, err = s.v2VisibleRunScope(c, nil, v2Patterns(q, "dag_id_pattern"), v2PrefixPatterns(q, "dag_id_prefix_pattern"))
	} else {
		var dag prefect.ResolvedDAG
		if dag, err = s.resolveRunDAG(c, dagID); err != nil {
			return err // Airflow 3 answers an unknown DAG's runs with a 404
		}
		scope = v2RunScope{runScope: runScope{deploymentIDs: []string{dag.Deployment.ID}, dags: map[string]string{dag.Deployment.ID: dag.DAGID}},
			resolved: map[string]prefect.ResolvedDAG{dag.Deployment.ID: dag}}
	}
	if err != nil {
		return err
	}
	return s.writeV2RunPage(c, query, pattern, scope)
}

// listDAGRunsBatchV2 is POST /dags/~/dagRuns/list with DAGRunsBatchBody (page_limit default
// 100, page_offset, dag_ids, states, ranges, one order_by).
func (s *Server) listDAGRunsBatchV2(c echo.Context) error {
	if decodedPathParam(c, "dag_id") != allDAGs {
		return ValidationProblem(FieldError{Type: "literal_error", Loc: []any{"path", "dag_id"}, Msg: "Input should be '~'",
			Input: decodedPathParam(c, "dag_id"), Ctx: map[string]any{"expected": "'~'"}})
	}
	var body map[string]any
	if err := json.NewDecoder(c.Request().Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return v2BadRequest("The request body is not a JSON object.")
	}
	q := url.Values{}
	var dagIDs []string
	for k, v := range body {
		switch x := v.(type) {
		case nil:
		case string:
			q.Set(k, x)
		case float64:
			q.Set(k, fmt.Sprint(int64(x)))
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok {
					if k == "dag_ids" {
						dagIDs = append(dagIDs, s)
					} else {
						q.Add(map[string]string{"states": "state"}[k], s)
					}
				}
			}
		}
	}
	page := translate.Page{Limit: 100}
	if v, ok := body["page_limit"].(float64); ok {
		page.Limit = int(v)
	}
	page.Limit = min(page.Limit, s.opts.MaxPageLimit)
	if v, ok := body["page_offset"].(float64); ok {
		page.Offset = int(v)
	}
	query, pattern, err := v2RunListQuery(q, page)
	if err != nil {
		return err
	}
	if body["dag_ids"] != nil && len(dagIDs) == 0 {
		return c.JSON(http.StatusOK, v2DAGRunCollection{DAGRuns: []v2DAGRun{}})
	}
	scope, err := s.v2VisibleRunScope(c, dagIDs, nil, nil)
	if err != nil {
		return err
	}
	return s.writeV2RunPage(c, query, pattern, scope)
}

// v2VisibleRunScope is visibleRunScope, narrowed to the DAGs the patterns match (resolved
// from the deployment listing then), keeping each DAG's deployment.
func (s *Server) v2VisibleRunScope(c echo.Context, dagIDs, patterns, prefixes []string) (v2RunScope, error) {
	if len(patterns) == 0 && len(prefixes) == 0 {
		sc, err := s.visibleRunScope(c, dagIDs)
		return v2RunScope{runScope: sc, resolved: map[string]prefect.ResolvedDAG{}}, err
	}
	all, err := s.dags.All(c.Request().Context())
	if err != nil {
		return v2RunScope{}, FromUpstream(err)
	}
	p := principalOf(c)
	f := translate.DAGFilter{Patterns: patterns, PrefixPatterns: prefixes}
	out := v2RunScope{runScope: runScope{deploymentIDs: []string{}, dags: map[string]string{}}, resolved: map[string]prefect.ResolvedDAG{}}
	for _, d := range all {
		if p.CanAccessDAG(d.DAGID) && f.Matches(d.DAGID, d.Deployment.Paused, nil) && (len(dagIDs) == 0 || contains(dagIDs, d.DAGID)) {
			out.add(d)
			out.resolved[d.Deployment.ID] = d
		}
	}
	return out, nil
}

// writeV2RunPage reads one page of runs and the count of all, and answers them.
func (s *Server) writeV2RunPage(c echo.Context, q translate.DAGRunQuery, namePattern string, scope v2RunScope) error {
	ctx := c.Request().Context()
	order, err := translate.DAGRunOrder(q.OrderBy, scope.single())
	if err != nil {
		return v2Input(err)
	}
	query, nothing := q.PrefectQuery(scope.deploymentIDs)
	if nothing {
		return c.JSON(http.StatusOK, v2DAGRunCollection{DAGRuns: []v2DAGRun{}})
	}
	if namePattern != "" {
		query.FlowRuns.Name = &wire.NameMatch{Like: &namePattern}
	}
	query.Sort = order.Sort
	runs, total, err := s.readRunPage(ctx, query, order, q.Page)
	if err != nil {
		return err
	}
	dags, err := s.deploymentsOfRuns(ctx, runs, scope)
	if err != nil {
		return err
	}
	out := v2DAGRunCollection{DAGRuns: make([]v2DAGRun, 0, len(runs)), TotalEntries: total}
	for _, run := range runs {
		if run.DeploymentID == nil {
			continue
		}
		if dag, ok := dags[*run.DeploymentID]; ok {
			out.DAGRuns = append(out.DAGRuns, toV2DAGRun(run, dag))
		}
	}
	return c.JSON(http.StatusOK, out)
}

// readRunPage reads page of the runs query matches, in order, and the count of all of them
// (generation-neutral): /paginate (one call) for a forward page on a page boundary, else the
// count and the page at once, or for a reversed order the count, then the page.
func (s *Server) readRunPage(ctx context.Context, query wire.Query, order translate.RunOrder, page translate.Page) ([]wire.FlowRun, int, error) {
	var runs []wire.FlowRun
	var total int
	var err error
	switch {
	case page.Limit == 0:
		total, err = s.prefect.CountFlowRuns(ctx, query)
		if err != nil {
			return nil, 0, FromUpstream(fmt.Errorf("count flow runs: %w", err))
		}
		return nil, total, nil
	case order.Reverse:
		if total, err = s.prefect.CountFlowRuns(ctx, query); err != nil {
			return nil, 0, FromUpstream(fmt.Errorf("count flow runs: %w", err))
		}
		if runs, err = s.readRunWindows(ctx, query, translate.PrefectWindows(page, order, total, prefect.MaxLimit)); err != nil {
			return nil, 0, err
		}
		slices.Reverse(runs)
	case page.Limit <= prefect.MaxLimit && page.Offset%page.Limit == 0:
		limit := page.Limit
		query.Limit = &limit
		err = s.prefect.PaginateFlowRuns(ctx, query, page.Offset/limit+1, func(answer []byte) error {
			var err error
			runs, total, err = prefect.DecodeFlowRunPage(answer)
			return err
		})
		if err != nil {
			return nil, 0, FromUpstream(fmt.Errorf("list flow runs: %w", err))
		}
	default:
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			var err error
			if total, err = s.prefect.CountFlowRuns(gctx, query); err != nil {
				return FromUpstream(fmt.Errorf("count flow runs: %w", err))
			}
			return nil
		})
		g.Go(func() error {
			var err error
			runs, err = s.readRunWindows(gctx, query, translate.PrefectWindows(page, order, -1, prefect.MaxLimit))
			return err
		})
		if err := g.Wait(); err != nil {
			return nil, 0, err
		}
	}
	return runs, total, nil
}

// deploymentsOfRuns finds the DAG of every run's deployment: from the scope, else from the
// resolver (cached ones free, the others in one call).
func (s *Server) deploymentsOfRuns(ctx context.Context, runs []wire.FlowRun, scope v2RunScope) (map[string]prefect.ResolvedDAG, error) {
	out := make(map[string]prefect.ResolvedDAG, len(scope.resolved))
	for id, d := range scope.resolved {
		out[id] = d
	}
	var unknown []string
	for _, run := range runs {
		if run.DeploymentID == nil {
			continue
		}
		if _, ok := out[*run.DeploymentID]; !ok && !slices.Contains(unknown, *run.DeploymentID) {
			unknown = append(unknown, *run.DeploymentID)
		}
	}
	if len(unknown) == 0 {
		return out, nil
	}
	found, err := s.dags.ByDeploymentIDs(ctx, unknown)
	if err != nil {
		return nil, FromUpstream(err)
	}
	for id, d := range found {
		if _, known := scope.dags[id]; known || scope.deploymentIDs == nil {
			out[id] = d
		}
	}
	return out, nil
}

// jsonUnmarshalBoth decodes raw into v and, when present is not nil, the set of keys sent.
func jsonUnmarshalBoth(raw []byte, v any, present *map[string]any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return err
	}
	if present != nil {
		return json.Unmarshal(raw, present)
	}
	return nil
}
