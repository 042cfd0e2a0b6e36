package gateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// Dataset events ↔ Prefect's asset materialization events (see datasets.go for the calls).

func (s *Server) listDatasetEvents(c echo.Context) error {
	q, err := translate.ParseDatasetEventQuery(c.QueryParams(), s.opts.MaxPageLimit)
	if err != nil {
		return badInputProblem(err)
	}
	out, err := s.datasetEvents(c.Request().Context(), principalOf(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// datasetEvents reads one page of dataset events.
func (s *Server) datasetEvents(ctx context.Context, p *Principal, q translate.DatasetEventQuery) (translate.DatasetEventCollection, error) {
	empty := translate.DatasetEventCollection{DatasetEvents: []translate.DatasetEvent{}}
	if q.Nothing {
		return empty, nil
	}
	sc, err := s.scopeOf(ctx, p, q.SourceDAGID)
	if err != nil || sc.none() {
		return empty, err
	}
	now := time.Now()
	f := translate.AssetFilter{Names: []string{translate.AssetMaterialized}, DeploymentIDs: sc.ids, FlowRunName: q.SourceRunID, Asc: !q.Desc}
	if q.DatasetID != 0 {
		uri, found, err := s.assetOfID(ctx, sc, q.DatasetID, now)
		if err != nil || !found {
			return empty, err
		}
		f.URIs = []string{uri}
	}
	if q.TaskID != "" {
		if f.TaskRunIDs, err = s.taskRunIDsOf(ctx, sc.ids, q.SourceRunID, q.TaskID); err != nil || len(f.TaskRunIDs) == 0 {
			return empty, err
		}
	}
	events, total, err := s.prefect.EventWindow(ctx, f.PrefectFilter(now), q.Page.Offset, q.Page.Limit)
	if err != nil {
		return empty, eventWindowProblem(err, q.Page.Offset)
	}
	out, err := s.toDatasetEvents(ctx, sc, events)
	if err != nil {
		return empty, err
	}
	return translate.DatasetEventCollection{DatasetEvents: out, TotalEntries: total}, nil
}

func eventWindowProblem(err error, offset int) *Problem {
	if err == prefect.ErrEventWindowTooDeep {
		return BadRequest("offset %d is deeper than this Prefect server's event pages can be read in one request", offset)
	}
	return FromUpstream(fmt.Errorf("read events: %w", err))
}

func (s *Server) toDatasetEvents(ctx context.Context, sc deploymentScope, events []wire.Event) ([]translate.DatasetEvent, error) {
	src, err := s.eventSources(ctx, sc, events)
	if err != nil {
		return nil, err
	}
	created, err := s.createdRuns(ctx, sc, events)
	if err != nil {
		return nil, err
	}
	out := make([]translate.DatasetEvent, 0, len(events))
	for _, ev := range events {
		e := translate.ToDatasetEvent(ev, src)
		e.CreatedDAGRuns = append(e.CreatedDAGRuns, created[ev.ID]...)
		out = append(out, e)
	}
	return out, nil
}

// createdRuns are the runs the deployment triggers of each event created: the flow runs of the
// automation actions it triggered (one window of action events, one read of the runs).
func (s *Server) createdRuns(ctx context.Context, sc deploymentScope, events []wire.Event) (map[string][]translate.BasicDAGRun, error) {
	out := map[string][]translate.BasicDAGRun{}
	if len(events) == 0 {
		return out, nil
	}
	ids := make([]string, len(events))
	earliest := events[0].Occurred
	for i, ev := range events {
		ids[i] = "prefect.event." + ev.ID
		if ev.Occurred.Before(earliest) {
			earliest = ev.Occurred
		}
	}
	actions, _, err := s.prefect.EventWindow(ctx, wire.EventFilter{
		Occurred:    wire.EventOccurred{Since: earliest.UTC(), Until: time.Now().UTC()},
		Event:       &wire.EventNameFilter{Name: []string{translate.AutomationActionExecuted}},
		AnyResource: []wire.EventAnyResource{{ID: ids}},
		Order:       "ASC",
	}, 0, maxProducerEvents)
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("read the automation runs of dataset events: %w", err))
	}
	byTrigger := translate.TriggeredRuns(actions)
	var runIDs []string
	for _, ids := range byTrigger {
		runIDs = append(runIDs, ids...)
	}
	if len(runIDs) == 0 {
		return out, nil
	}
	runIDs = runIDs[:min(len(runIDs), prefect.MaxLimit)]
	limit := len(runIDs)
	runs, err := s.prefect.FilterFlowRuns(ctx, wire.Query{FlowRuns: &wire.FlowRunFilter{ID: &wire.AnyOf{Any: runIDs}}, Limit: &limit})
	if err != nil {
		return nil, FromUpstream(fmt.Errorf("read the runs dataset events created: %w", err))
	}
	depIDs := make([]string, 0, len(runs))
	for _, r := range runs {
		if r.DeploymentID != nil {
			depIDs = append(depIDs, *r.DeploymentID)
		}
	}
	dags, err := s.dagIDsOf(ctx, sc, depIDs)
	if err != nil {
		return nil, err
	}
	byID := map[string]translate.BasicDAGRun{}
	for _, r := range runs {
		if r.DeploymentID == nil {
			continue
		}
		dag, ok := dags[*r.DeploymentID]
		if !ok || (sc.ids != nil && !slices.Contains(sc.ids, *r.DeploymentID)) {
			continue // a run of a DAG the caller may not see
		}
		byID[r.ID] = translate.ToBasicDAGRun(translate.FromPrefectFlowRun(r, dag))
	}
	for trigger, ids := range byTrigger {
		for _, id := range ids {
			if run, ok := byID[id]; ok {
				out[trigger] = append(out[trigger], run)
			}
		}
	}
	return out, nil
}

// assetOfID finds the asset whose dataset id is id among those the caller may see.
func (s *Server) assetOfID(ctx context.Context, sc deploymentScope, id int, now time.Time) (string, bool, error) {
	assets, _, err := s.prefect.EventWindow(ctx, translate.AssetFilter{Distinct: true, DeploymentIDs: sc.ids}.PrefectFilter(now), 0, maxDatasets)
	if err != nil {
		return "", false, FromUpstream(fmt.Errorf("read assets: %w", err))
	}
	for _, ev := range assets {
		if translate.DatasetID(ev.Resource.ID()) == id {
			return ev.Resource.ID(), true, nil
		}
	}
	return "", false, nil
}

// postDatasetEvent is POST /datasets/events: Airflow's "the dataset was updated" from
// outside, as a materialization event of the asset. Prefect keeps the event id the gateway
// gives it, so the event is recorded once however often the call is retried.
func (s *Server) postDatasetEvent(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return BadRequest("The request body could not be read: %v", err)
	}
	req, err := translate.ParseCreateDatasetEvent(body)
	if err != nil {
		return badInputProblem(err)
	}
	ev, err := s.createDatasetEvent(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ev)
}

