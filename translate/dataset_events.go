package translate

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Dataset events ↔ Prefect's asset materialization events (see datasets.go).

// DatasetEvent is Airflow's DatasetEvent (with the id Airflow's server sends too).
type DatasetEvent struct {
	ID             int64          `json:"id"`
	DatasetID      int            `json:"dataset_id"`
	DatasetURI     string         `json:"dataset_uri"`
	Extra          map[string]any `json:"extra"`
	SourceTaskID   *string        `json:"source_task_id"`
	SourceDAGID    *string        `json:"source_dag_id"`
	SourceRunID    *string        `json:"source_run_id"`
	SourceMapIndex *int           `json:"source_map_index"`
	CreatedDAGRuns []BasicDAGRun  `json:"created_dagruns"`
	Timestamp      string         `json:"timestamp"`
}

// DatasetEventCollection is Airflow's DatasetEventCollection.
type DatasetEventCollection struct {
	DatasetEvents []DatasetEvent `json:"dataset_events"`
	TotalEntries  int            `json:"total_entries"`
}

// DatasetEventQuery is a parsed GET /datasets/events query.
type DatasetEventQuery struct {
	Page                             Page
	Desc                             bool
	DatasetID                        int // 0: any, as Airflow ignores a zero filter
	SourceDAGID, SourceRunID, TaskID string
	// Nothing is set when no event can match (a non-zero source_map_index: no event has one).
	Nothing bool
}

// ParseDatasetEventQuery reads GET /datasets/events' query; source_task_id needs
// source_run_id, for the reason ParseEventLogQuery gives.
func ParseDatasetEventQuery(q url.Values, maxLimit int) (DatasetEventQuery, error) {
	page, err := ParsePage(q.Get("limit"), q.Get("offset"), maxLimit)
	if err != nil {
		return DatasetEventQuery{}, err
	}
	order, err := ParseOrderBy(q.Get("order_by"), datasetEventOrderDef, DatasetEventOrderFields)
	if err != nil {
		return DatasetEventQuery{}, err
	}
	out := DatasetEventQuery{Page: page, Desc: order.Desc, SourceDAGID: q.Get("source_dag_id"),
		SourceRunID: q.Get("source_run_id"), TaskID: q.Get("source_task_id")}
	if v := q.Get("dataset_id"); v != "" {
		if out.DatasetID, err = strconv.Atoi(v); err != nil {
			return DatasetEventQuery{}, fmt.Errorf("dataset_id %q is not an integer", v)
		}
	}
	if v := q.Get("source_map_index"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return DatasetEventQuery{}, fmt.Errorf("source_map_index %q is not an integer", v)
		}
		out.Nothing = n != 0
	}
	if strings.ContainsAny(out.SourceRunID, "*?") || strings.HasPrefix(out.SourceRunID, "!") {
		return DatasetEventQuery{}, fmt.Errorf("source_run_id %q holds a character ('*', '?' or a leading '!') that Prefect's event filter reads as a pattern, so it cannot be matched exactly", out.SourceRunID)
	}
	if out.TaskID != "" && out.SourceRunID == "" {
		return DatasetEventQuery{}, fmt.Errorf("source_task_id can only be filtered together with source_run_id: Prefect's events name a task run's key only inside the run")
	}
	return out, nil
}

// EventSources names what an asset event came from: dagOf maps its deployment to a dag_id
// ("" for none), taskKeyOf its task run to a task key.
type EventSources struct {
	DAGOf     func(ev wire.Event) string
	TaskKeyOf func(taskRunID string) string
}

// ToDatasetEvent is the Airflow dataset event of a materialization event.
func ToDatasetEvent(ev wire.Event, src EventSources) DatasetEvent {
	uri := ev.Resource.ID()
	out := DatasetEvent{ID: EventLogID(ev.Occurred, ev.ID), DatasetID: DatasetID(uri), DatasetURI: uri,
		Extra: map[string]any{}, CreatedDAGRuns: []BasicDAGRun{}, Timestamp: FormatTime(ev.Occurred)}
	if len(ev.Payload) > 0 {
		var payload map[string]any
		if json.Unmarshal(ev.Payload, &payload) == nil && payload != nil {
			out.Extra = payload
		}
	}
	out.SourceDAGID = optString(src.DAGOf(ev))
	out.SourceRunID = optString(EventFlowRunName(ev))
	if tr := EventTaskRunID(ev); tr != "" {
		out.SourceTaskID = optString(src.TaskKeyOf(tr))
	}
	return out
}

