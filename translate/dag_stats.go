package translate

import (
	"fmt"
	"strings"
)

// DAG statistics (GET /dagStats): how many runs of each DAG are in each Airflow DAG-run
// state. Airflow groups its dag_run table by (dag_id, state); Prefect has no grouped count,
// so each (DAG, state) pair is one flow-run count of the deployment over the Prefect state
// types that report as that state (PrefectStateTypes).

// DAGStateCount is one entry of a DAG's stats: an Airflow DAG-run state and its run count.
type DAGStateCount struct {
	State string `json:"state"`
	Count int    `json:"count"`
}

// DAGStats is the stats of one DAG: every Airflow DAG-run state, in DAGRunStates' order,
// with its count (0 included), as Airflow lists them.
type DAGStats struct {
	DAGID string          `json:"dag_id"`
	Stats []DAGStateCount `json:"stats"`
}

// DAGStatsCollection is Airflow's DagStatsCollectionSchema.
type DAGStatsCollection struct {
	DAGs         []DAGStats `json:"dags"`
	TotalEntries int        `json:"total_entries"`
}

// MaxDAGStatsIDs bounds the DAGs one dagStats request may name: each costs a count per state,
// so the request's Prefect calls stay a small multiple of what was asked for.
const MaxDAGStatsIDs = 100

// ParseDAGStatsIDs reads dagStats' required dag_ids (comma-separated, as Airflow splits it):
// distinct ids in the order given. Airflow matches ids exactly, so an empty id (",," or a
// trailing comma) can match no DAG and is dropped, as Airflow's set intersection drops it.
func ParseDAGStatsIDs(raw string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, id := range strings.Split(raw, ",") {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) > MaxDAGStatsIDs {
		return nil, fmt.Errorf("dag_ids names %d DAGs; at most %d may be asked for at once", len(ids), MaxDAGStatsIDs)
	}
	return ids, nil
}

// NewDAGStats builds the stats of a DAG from the count of each state (absent states are 0).
func NewDAGStats(dagID string, counts map[string]int) DAGStats {
	s := DAGStats{DAGID: dagID, Stats: make([]DAGStateCount, 0, len(DAGRunStates))}
	for _, st := range DAGRunStates {
		s.Stats = append(s.Stats, DAGStateCount{State: st, Count: counts[st]})
	}
	return s
}
