package translate

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"sort"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Datasets (Airflow 2; assets in Airflow 3) ↔ Prefect assets. Prefect 3.8's server keeps no
// asset table: an asset exists as the resource of asset events, which flows emit for
// @materialize tasks (prefect.asset.materialization.succeeded / .failed) and for the assets
// they read (prefect.asset.referenced); the asset's key (a URI such as s3://bucket/key) is
// the event's resource id. So:
//
//	dataset             an asset key that some asset event names
//	id                  a 31-bit hash of the URI (DatasetID): stable, and within int32 for
//	                    generated clients; Airflow's ids are row numbers Prefect does not have
//	extra               the asset's properties from its latest event (name, description,
//	                    url, owners)
//	created_at          its earliest asset event still kept; updated_at its latest
//	producing_tasks     the (DAG, task) of its materializations: the event's deployment and
//	                    its task run's key
//	consuming_dags      the deployments that deployment triggers (automations) on the asset
//	                    start: Airflow's dataset-scheduled DAGs (AssetConsumers)
//	dataset event       a prefect.asset.materialization.succeeded event (Airflow records a
//	                    dataset event for each successful update); its id is encoded as an
//	                    event_log_id (EventLogID); created_dagruns are the flow runs
//	                    the automations it triggered created
//
// A dataset event created through the API is such an event with the materialized-by related
// resource "airflow-prefect-gateway" and {"from_rest_api": true} in its payload, as Airflow
// adds to its extra; Prefect's deployment triggers on the asset fire on it.

// Asset event names.
const (
	AssetEventPrefix     = "prefect.asset."
	AssetMaterialized    = "prefect.asset.materialization.succeeded"
	GatewayMaterializer  = "airflow-prefect-gateway"
	materializedByRole   = "asset-materialized-by"
	assetDescription     = "prefect.asset.description"
	assetURL             = "prefect.asset.url"
	assetOwners          = "prefect.asset.owners"
	prefectResourceName  = "prefect.resource.name"
	prefectResourceID    = "prefect.resource.id"
	prefectResourceRole  = "prefect.resource.role"
	datasetIDMask        = 1<<31 - 1
	datasetOrderDefault  = "id"
	datasetEventOrderDef = "timestamp"
)

// DatasetOrderFields and DatasetEventOrderFields are Airflow's order_by allow-lists. Dataset
// events can only be ordered by timestamp (Prefect orders events by time); the other fields
// get Airflow's 400.
var (
	DatasetOrderFields      = []string{"id", "uri", "created_at", "updated_at"}
	DatasetEventOrderFields = []string{"timestamp"}
)

// DatasetID is the Airflow id of the dataset with this URI.
func DatasetID(uri string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(uri))
	id := int(h.Sum32() & datasetIDMask)
	if id == 0 {
		return 1
	}
	return id
}

// Dataset is Airflow's Dataset.
type Dataset struct {
	ID             int               `json:"id"`
	URI            string            `json:"uri"`
	Extra          map[string]any    `json:"extra"`
	CreatedAt      string            `json:"created_at"`
	UpdatedAt      string            `json:"updated_at"`
	ConsumingDAGs  []DatasetConsumer `json:"consuming_dags"`
	ProducingTasks []DatasetProducer `json:"producing_tasks"`
}