func (s *Server) createDatasetEvent(ctx context.Context, req translate.CreateDatasetEvent) (translate.DatasetEvent, error) {
	now := time.Now()
	known, err := s.prefect.FilterEvents(ctx, translate.AssetFilter{URIs: []string{req.URI}}.PrefectFilter(now), 1)
	if err != nil {
		return translate.DatasetEvent{}, FromUpstream(fmt.Errorf("read asset %q: %w", req.URI, err))
	}
	if known.Total == 0 || len(known.Events) == 0 {
		return translate.DatasetEvent{}, NotFound("Dataset not found", "Dataset with uri: '%s' not found", req.URI)
	}
	id, err := newUUID()
	if err != nil {
		return translate.DatasetEvent{}, fmt.Errorf("dataset event id: %w", err)
	}
	create := translate.NewDatasetEventCreate(req, known.Events[0].Resource, id, now)
	if err := s.prefect.EmitEvents(ctx, []wire.EventCreate{create}); err != nil {
		return translate.DatasetEvent{}, FromUpstream(fmt.Errorf("emit the materialization of %q: %w", req.URI, err))
	}
	return translate.ToDatasetEvent(wire.Event{ID: create.ID, Occurred: create.Occurred, Event: create.Event,
		Resource: create.Resource, Related: create.Related, Payload: mustJSON(create.Payload)},
		translate.EventSources{DAGOf: func(wire.Event) string { return "" }, TaskKeyOf: func(string) string { return "" }}), nil
}

// getUpstreamDatasetEvents is the dataset events that made a run: Prefect records a run
// that an automation (a deployment trigger) started as an automation action whose related
// resources are the flow run and the triggering event; those triggering events that are asset
// materializations are the run's upstream dataset events. A run nothing triggered has none.
func (s *Server) getUpstreamDatasetEvents(c echo.Context) error {
	dagID, _, run, err := s.dagRunOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sc := deploymentScope{dags: map[string]string{}}
	if run.DeploymentID != nil {
		sc.dags[*run.DeploymentID] = dagID
	}
	now := time.Now()
	actions, _, err := s.prefect.EventWindow(ctx, wire.EventFilter{
		Occurred:    wire.EventOccurred{Since: time.Unix(0, 0).UTC(), Until: now.UTC()},
		Event:       &wire.EventNameFilter{Name: []string{"prefect.automation.action.executed"}},
		AnyResource: []wire.EventAnyResource{{ID: []string{"prefect.flow-run." + run.ID}}},
		Order:       "ASC",
	}, 0, prefect.MaxEventPageSize)
	if err != nil {
		return FromUpstream(fmt.Errorf("read the automation runs of %s: %w", run.ID, err))
	}
	var triggering []string
	for _, a := range actions {
		for _, r := range a.Related {
			if id, ok := strings.CutPrefix(r.ID(), "prefect.event."); ok && r.Role() == "triggering-event" {
				triggering = append(triggering, id)
			}
		}
	}
	out := translate.DatasetEventCollection{DatasetEvents: []translate.DatasetEvent{}}
	if len(triggering) > 0 {
		events, _, err := s.prefect.EventWindow(ctx, translate.AssetFilter{Names: []string{translate.AssetMaterialized},
			EventIDs: triggering, Asc: true}.PrefectFilter(now), 0, len(triggering))
		if err != nil {
			return FromUpstream(fmt.Errorf("read the triggering events of %s: %w", run.ID, err))
		}
		if out.DatasetEvents, err = s.toDatasetEvents(ctx, sc, events); err != nil {
			return err
		}
	}
	out.TotalEntries = len(out.DatasetEvents)
	return c.JSON(http.StatusOK, out)
}

// newUUID is a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// mustJSON encodes a value decoded from JSON or built of JSON types, which always encodes.
func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return raw
}
