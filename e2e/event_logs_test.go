package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// Event logs from the real Prefect server's events: the state changes of a DAG's runs and
// the deployment's own events, filtered, paged past Prefect's 50-event pages, and read by id.
func TestEventLogsAgainstPrefect(t *testing.T) {
	ctx := testCtx(t)
	p := fmt.Sprintf("ev%06x", rand.IntN(1<<24))
	dep, err := seed.Deployment(ctx, p+"_etl", "daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	dagID := p + "_etl.daily"
	const runs = 18
	for i := range runs {
		run, err := seed.FlowRun(ctx, dep.ID, fmt.Sprintf("r%02d", i), time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		mustState(t, run.ID, wire.Running)
		mustState(t, run.ID, wire.Completed)
	}
	gw := harness.StartGateway(t, prefectServer.URL)
	api := harness.NewAPI(t, gw.URL)

	// Prefect persists events in batches: wait until every state change is there (a run's
	// creation in SCHEDULED is an event too).
	var all translate.EventLogCollection
	deadline := time.Now().Add(90 * time.Second)
	for {
		res := api.Get("/eventLogs?limit=100&dag_id=" + dagID)
		res.JSON(t, &all)
		if all.TotalEntries >= 3*runs || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if all.TotalEntries < 3*runs || len(all.EventLogs) != min(all.TotalEntries, 100) {
		t.Fatalf("%d entries (total %d), want at least %d", len(all.EventLogs), all.TotalEntries, 3*runs)
	}
	completed := 0
	for i, e := range all.EventLogs {
		if i > 0 && e.EventLogID < all.EventLogs[i-1].EventLogID {
			t.Fatalf("entries out of order at %d", i)
		}
		if e.DAGID == nil || *e.DAGID != dagID {
			t.Errorf("entry %+v: dag_id", e)
		}
		if e.Event == "prefect.flow-run.Completed" {
			completed++
			if e.RunID == nil || !strings.HasPrefix(*e.RunID, "r") {
				t.Errorf("entry %+v: run_id", e)
			}
		}
	}
	if completed != runs {
		t.Errorf("%d Completed entries, want %d", completed, runs)
	}
	// A page beyond Prefect's first 50 events, newest first.
	deep := api.Get(fmt.Sprintf("/eventLogs?dag_id=%s&order_by=-event_log_id&offset=%d&limit=3", dagID, all.TotalEntries-3))
	var tail translate.EventLogCollection
	deep.JSON(t, &tail)
	if len(tail.EventLogs) != 3 || tail.EventLogs[2].EventLogID != all.EventLogs[0].EventLogID {
		t.Errorf("deep page %+v, want the 3 oldest newest-first", tail.EventLogs)
	}
	one := api.Get(fmt.Sprintf("/eventLogs/%d", all.EventLogs[5].EventLogID))
	var got translate.EventLog
	one.JSON(t, &got)
	if got.EventLogID != all.EventLogs[5].EventLogID || got.Event != all.EventLogs[5].Event {
		t.Errorf("get by id: %+v, want %+v", got, all.EventLogs[5])
	}
	var byRun translate.EventLogCollection
	api.Get("/eventLogs?run_id=r03&event=prefect.flow-run.Completed").JSON(t, &byRun)
	if byRun.TotalEntries != 1 {
		t.Errorf("run_id and event: %+v", byRun)
	}
	if r := api.Get("/eventLogs/4096"); r.Status != 404 {
		t.Errorf("unknown id: %d %s", r.Status, r.Body)
	}
}
