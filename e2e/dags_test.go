package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/e2e/harness"
	"airflow-prefect-gateway/gateway"
	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// dagsFixture is 3 flows × 2 deployments in the real Prefect server, with cron, interval
// and rrule schedules, tags, a paused flag, a dag_id declared by tag and one by the
// gateway's configuration. Every name carries a prefix of its own, so that the test sees
// its DAGs whatever else the shared server holds (dag_id_pattern=prefix scopes a listing).
type dagsFixture struct {
	prefix string
	// ids are the dag_ids, sorted; deps maps each to its deployment.
	ids  []string
	deps map[string]wire.Deployment
	gw   *harness.Gateway
	api  *harness.API
}

func (f *dagsFixture) id(suffix string) string { return f.prefix + suffix }

func seedDAGs(t *testing.T) *dagsFixture {
	t.Helper()
	ctx := testCtx(t)
	p := fmt.Sprintf("dg%06x", rand.IntN(1<<24))
	f := &dagsFixture{prefix: p, deps: map[string]wire.Deployment{}}
	schemaProps := map[string]any{
		"batch_size": map[string]any{"type": "integer", "title": "batch_size", "default": 100, "description": "Rows per batch"},
		"output_dir": map[string]any{"type": "string", "title": "output_dir", "default": "/tmp/results"},
	}
	seeds := []struct {
		dagID, flow, name string
		extra             map[string]any
	}{
		{p + "_etl.daily", p + "_etl", "daily", map[string]any{
			"description": "Loads yesterday's orders.",
			"tags":        []string{"demo", "warehouse", "owner:data-team"},
			"entrypoint":  "flows/etl.py:etl",
			"parameters":  map[string]any{"batch_size": 500},
			"parameter_openapi_schema": map[string]any{
				"type": "object", "title": "Parameters", "properties": schemaProps,
			},
			"concurrency_limit": 3,
			"schedules":         []any{map[string]any{"schedule": map[string]any{"cron": "0 6 * * *", "timezone": "UTC"}, "active": true}},
		}},
		{p + "_etl.hourly", p + "_etl", "hourly", map[string]any{
			"tags":      []string{"demo"},
			"paused":    true,
			"schedules": []any{map[string]any{"schedule": map[string]any{"interval": 3600, "anchor_date": "2024-01-01T00:00:00Z", "timezone": "UTC"}}},
		}},
		{p + "_legacy_sales", p + "_sales", "report", map[string]any{
			"tags":      []string{"finance", prefect.DAGTagPrefix + p + "_legacy_sales"},
			"schedules": []any{map[string]any{"schedule": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", "timezone": "UTC"}}},
		}},
		{p + "_sales.adhoc", p + "_sales", "adhoc", nil},
		{p + "_ml.train", p + "_ml", "train", map[string]any{
			"tags":      []string{"ml", "squad-" + p},
			"paused":    true,
			"schedules": []any{map[string]any{"schedule": map[string]any{"cron": "30 2 * * 1-5", "timezone": "Europe/Berlin"}}},
		}},
		{p + "_scoring", p + "_ml", "score", map[string]any{
			"tags":      []string{"ml", "finance", "squad-" + p},
			"schedules": []any{map[string]any{"schedule": map[string]any{"interval": 86400}}},
		}},
	}
	for _, s := range seeds {
		d, err := seed.Deployment(ctx, s.flow, s.name, s.extra)
		if err != nil {
			t.Fatal(err)
		}
		f.deps[s.dagID] = d
		f.ids = append(f.ids, s.dagID)
	}
	sort.Strings(f.ids)
	f.gw = harness.StartGateway(t, prefectServer.URL, func(o *gateway.Options, _ *prefect.Options) {
		o.DAGAliases = map[string]string{p + "_scoring": p + "_ml/score"}
		o.DAGOwners = map[string][]string{p + "_scoring": {"alice", "bob"}}
	})
	f.api = harness.NewAPI(t, f.gw.URL)
	return f
}

type dagsPageJSON struct {
	DAGs         []map[string]any `json:"dags"`
	TotalEntries *int             `json:"total_entries"`
}

func (f *dagsFixture) list(t *testing.T, query string) ([]string, int) {
	t.Helper()
	res := f.api.Get("/dags" + query)
	if res.Status != http.StatusOK {
		t.Fatalf("GET /dags%s: %d %s", query, res.Status, res.Body)
	}
	var pg dagsPageJSON
	res.JSON(t, &pg)
	if pg.TotalEntries == nil {
		t.Fatalf("GET /dags%s: no total_entries: %s", query, res.Body)
	}
	ids := make([]string, 0, len(pg.DAGs))
	for _, d := range pg.DAGs {
		id, _ := d["dag_id"].(string)
		ids = append(ids, id)
	}
	return ids, *pg.TotalEntries
}

func (f *dagsFixture) getDAG(t *testing.T, path string) map[string]any {
	t.Helper()
	res := f.api.Get(path)
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
	}
	return res.Map(t)
}

func TestDAGsListFilters(t *testing.T) {
	f := seedDAGs(t)
	scope := "dag_id_pattern=" + f.prefix
	pick := func(suffixes ...string) []string {
		var out []string
		for _, s := range suffixes {
			out = append(out, f.id(s))
		}
		sort.Strings(out)
		return out
	}
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{"every DAG of the fixture, in dag_id order", "?" + scope, f.ids},
		{"dag_id_pattern ignores case", "?dag_id_pattern=" + strings.ToUpper(f.prefix), f.ids},
		{"dag_id_pattern is a substring", "?dag_id_pattern=" + f.prefix + "_ETL.", pick("_etl.daily", "_etl.hourly")},
		{"dag_id_pattern matches aliases, not the canonical names behind them", "?dag_id_pattern=" + f.prefix + "_sales.report", nil},
		{"paused", "?paused=true&" + scope, pick("_etl.hourly", "_ml.train")},
		{"unpaused", "?paused=false&" + scope, pick("_etl.daily", "_legacy_sales", "_sales.adhoc", "_scoring")},
		{"one tag", "?tags=demo&" + scope, pick("_etl.daily", "_etl.hourly")},
		{"any of several tags", "?tags=finance&tags=warehouse&" + scope, pick("_etl.daily", "_legacy_sales", "_scoring")},
		{"tags and paused", "?tags=ml&paused=true&" + scope, pick("_ml.train")},
		{"gateway tags are not Airflow tags", "?tags=owner:data-team&" + scope, nil},
		{"only_active=false: every deployment is active anyway", "?only_active=false&" + scope, f.ids},
		{"only_active=true", "?only_active=true&" + scope, f.ids},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, total := f.list(t, tc.query)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || total != len(tc.want) {
				t.Errorf("GET /dags%s = %v (total %d); want %v", tc.query, got, total, tc.want)
			}
		})
	}

	t.Run("order_by=-dag_id", func(t *testing.T) {
		got, _ := f.list(t, "?order_by=-dag_id&"+scope)
		want := append([]string{}, f.ids...)
		sort.Sort(sort.Reverse(sort.StringSlice(want)))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("descending = %v; want %v", got, want)
		}
	})

	t.Run("fields keeps total_entries", func(t *testing.T) {
		res := f.api.Get("/dags?fields=dag_id,is_paused&limit=2&" + scope)
		var pg dagsPageJSON
		res.JSON(t, &pg)
		if pg.TotalEntries == nil || *pg.TotalEntries != 6 || len(pg.DAGs) != 2 {
			t.Fatalf("fields answer: %s", res.Body)
		}
		for _, d := range pg.DAGs {
			if len(d) != 2 || d["dag_id"] == nil || d["is_paused"] == nil {
				t.Errorf("DAG with fields=dag_id,is_paused: %v", d)
			}
		}
	})

	t.Run("every limit from 1 to 7 sees each DAG exactly once", func(t *testing.T) {
		for limit := 1; limit <= 7; limit++ {
			var got []string
			for offset := 0; ; offset += limit {
				ids, total := f.list(t, fmt.Sprintf("?limit=%d&offset=%d&%s", limit, offset, scope))
				if total != len(f.ids) {
					t.Fatalf("limit %d offset %d: total_entries %d; want %d", limit, offset, total, len(f.ids))
				}
				got = append(got, ids...)
				if len(ids) < limit {
					break
				}
			}
			if strings.Join(got, ",") != strings.Join(f.ids, ",") {
				t.Errorf("limit %d pages = %v; want %v", limit, got, f.ids)
			}
		}
	})

	t.Run("the whole server pages to its total without repeats", func(t *testing.T) {
		// Other tests' deployments are there too: every row once, and total_entries rows.
		seen := map[string]int{}
		var total int
		for offset := 0; ; offset += 3 {
			ids, tot := f.list(t, fmt.Sprintf("?limit=3&offset=%d", offset))
			total = tot
			for _, id := range ids {
				seen[id]++
			}
			if len(ids) < 3 {
				break
			}
		}
		rows := 0
		for id, n := range seen {
			rows += n
			if n != 1 && strings.HasPrefix(id, f.prefix) {
				t.Errorf("%s listed %d times", id, n)
			}
		}
		if rows != total {
			t.Errorf("paged %d rows; total_entries says %d", rows, total)
		}
		for _, id := range f.ids {
			if seen[id] != 1 {
				t.Errorf("%s seen %d times in the full listing", id, seen[id])
			}
		}
	})
}