// DatasetProducer is Airflow's TaskOutletDatasetReference.
type DatasetProducer struct {
	DAGID     *string `json:"dag_id"`
	TaskID    *string `json:"task_id"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

// DatasetConsumer is Airflow's DagScheduleDatasetReference.
type DatasetConsumer struct {
	DAGID     *string `json:"dag_id"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

// DatasetCollection is Airflow's DatasetCollection.
type DatasetCollection struct {
	Datasets     []Dataset `json:"datasets"`
	TotalEntries int       `json:"total_entries"`
}

// DatasetQuery is a parsed GET /datasets query.
type DatasetQuery struct {
	Page       Page
	Order      OrderBy
	URIPattern string
	DAGIDs     []string
}

// ParseDatasetQuery reads GET /datasets' query: uri_pattern is Airflow's ILIKE %pattern%,
// dag_ids comma-separated.
func ParseDatasetQuery(q url.Values, maxLimit int) (DatasetQuery, error) {
	page, err := ParsePage(q.Get("limit"), q.Get("offset"), maxLimit)
	if err != nil {
		return DatasetQuery{}, err
	}
	order, err := ParseOrderBy(q.Get("order_by"), datasetOrderDefault, DatasetOrderFields)
	if err != nil {
		return DatasetQuery{}, err
	}
	out := DatasetQuery{Page: page, Order: order, URIPattern: q.Get("uri_pattern")}
	if v := q.Get("dag_ids"); v != "" {
		out.DAGIDs = strings.Split(v, ",")
	}
	return out, nil
}

// MatchesURIPattern is uri_pattern's ILIKE '%pattern%'.
func (q DatasetQuery) MatchesURIPattern(uri string) bool {
	return q.URIPattern == "" || MatchDAGIDPattern(q.URIPattern, uri)
}

// AssetFilter is the event filter of asset events: names (prefixes when nil), the assets'
// URIs (any when nil), deployments (any when nil), distinct per asset, newest or oldest first.
type AssetFilter struct {
	Names         []string
	URIs          []string
	DeploymentIDs []string
	FlowRunName   string
	TaskRunIDs    []string
	EventIDs      []string
	Distinct      bool
	Asc           bool
}

// PrefectFilter is the Prefect event filter of f, for events that occurred up to now.
func (f AssetFilter) PrefectFilter(now time.Time) wire.EventFilter {
	out := wire.EventFilter{Occurred: wire.EventOccurred{Since: time.Unix(0, 0).UTC(), Until: now.UTC()}, Order: "DESC"}
	if f.Asc {
		out.Order = "ASC"
	}
	if f.Names != nil {
		out.Event = &wire.EventNameFilter{Name: f.Names}
	} else {
		out.Event = &wire.EventNameFilter{Prefix: []string{AssetEventPrefix}}
	}
	if f.URIs != nil || f.Distinct {
		out.Resource = &wire.EventResourceFilter{ID: f.URIs, Distinct: f.Distinct}
	}
	if f.DeploymentIDs != nil {
		out.AnyResource = append(out.AnyResource, wire.EventAnyResource{ID: resourceIDs("prefect.deployment.", f.DeploymentIDs)})
	}
	if f.FlowRunName != "" {
		out.AnyResource = append(out.AnyResource, wire.EventAnyResource{Labels: map[string][]string{
			prefectResourceID: {"prefect.flow-run.*"}, prefectResourceName: {f.FlowRunName}}})
	}
	if f.TaskRunIDs != nil {
		out.AnyResource = append(out.AnyResource, wire.EventAnyResource{ID: resourceIDs("prefect.task-run.", f.TaskRunIDs)})
	}
	if f.EventIDs != nil {
		out.ID = &wire.EventIDFilter{ID: f.EventIDs}
	}
	return out
}

// AssetExtra is a dataset's extra: the asset properties its event's resource carries.
func AssetExtra(r wire.Resource) map[string]any {
	extra := map[string]any{}
	for label, key := range map[string]string{prefectResourceName: "name", assetDescription: "description", assetURL: "url"} {
		if v, ok := r[label]; ok && v != "" {
			extra[key] = v
		}
	}
	if v, ok := r[assetOwners]; ok {
		var owners []string
		if json.Unmarshal([]byte(v), &owners) == nil {
			extra["owners"] = owners
		} else {
			extra["owners"] = v
		}
	}
	return extra
}

// EventTaskRunID is the id of the task run an event relates to ("" for none).
func EventTaskRunID(ev wire.Event) string {
	for _, r := range ev.Related {
		if id, ok := strings.CutPrefix(r.ID(), "prefect.task-run."); ok && r.Role() == "task-run" {
			return id
		}
	}
	return ""
}

// EventFlowRunName is the name of the flow run an event relates to ("" for none).
func EventFlowRunName(ev wire.Event) string {
	for _, r := range ev.Related {
		if strings.HasPrefix(r.ID(), "prefect.flow-run.") && r.Role() == "flow-run" {
			return r.Name()
		}
	}
	return ""
}

// DatasetFacts gathers what the events of one asset tell: its latest and earliest events and
// the (DAG, task) of its materializations.
type DatasetFacts struct {
	Latest, Earliest *wire.Event
	producers        map[[2]string]*DatasetProducer
	order            [][2]string
	consumers        []DatasetConsumer
}

// AddMaterialization records a materialization by (dagID, taskID) at the given time.
func (d *DatasetFacts) AddMaterialization(dagID, taskID string, at time.Time) {
	if d.producers == nil {
		d.producers = map[[2]string]*DatasetProducer{}
	}
	key := [2]string{dagID, taskID}
	ts := FormatTime(at)
	p, ok := d.producers[key]
	if !ok {
		d.producers[key] = &DatasetProducer{DAGID: optString(dagID), TaskID: optString(taskID), CreatedAt: ts, UpdatedAt: ts}
		d.order = append(d.order, key)
		return
	}
	if ts < p.CreatedAt {
		p.CreatedAt = ts
	}
	if ts > p.UpdatedAt {
		p.UpdatedAt = ts
	}
}

// ToDataset is the Airflow dataset of an asset.
func ToDataset(uri string, d DatasetFacts) Dataset {
	out := Dataset{ID: DatasetID(uri), URI: uri, Extra: map[string]any{}, ConsumingDAGs: []DatasetConsumer{}, ProducingTasks: []DatasetProducer{}}
	if d.Latest != nil {
		out.Extra = AssetExtra(d.Latest.Resource)
		out.UpdatedAt = FormatTime(d.Latest.Occurred)
		out.CreatedAt = out.UpdatedAt
	}
	if d.Earliest != nil {
		out.CreatedAt = FormatTime(d.Earliest.Occurred)
	}
	keys := append([][2]string(nil), d.order...)
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		out.ProducingTasks = append(out.ProducingTasks, *d.producers[k])
	}
	out.ConsumingDAGs = append(out.ConsumingDAGs, d.consumers...)
	sort.Slice(out.ConsumingDAGs, func(i, j int) bool { return deref(out.ConsumingDAGs[i].DAGID) < deref(out.ConsumingDAGs[j].DAGID) })
	return out
}

// SortDatasets orders datasets by Airflow's order_by (ties by URI, then id).
func SortDatasets(ds []Dataset, o OrderBy) {
	key := func(d Dataset) string {
		switch o.Field {
		case "uri":
			return d.URI
		case "created_at":
			return d.CreatedAt
		case "updated_at":
			return d.UpdatedAt
		}
		return fmt.Sprintf("%010d", d.ID)
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := key(ds[i]), key(ds[j])
		if a == b {
			return ds[i].URI < ds[j].URI
		}
		if o.Desc {
			return a > b
		}
		return a < b
	})
}
