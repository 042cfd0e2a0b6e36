package translate

import (
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Consuming DAGs of a dataset ↔ the deployments Prefect's deployment triggers on the asset
// start (see datasets.go).

// AssetConsumer is a deployment a trigger on an asset starts: Airflow's dataset-scheduled DAG.
type AssetConsumer struct {
	DeploymentID     string
	Created, Updated time.Time
}

// AssetConsumers are the deployments that enabled automations start on events of the asset
// uri: a run-deployment action of a selected deployment, behind an event trigger (alone or
// within a compound or sequence trigger) that matches the asset's resource id and expects
// asset events (or any event).
func AssetConsumers(automations []wire.Automation, uri string) []AssetConsumer {
	var out []AssetConsumer
	for _, a := range automations {
		if !a.Enabled || !triggerOnAsset(a.Trigger, uri) {
			continue
		}
		for _, act := range a.Actions {
			if act.Type != "run-deployment" || act.DeploymentID == nil || (act.Source != "" && act.Source != "selected") {
				continue
			}
			c := AssetConsumer{DeploymentID: *act.DeploymentID}
			if a.Created != nil {
				c.Created = *a.Created
			}
			c.Updated = c.Created
			if a.Updated != nil {
				c.Updated = *a.Updated
			}
			out = append(out, c)
		}
	}
	return out
}

func triggerOnAsset(t wire.AutomationTrigger, uri string) bool {
	for _, sub := range t.Triggers {
		if triggerOnAsset(sub, uri) {
			return true
		}
	}
	if t.Type != "" && t.Type != "event" {
		return false
	}
	expectsAsset := len(t.Expect) == 0
	for _, e := range t.Expect {
		expectsAsset = expectsAsset || strings.HasPrefix(e, AssetEventPrefix) || e == "*" || e == "prefect.asset*"
	}
	if !expectsAsset {
		return false
	}
	switch v := t.Match[prefectResourceID].(type) {
	case string:
		return resourceMatches(v, uri)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && resourceMatches(s, uri) {
				return true
			}
		}
	}
	return false
}

// resourceMatches is Prefect's match of a resource id: exact, or a prefix ending in '*'.
func resourceMatches(expr, id string) bool {
	if p, ok := strings.CutSuffix(expr, "*"); ok {
		return strings.HasPrefix(id, p)
	}
	return expr == id
}

// AddConsumer records a consuming DAG.
func (d *DatasetFacts) AddConsumer(dagID string, created, updated time.Time) {
	for _, c := range d.consumers {
		if deref(c.DAGID) == dagID {
			return
		}
	}
	d.consumers = append(d.consumers, DatasetConsumer{DAGID: optString(dagID), CreatedAt: FormatTime(created), UpdatedAt: FormatTime(updated)})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