// nextSixUTC is the next 06:00 UTC strictly after now.
func nextSixUTC(now time.Time) time.Time {
	n := time.Date(now.Year(), now.Month(), now.Day(), 6, 0, 0, 0, time.UTC)
	if !n.After(now) {
		n = n.AddDate(0, 0, 1)
	}
	return n
}

func TestDAGsGetAndDetails(t *testing.T) {
	f := seedDAGs(t)
	before := time.Now().UTC()
	daily := f.getDAG(t, "/dags/"+f.id("_etl.daily"))
	after := time.Now().UTC()
	dep := f.deps[f.id("_etl.daily")]
	want := map[string]any{
		"dag_id":                f.id("_etl.daily"),
		"dag_display_name":      f.id("_etl.daily"),
		"is_paused":             false,
		"is_active":             true,
		"is_subdag":             false,
		"fileloc":               "flows/etl.py:etl",
		"file_token":            dep.ID,
		"owners":                []any{"data-team"},
		"description":           "Loads yesterday's orders.",
		"schedule_interval":     map[string]any{"__type": "CronExpression", "value": "0 6 * * *"},
		"timetable_description": "At 06:00",
		"tags":                  []any{map[string]any{"name": "demo"}, map[string]any{"name": "warehouse"}},
		"max_active_runs":       3.0,
		"has_import_errors":     false,
		"root_dag_id":           nil,
	}
	for k, v := range want {
		if fmt.Sprint(daily[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %#v; want %#v", k, daily[k], v)
		}
	}
	// next_dagrun: the next 06:00 UTC (as of the request); its data interval is the day that
	// ends then.
	var next time.Time
	for _, c := range []time.Time{nextSixUTC(before), nextSixUTC(after)} {
		if daily["next_dagrun"] == translate.FormatTime(c) {
			next = c
		}
	}
	if next.IsZero() {
		t.Errorf("next_dagrun = %v; want the next 06:00 UTC after %s", daily["next_dagrun"], before)
	}
	for k, v := range map[string]string{
		"next_dagrun_data_interval_start": translate.FormatTime(next.AddDate(0, 0, -1)),
		"next_dagrun_data_interval_end":   translate.FormatTime(next),
		"next_dagrun_create_after":        translate.FormatTime(next),
	} {
		if daily[k] != v {
			t.Errorf("%s = %v; want %s", k, daily[k], v)
		}
	}

	t.Run("interval schedule", func(t *testing.T) {
		now := time.Now().UTC()
		hourly := f.getDAG(t, "/dags/"+f.id("_etl.hourly"))
		if fmt.Sprint(hourly["schedule_interval"]) != fmt.Sprint(map[string]any{"__type": "TimeDelta", "days": 0.0, "seconds": 3600.0, "microseconds": 0.0}) {
			t.Errorf("schedule_interval = %v", hourly["schedule_interval"])
		}
		if hourly["timetable_description"] != "Every 1 hour" || hourly["is_paused"] != true {
			t.Errorf("hourly = %v", hourly)
		}
		top := now.Truncate(time.Hour).Add(time.Hour)
		if got := hourly["next_dagrun"]; got != translate.FormatTime(top) && got != translate.FormatTime(top.Add(time.Hour)) {
			t.Errorf("next_dagrun = %v; want the next full hour after %s", got, now)
		}
	})

	t.Run("rrule schedule: no Airflow variant, the rule described, its next occurrence", func(t *testing.T) {
		now := time.Now().UTC()
		sales := f.getDAG(t, "/dags/"+f.id("_legacy_sales"))
		if sales["schedule_interval"] != nil || !strings.Contains(fmt.Sprint(sales["timetable_description"]), "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9") {
			t.Errorf("rrule DAG = %v / %v", sales["schedule_interval"], sales["timetable_description"])
		}
		if fmt.Sprint(sales["tags"]) != "[map[name:finance]]" {
			t.Errorf("rrule DAG tags = %v", sales["tags"])
		}
		// Mondays at 09:00 UTC: the next one, and the interval from the one before.
		monday := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC)
		for monday.Weekday() != time.Monday || !monday.After(now) {
			monday = monday.AddDate(0, 0, 1)
		}
		if got := sales["next_dagrun"]; got != translate.FormatTime(monday) && got != translate.FormatTime(monday.AddDate(0, 0, 7)) {
			t.Errorf("next_dagrun = %v; want the next Monday 09:00 UTC (%s)", got, monday)
		}
		next, _ := time.Parse(time.RFC3339, fmt.Sprint(sales["next_dagrun"]))
		if sales["next_dagrun_data_interval_start"] != translate.FormatTime(next.AddDate(0, 0, -7)) {
			t.Errorf("next_dagrun_data_interval_start = %v; want a week before %s", sales["next_dagrun_data_interval_start"], next)
		}
	})

	t.Run("no schedule", func(t *testing.T) {
		adhoc := f.getDAG(t, "/dags/"+f.id("_sales.adhoc"))
		if adhoc["schedule_interval"] != nil || adhoc["timetable_description"] != "Never, external triggers only" ||
			adhoc["next_dagrun"] != nil || fmt.Sprint(adhoc["owners"]) != "[]" || fmt.Sprint(adhoc["tags"]) != "[]" || adhoc["max_active_runs"] != nil {
			t.Errorf("unscheduled DAG = %v", adhoc)
		}
	})

	t.Run("cron in a time zone", func(t *testing.T) {
		train := f.getDAG(t, "/dags/"+f.id("_ml.train")+"/details")
		if train["timezone"] != "Europe/Berlin" || train["timetable_description"] != "At 02:30, Monday through Friday (Europe/Berlin)" {
			t.Errorf("train = %v / %v", train["timezone"], train["timetable_description"])
		}
		next, err := time.Parse(time.RFC3339, fmt.Sprint(train["next_dagrun"]))
		berlin, _ := time.LoadLocation("Europe/Berlin")
		if err != nil || next.In(berlin).Hour() != 2 || next.In(berlin).Minute() != 30 || next.In(berlin).Weekday() == time.Saturday || next.In(berlin).Weekday() == time.Sunday {
			t.Errorf("next_dagrun = %v; want a weekday 02:30 in Berlin", train["next_dagrun"])
		}
	})

	t.Run("configured owners", func(t *testing.T) {
		scoring := f.getDAG(t, "/dags/"+f.id("_scoring"))
		if fmt.Sprint(scoring["owners"]) != "[alice bob]" || scoring["timetable_description"] != "Every 1 day" {
			t.Errorf("scoring = %v / %v", scoring["owners"], scoring["timetable_description"])
		}
	})

	t.Run("details", func(t *testing.T) {
		d := f.getDAG(t, "/dags/"+f.id("_etl.daily")+"/details")
		if d["dag_id"] != f.id("_etl.daily") || d["timezone"] != "UTC" || d["catchup"] != false || d["start_date"] != translate.FormatTime(*dep.Created) {
			t.Errorf("details = %v", d)
		}
		params, _ := d["params"].(map[string]any)
		batch, _ := params["batch_size"].(map[string]any)
		out, _ := params["output_dir"].(map[string]any)
		if batch["__class"] != "airflow.models.param.Param" || batch["value"] != 500.0 || batch["description"] != "Rows per batch" ||
			out["value"] != "/tmp/results" || fmt.Sprint(batch["schema"].(map[string]any)["type"]) != "integer" {
			t.Errorf("params = %v", params)
		}
	})

	t.Run("fields", func(t *testing.T) {
		d := f.getDAG(t, "/dags/"+f.id("_etl.daily")+"?fields=dag_id,is_paused")
		if len(d) != 2 || d["dag_id"] != f.id("_etl.daily") {
			t.Errorf("fields = %v", d)
		}
		d = f.getDAG(t, "/dags/"+f.id("_etl.daily")+"/details?fields=params,timezone")
		if len(d) != 2 || d["timezone"] != "UTC" {
			t.Errorf("details fields = %v", d)
		}
	})

	t.Run("unknown DAG", func(t *testing.T) {
		for _, path := range []string{"/dags/" + f.id("_nope"), "/dags/" + f.id("_nope") + "/details", "/dags/" + f.id("_nope") + "/tasks"} {
			res := f.api.Get(path)
			var p gateway.Problem
			res.JSON(t, &p)
			if res.Status != http.StatusNotFound || p.Title != "DAG not found" || !strings.Contains(p.Detail, f.id("_nope")) {
				t.Errorf("%s = %d %s", path, res.Status, res.Body)
			}
		}
	})
}

