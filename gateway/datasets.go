package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// Datasets (issue 15) ↔ Prefect assets, which exist as the resources of asset events (the
// mapping is in translate/datasets.go).
//
// Prefect calls, on a warm cache (each "window" is 1 call for up to 50 events, 2 beyond:
// see prefect.EventWindow):
//
//	GET  /datasets                   a window of the assets (one event per asset, up to
//	                                 maxDatasets, as Airflow's order is by id, which Prefect
//	                                 cannot sort by), a window of the page's first events
//	                                 (created_at), a window of its materializations
//	                                 (producing tasks, up to maxProducerEvents), 1 for their
//	                                 task runs' keys, 1 for the automations (consuming DAGs);
//	                                 +1 window for dag_ids
//	GET  /datasets/{uri}             1 (latest), 1 (earliest), a window of materializations,
//	                                 1 for task keys, 1 for the automations
//	GET  /datasets/events            a window, 1 for task keys, a window of the automation
//	                                 actions the events triggered (+1 for the runs they
//	                                 created); +1 window for dataset_id, +2 for source_task_id
//	POST /datasets/events            2 (the asset must exist, as in Airflow; the event)
//	GET  .../upstreamDatasetEvents   1 (the run), 1 (the automation runs that created it),
//	                                 1 (their triggering events), 1 for task keys
//
// A caller limited to some DAGs sees only assets and events of those DAGs' deployments (+1
// call, every deployment).

const (
	// maxDatasets bounds the assets one listing reads to sort them.
	maxDatasets = 1000
	// maxProducerEvents bounds the materializations read for a page's producing tasks.
	maxProducerEvents = 200
)

func (s *Server) registerDatasetRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/datasets", s.listDatasets, RoleViewer)
	s.route(g, http.MethodGet, "/datasets/events", s.listDatasetEvents, RoleViewer)
	s.route(g, http.MethodPost, "/datasets/events", s.postDatasetEvent, RoleAdmin)
	s.route(g, http.MethodGet, "/datasets/:uri", s.getDataset, RoleViewer)
	s.route(g, http.MethodGet, "/dags/:dag_id/dagRuns/:dag_run_id/upstreamDatasetEvents", s.getUpstreamDatasetEvents, RoleViewer)
}