// CreateDatasetEvent is a parsed POST /datasets/events body.
type CreateDatasetEvent struct {
	URI   string
	Extra map[string]any
}

// ParseCreateDatasetEvent reads the body as Airflow's CreateDatasetEventSchema does: a
// dataset_uri string, an optional extra object, no other field.
func ParseCreateDatasetEvent(body []byte) (CreateDatasetEvent, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return CreateDatasetEvent{}, &InputError{Title: "Bad Request", Detail: "The request body must be a JSON object"}
	}
	var unknown []string
	for k := range fields {
		if k != "dataset_uri" && k != "extra" {
			unknown = append(unknown, fmt.Sprintf("'%s': ['Unknown field.']", k))
		}
	}
	if unknown != nil {
		sort.Strings(unknown)
		return CreateDatasetEvent{}, &InputError{Title: "Bad Request", Detail: "{" + strings.Join(unknown, ", ") + "}"}
	}
	var out CreateDatasetEvent
	if err := json.Unmarshal(fields["dataset_uri"], &out.URI); err != nil || out.URI == "" {
		return CreateDatasetEvent{}, &InputError{Title: "Bad Request", Detail: "{'dataset_uri': ['Not a valid string.']}"}
	}
	out.Extra = map[string]any{}
	if raw, ok := fields["extra"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &out.Extra); err != nil {
			return CreateDatasetEvent{}, &InputError{Title: "Bad Request", Detail: "{'extra': ['Not a valid mapping type.']}"}
		}
	}
	out.Extra["from_rest_api"] = true
	return out, nil
}

// NewDatasetEventCreate is the Prefect event for a dataset event created through the API:
// a successful materialization of the asset, by the gateway, with the caller's extra.
func NewDatasetEventCreate(req CreateDatasetEvent, known wire.Resource, id string, now time.Time) wire.EventCreate {
	resource := wire.Resource{prefectResourceID: req.URI}
	for _, label := range []string{prefectResourceName, assetDescription, assetURL, assetOwners} {
		if v, ok := known[label]; ok {
			resource[label] = v
		}
	}
	return wire.EventCreate{ID: id, Occurred: now.UTC(), Event: AssetMaterialized, Resource: resource,
		Related: []wire.Resource{{prefectResourceID: GatewayMaterializer, prefectResourceRole: materializedByRole}},
		Payload: req.Extra}
}

// BasicDAGRun is a run a dataset event created, as Airflow's server writes it (its document
// calls the id run_id; the server sends dag_run_id, as here).
type BasicDAGRun struct {
	DAGRunID          string  `json:"dag_run_id"`
	DAGID             string  `json:"dag_id"`
	LogicalDate       *string `json:"logical_date"`
	StartDate         *string `json:"start_date"`
	EndDate           *string `json:"end_date"`
	State             string  `json:"state"`
	DataIntervalStart *string `json:"data_interval_start"`
	DataIntervalEnd   *string `json:"data_interval_end"`
}

// ToBasicDAGRun is the BasicDAGRun of a DAG run.
func ToBasicDAGRun(r DAGRun) BasicDAGRun {
	return BasicDAGRun{DAGRunID: r.DAGRunID, DAGID: r.DAGID, LogicalDate: r.LogicalDate, StartDate: r.StartDate,
		EndDate: r.EndDate, State: r.State, DataIntervalStart: r.DataIntervalStart, DataIntervalEnd: r.DataIntervalEnd}
}

// TriggeredRuns reads automation-action events (prefect.automation.action.executed): for each
// triggering event id, the ids of the flow runs its actions created.
func TriggeredRuns(actions []wire.Event) map[string][]string {
	out := map[string][]string{}
	for _, a := range actions {
		var trigger string
		var runs []string
		for _, r := range a.Related {
			switch {
			case r.Role() == "triggering-event" && strings.HasPrefix(r.ID(), "prefect.event."):
				trigger = strings.TrimPrefix(r.ID(), "prefect.event.")
			case r.Role() == "flow-run" && strings.HasPrefix(r.ID(), "prefect.flow-run."):
				runs = append(runs, strings.TrimPrefix(r.ID(), "prefect.flow-run."))
			}
		}
		if trigger != "" {
			out[trigger] = append(out[trigger], runs...)
		}
	}
	return out
}

// AutomationActionExecuted is the event Prefect records when an automation's action ran.
const AutomationActionExecuted = "prefect.automation.action.executed"