func TestDAGsAliases(t *testing.T) {
	f := seedDAGs(t)
	for _, tc := range []struct {
		alias, canonical string
		deployment       wire.Deployment
	}{
		{f.id("_scoring"), f.id("_ml.score"), f.deps[f.id("_scoring")]},               // from the configuration
		{f.id("_legacy_sales"), f.id("_sales.report"), f.deps[f.id("_legacy_sales")]}, // from the airflow-dag-id: tag
	} {
		d := f.getDAG(t, "/dags/"+tc.alias)
		if d["dag_id"] != tc.alias || d["file_token"] != tc.deployment.ID {
			t.Errorf("GET /dags/%s = %v", tc.alias, d)
		}
		// One DAG, one id: the canonical name of an aliased deployment is not a DAG.
		if res := f.api.Get("/dags/" + tc.canonical); res.Status != http.StatusNotFound {
			t.Errorf("GET /dags/%s (aliased) = %d; want 404", tc.canonical, res.Status)
		}
		ids, _ := f.list(t, "?dag_id_pattern="+tc.alias)
		if strings.Join(ids, ",") != tc.alias {
			t.Errorf("listing %s = %v", tc.alias, ids)
		}
	}
	// A fresh gateway resolves the aliases cold (no listing warmed its cache).
	cold := harness.NewAPI(t, harness.StartGateway(t, prefectServer.URL, func(o *gateway.Options, _ *prefect.Options) {
		o.DAGAliases = map[string]string{f.id("_scoring"): f.id("_ml") + "/score"}
	}).URL)
	for _, id := range []string{f.id("_scoring"), f.id("_legacy_sales"), f.id("_etl.daily")} {
		if res := cold.Get("/dags/" + id); res.Status != http.StatusOK || res.Map(t)["dag_id"] != id {
			t.Errorf("cold GET /dags/%s = %d %s", id, res.Status, res.Body)
		}
	}
}