func (s *Server) listDatasets(c echo.Context) error {
	q, err := translate.ParseDatasetQuery(c.QueryParams(), s.opts.MaxPageLimit)
	if err != nil {
		return badInputProblem(err)
	}
	out, err := s.datasets(c.Request().Context(), principalOf(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getDataset(c echo.Context) error {
	uri := decodedPathParam(c, "uri")
	ctx := c.Request().Context()
	sc, err := s.scopeOf(ctx, principalOf(c), "")
	if err != nil {
		return err
	}
	notFound := NotFound("Dataset not found", "The Dataset with uri: `%s` was not found", uri)
	if sc.none() {
		return notFound
	}
	latest, err := s.prefect.FilterEvents(ctx, translate.AssetFilter{URIs: []string{uri}, DeploymentIDs: sc.ids}.PrefectFilter(time.Now()), 1)
	if err != nil {
		return FromUpstream(fmt.Errorf("read events of asset %q: %w", uri, err))
	}
	if latest.Total == 0 || len(latest.Events) == 0 {
		return notFound
	}
	facts, err := s.datasetFacts(ctx, sc, map[string]*wire.Event{uri: &latest.Events[0]}, nil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, translate.ToDataset(uri, *facts[uri]))
}

// datasets reads one page of datasets.
func (s *Server) datasets(ctx context.Context, p *Principal, q translate.DatasetQuery) (translate.DatasetCollection, error) {
	empty := translate.DatasetCollection{Datasets: []translate.Dataset{}}
	sc, err := s.scopeOf(ctx, p, "")
	if err != nil || sc.none() {
		return empty, err
	}
	now := time.Now()
	assets, total, err := s.prefect.EventWindow(ctx, translate.AssetFilter{Distinct: true, DeploymentIDs: sc.ids}.PrefectFilter(now), 0, maxDatasets)
	if err != nil {
		return empty, FromUpstream(fmt.Errorf("read assets: %w", err))
	}
	if total > maxDatasets {
		return empty, BadRequest("Prefect knows %d assets; a listing reads at most %d to order them as Airflow does", total, maxDatasets)
	}
	var of map[string]bool
	var automations []wire.Automation
	if q.DAGIDs != nil {
		if automations, err = s.prefect.AllAutomations(ctx); err != nil {
			return empty, FromUpstream(fmt.Errorf("read automations: %w", err))
		}
		if of, err = s.assetsOfDAGs(ctx, p, q.DAGIDs, assets, automations, now); err != nil {
			return empty, err
		}
	}
	var matching []translate.Dataset
	latest := map[string]*wire.Event{}
	for i := range assets {
		uri := assets[i].Resource.ID()
		if !q.MatchesURIPattern(uri) || (of != nil && !of[uri]) {
			continue
		}
		latest[uri] = &assets[i]
		matching = append(matching, translate.ToDataset(uri, translate.DatasetFacts{Latest: &assets[i]}))
	}
	if q.Order.Field == "created_at" {
		// created_at is the earliest event: the order needs every asset's.
		if err := s.earliestOf(ctx, sc, matching, now); err != nil {
			return empty, err
		}
	}
	translate.SortDatasets(matching, q.Order)
	lo, hi := translate.PageBounds(len(matching), q.Page)
	page := matching[lo:hi]
	pageLatest := make(map[string]*wire.Event, len(page))
	for _, d := range page {
		pageLatest[d.URI] = latest[d.URI]
	}
	facts, err := s.datasetFacts(ctx, sc, pageLatest, automations)
	if err != nil {
		return empty, err
	}
	out := translate.DatasetCollection{Datasets: make([]translate.Dataset, 0, len(page)), TotalEntries: len(matching)}
	for _, d := range page {
		out.Datasets = append(out.Datasets, translate.ToDataset(d.URI, *facts[d.URI]))
	}
	return out, nil
}

// earliestOf sets the created_at of every dataset from its earliest event.
func (s *Server) earliestOf(ctx context.Context, sc deploymentScope, ds []translate.Dataset, now time.Time) error {
	uris := make([]string, len(ds))
	for i, d := range ds {
		uris[i] = d.URI
	}
	first, err := s.firstEvents(ctx, sc, uris, now)
	if err != nil {
		return err
	}
	for i := range ds {
		if ev, ok := first[ds[i].URI]; ok {
			ds[i].CreatedAt = translate.FormatTime(ev.Occurred)
		}
	}
	return nil
}

func (s *Server) firstEvents(ctx context.Context, sc deploymentScope, uris []string, now time.Time) (map[string]wire.Event, error) {
	out := map[string]wire.Event{}
	if len(uris) == 0 {
		return out, nil
	}
	events, _, err := s.prefect.EventWindow(ctx, translate.AssetFilter{URIs: uris, DeploymentIDs: sc.ids, Distinct: true, Asc: true}.PrefectFilter(now), 0, len(uris))
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("read the first events of assets: %w", err))
	}
	for _, ev := range events {
		out[ev.Resource.ID()] = ev
	}
	return out, nil
}

// datasetFacts gathers, for assets whose latest event is known, their earliest event and
// producing tasks.
func (s *Server) datasetFacts(ctx context.Context, sc deploymentScope, latest map[string]*wire.Event, automations []wire.Automation) (map[string]*translate.DatasetFacts, error) {
	out := make(map[string]*translate.DatasetFacts, len(latest))
	uris := make([]string, 0, len(latest))
	for uri, ev := range latest {
		out[uri] = &translate.DatasetFacts{Latest: ev}
		uris = append(uris, uri)
	}
	if len(uris) == 0 {
		return out, nil
	}
	now := time.Now()
	first, err := s.firstEvents(ctx, sc, uris, now)
	if err != nil {
		return nil, err
	}
	for uri, ev := range first {
		ev := ev
		out[uri].Earliest = &ev
	}
	mats, _, err := s.prefect.EventWindow(ctx, translate.AssetFilter{Names: []string{translate.AssetMaterialized}, URIs: uris, DeploymentIDs: sc.ids}.PrefectFilter(now), 0, maxProducerEvents)
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("read materializations: %w", err))
	}
	src, err := s.eventSources(ctx, sc, mats)
	if err != nil {
		return nil, err
	}
	for _, ev := range mats {
		dag := src.DAGOf(ev)
		task := ""
		if tr := translate.EventTaskRunID(ev); tr != "" {
			task = src.TaskKeyOf(tr)
		}
		if dag == "" && task == "" {
			continue // materialized outside any DAG (e.g. through this API): no producing task
		}
		out[ev.Resource.ID()].AddMaterialization(dag, task, ev.Occurred)
	}
	if automations == nil {
		if automations, err = s.prefect.AllAutomations(ctx); err != nil {
			return nil, FromUpstream(fmt.Errorf("read automations: %w", err))
		}
	}
	consumers := map[string][]translate.AssetConsumer{}
	var depIDs []string
	for _, uri := range uris {
		for _, c := range translate.AssetConsumers(automations, uri) {
			if sc.ids == nil || slices.Contains(sc.ids, c.DeploymentID) {
				consumers[uri] = append(consumers[uri], c)
				depIDs = append(depIDs, c.DeploymentID)
			}
		}
	}
	dags, err := s.dagIDsOf(ctx, sc, depIDs)
	if err != nil {
		return nil, err
	}
	for uri, cs := range consumers {
		for _, c := range cs {
			if dag, ok := dags[c.DeploymentID]; ok {
				out[uri].AddConsumer(dag, c.Created, c.Updated)
			}
		}
	}
	return out, nil
}

// eventSources names the DAGs and task keys of events' deployments and task runs.
func (s *Server) eventSources(ctx context.Context, sc deploymentScope, events []wire.Event) (translate.EventSources, error) {
	depIDs := make([]string, 0, len(events))
	var taskRunIDs []string
	seen := map[string]bool{}
	for _, ev := range events {
		depIDs = append(depIDs, translate.EventDeploymentID(ev))
		if tr := translate.EventTaskRunID(ev); tr != "" && !seen[tr] {
			seen[tr] = true
			taskRunIDs = append(taskRunIDs, tr)
		}
	}
	dags, err := s.dagIDsOf(ctx, sc, depIDs)
	if err != nil {
		return translate.EventSources{}, err
	}
	keys := map[string]string{}
	for start := 0; start < len(taskRunIDs); start += prefect.MaxLimit {
		batch := taskRunIDs[start:min(len(taskRunIDs), start+prefect.MaxLimit)]
		limit := len(batch)
		runs, err := s.prefect.FilterTaskRuns(ctx, wire.Query{TaskRuns: &wire.TaskRunFilter{ID: &wire.AnyOf{Any: batch}}, Limit: &limit})
		if err != nil {
			return translate.EventSources{}, FromUpstream(fmt.Errorf("read task runs: %w", err))
		}
		for _, tr := range runs {
			keys[tr.ID] = tr.TaskKey
		}
	}
	return translate.EventSources{
		DAGOf: func(ev wire.Event) string {
			id := translate.EventDeploymentID(ev)
			if dag, ok := dags[id]; ok {
				return dag
			}
			if id != "" {
				return translate.EventCanonicalDAGID(ev)
			}
			return ""
		},
		TaskKeyOf: func(id string) string { return keys[id] },
	}, nil
}

// assetsOfDAGs is the set of assets the given DAGs materialized or are triggered by (dag_ids
// of GET /datasets), among assets.
func (s *Server) assetsOfDAGs(ctx context.Context, p *Principal, dagIDs []string, assets []wire.Event, automations []wire.Automation, now time.Time) (map[string]bool, error) {
	var deps []string
	for _, id := range dagIDs {
		if !p.CanAccessDAG(id) {
			continue
		}
		d, err := s.dags.Resolve(ctx, id)
		if errors.Is(err, prefect.ErrDAGNotFound) {
			continue
		}
		if err != nil {
			return nil, resolveProblem(err, id)
		}
		deps = append(deps, d.Deployment.ID)
	}
	out := map[string]bool{}
	if len(deps) == 0 {
		return out, nil
	}
	events, _, err := s.prefect.EventWindow(ctx, translate.AssetFilter{Names: []string{translate.AssetMaterialized},
		DeploymentIDs: deps, Distinct: true}.PrefectFilter(now), 0, maxDatasets)
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("read the assets of DAGs: %w", err))
	}
	for _, ev := range events {
		out[ev.Resource.ID()] = true
	}
	for _, a := range assets {
		for _, c := range translate.AssetConsumers(automations, a.Resource.ID()) {
			if slices.Contains(deps, c.DeploymentID) {
				out[a.Resource.ID()] = true
			}
		}
	}
	return out, nil
}