func (f *dagsFixture) prefectPaused(t *testing.T, dagID string) bool {
	t.Helper()
	d, err := seed.C.ReadDeployment(testCtx(t), f.deps[dagID].ID)
	if err != nil {
		t.Fatal(err)
	}
	return d.Paused
}

func TestDAGsPauseAndUnpause(t *testing.T) {
	f := seedDAGs(t)
	daily := f.id("_etl.daily")
	for _, tc := range []struct {
		query, body string
		paused      bool
	}{
		{"", `{"is_paused": true}`, true},
		{"?update_mask=is_paused", `{"is_paused": false}`, false},
		{"?update_mask=is_paused", `{"is_paused": true}`, true},
		{"", `{"is_paused": false}`, false},
	} {
		res := f.api.Do(http.MethodPatch, "/dags/"+daily+tc.query, tc.body)
		if res.Status != http.StatusOK {
			t.Fatalf("PATCH %s %s: %d %s", tc.query, tc.body, res.Status, res.Body)
		}
		if got := res.Map(t)["is_paused"]; got != tc.paused {
			t.Errorf("PATCH answered is_paused=%v; want %v", got, tc.paused)
		}
		if got := f.prefectPaused(t, daily); got != tc.paused {
			t.Errorf("Prefect's paused = %v after PATCH %s; want %v", got, tc.body, tc.paused)
		}
		if got := f.getDAG(t, "/dags/"+daily)["is_paused"]; got != tc.paused {
			t.Errorf("GET after PATCH: is_paused = %v; want %v", got, tc.paused)
		}
	}

	t.Run("a change made in Prefect shows at once", func(t *testing.T) {
		if err := seed.C.PauseDeployment(testCtx(t), f.deps[daily].ID); err != nil {
			t.Fatal(err)
		}
		if got := f.getDAG(t, "/dags/"+daily)["is_paused"]; got != true {
			t.Errorf("is_paused = %v after Prefect paused it", got)
		}
		if err := seed.C.ResumeDeployment(testCtx(t), f.deps[daily].ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bulk: the selected page changes, total_entries counts every match", func(t *testing.T) {
		// The fixture's unpaused DAGs in dag_id order; pause the 2nd and 3rd of all six.
		page := f.ids[1:3]
		res := f.api.Do(http.MethodPatch, "/dags?dag_id_pattern="+f.prefix+"&limit=2&offset=1&update_mask=is_paused", `{"is_paused": true}`)
		if res.Status != http.StatusOK {
			t.Fatalf("bulk pause: %d %s", res.Status, res.Body)
		}
		var pg dagsPageJSON
		res.JSON(t, &pg)
		var got []string
		for _, d := range pg.DAGs {
			got = append(got, fmt.Sprint(d["dag_id"]))
			if d["is_paused"] != true {
				t.Errorf("%v answered is_paused=%v", d["dag_id"], d["is_paused"])
			}
		}
		if strings.Join(got, ",") != strings.Join(page, ",") || pg.TotalEntries == nil || *pg.TotalEntries != 6 {
			t.Errorf("bulk page = %v total %v; want %v total 6", got, pg.TotalEntries, page)
		}
		for _, id := range f.ids {
			want := id == page[0] || id == page[1] || id == f.id("_ml.train") || id == f.id("_etl.hourly")
			if got := f.prefectPaused(t, id); got != want {
				t.Errorf("Prefect's paused for %s = %v; want %v", id, got, want)
			}
		}
		// "~" selects every DAG; with tags, only the tagged ones (a tag of this fixture's
		// own, so that no other test's DAG changes).
		res = f.api.Do(http.MethodPatch, "/dags?dag_id_pattern=~&tags=squad-"+f.prefix+"&limit=100", `{"is_paused": false}`)
		res.JSON(t, &pg)
		for _, d := range pg.DAGs {
			if d["is_paused"] != false {
				t.Errorf("%v answered is_paused=%v", d["dag_id"], d["is_paused"])
			}
		}
		for _, id := range []string{f.id("_ml.train"), f.id("_scoring")} {
			if f.prefectPaused(t, id) {
				t.Errorf("%s still paused after unpausing its tag", id)
			}
		}
		if !f.prefectPaused(t, f.id("_etl.hourly")) {
			t.Errorf("%s (not tagged) was unpaused", f.id("_etl.hourly"))
		}
	})

	t.Run("refusals, as Airflow answers them", func(t *testing.T) {
		// Airflow answers these 400s without documenting them for these operations, so
		// they are checked here by hand instead of by the spec validator.
		raw := *f.api
		raw.NoValidate = true
		for _, tc := range []struct{ path, body, detail string }{
			{"/dags/" + daily + "?update_mask=description", `{"is_paused": true}`, "Only `is_paused` field can be updated through the REST API"},
			{"/dags/" + daily + "?update_mask=is_paused,tags", `{"is_paused": true}`, "Only `is_paused` field can be updated through the REST API"},
			{"/dags?dag_id_pattern=~&update_mask=owners", `{"is_paused": true}`, "Only `is_paused` field can be updated through the REST API"},
			{"/dags?limit=1", `{"is_paused": true}`, "dag_id_pattern"},
			{"/dags/" + daily, `{"is_paused": "yes"}`, "is_paused"},
		} {
			res := raw.Do(http.MethodPatch, tc.path, tc.body)
			var p gateway.Problem
			res.JSON(t, &p)
			if res.Status != http.StatusBadRequest || p.Status != 400 || p.Type == "" || !strings.Contains(p.Detail, tc.detail) ||
				!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("PATCH %s %s = %d %s; want a 400 problem about %q", tc.path, tc.body, res.Status, res.Body, tc.detail)
			}
		}
		if f.prefectPaused(t, daily) {
			t.Errorf("a refused PATCH paused %s", daily)
		}
		res := f.api.Do(http.MethodPatch, "/dags/"+f.id("_nope"), `{"is_paused": true}`)
		if res.Status != http.StatusNotFound {
			t.Errorf("PATCH of an unknown DAG = %d %s", res.Status, res.Body)
		}
	})
}

func TestDAGsTasks(t *testing.T) {
	f := seedDAGs(t)
	ctx := testCtx(t)
	dep := f.deps[f.id("_etl.daily")]
	older, err := seed.FlowRun(ctx, dep.ID, "older", time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.TaskRun(ctx, older.ID, "stale-00000000", "0", wire.Completed); err != nil {
		t.Fatal(err)
	}
	run, err := seed.FlowRun(ctx, dep.ID, "with-tasks", time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	extract, err := seed.TaskRun(ctx, run.ID, "extract-1a2b3c4d", "0", wire.Completed)
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range []string{"transform-5e6f7a8b", "transform-5e6f7a8b", "load-9c0d1e2f"} {
		body := map[string]any{
			"name": fmt.Sprintf("%s-%d", strings.Split(key, "-")[0], i), "flow_run_id": run.ID, "task_key": key, "dynamic_key": fmt.Sprint(i),
			"state":            wire.StateCreate{Type: wire.Completed},
			"task_inputs":      map[string]any{"rows": []any{map[string]any{"input_type": "task_run", "id": extract.ID}}},
			"empirical_policy": map[string]any{"retries": 2, "retry_delay": 30},
		}
		if key == "load-9c0d1e2f" {
			body["task_inputs"] = map[string]any{}
		}
		if _, err := seed.C.CreateTaskRun(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	// The newest run has no task runs yet: the tasks come from the one before.
	if _, err := seed.FlowRun(ctx, dep.ID, "just-triggered", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}

	res := f.api.Get("/dags/" + f.id("_etl.daily") + "/tasks")
	if res.Status != http.StatusOK {
		t.Fatalf("tasks: %d %s", res.Status, res.Body)
	}
	var got struct {
		Tasks []translate.Task `json:"tasks"`
	}
	res.JSON(t, &got)
	var ids []string
	byID := map[string]translate.Task{}
	for _, tk := range got.Tasks {
		ids = append(ids, tk.TaskID)
		byID[tk.TaskID] = tk
	}
	if strings.Join(ids, ",") != "extract-1a2b3c4d,load-9c0d1e2f,transform-5e6f7a8b" {
		t.Fatalf("task ids = %v; want the latest run's, sorted", ids)
	}
	if ex := byID["extract-1a2b3c4d"]; ex.TaskDisplayName != "extract" || strings.Join(ex.DownstreamTaskIDs, ",") != "transform-5e6f7a8b" || ex.Owner != "data-team" {
		t.Errorf("extract = %+v", ex)
	}
	if tr := byID["transform-5e6f7a8b"]; !tr.IsMapped || tr.Retries != 2 || tr.RetryDelay.Seconds != 30 {
		t.Errorf("transform = %+v", tr)
	}
	res = f.api.Get("/dags/" + f.id("_etl.daily") + "/tasks?order_by=-task_id")
	res.JSON(t, &got)
	if len(got.Tasks) != 3 || got.Tasks[0].TaskID != "transform-5e6f7a8b" {
		t.Errorf("order_by=-task_id: %s", res.Body)
	}
	// One task: the one the list holds; a task the DAG does not have is a 404.
	res = f.api.Get("/dags/" + f.id("_etl.daily") + "/tasks/transform-5e6f7a8b")
	var one translate.Task
	res.JSON(t, &one)
	if res.Status != http.StatusOK || one.TaskID != "transform-5e6f7a8b" || !one.IsMapped || one.Retries != 2 {
		t.Errorf("task transform-5e6f7a8b = %d %s", res.Status, res.Body)
	}
	if res := f.api.Get("/dags/" + f.id("_etl.daily") + "/tasks/stale-00000000"); res.Status != http.StatusNotFound {
		t.Errorf("a task of an older run only = %d %s; want 404", res.Status, res.Body)
	}
	// A DAG that never ran: an empty collection.
	res = f.api.Get("/dags/" + f.id("_sales.adhoc") + "/tasks")
	var empty map[string]json.RawMessage
	res.JSON(t, &empty)
	if res.Status != http.StatusOK || string(empty["tasks"]) != "[]" {
		t.Errorf("tasks of a DAG that never ran = %d %s", res.Status, res.Body)
	}
}
