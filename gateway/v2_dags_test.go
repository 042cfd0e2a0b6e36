package gateway

import (
	"net/http"
	"reflect"
	"testing"
)

type v2DAGList struct {
	DAGs []struct {
		DAGID    string   `json:"dag_id"`
		IsPaused bool     `json:"is_paused"`
		Owners   []string `json:"owners"`
		Tags     []struct {
			Name  string `json:"name"`
			DAGID string `json:"dag_id"`
		} `json:"tags"`
	} `json:"dags"`
	Total int `json:"total_entries"`
}

func (l v2DAGList) ids() []string {
	out := []string{}
	for _, d := range l.DAGs {
		out = append(out, d.DAGID)
	}
	return out
}

func TestV2DAGList(t *testing.T) {
	e := newV2Env(t)
	e.fake.addDeployment("etl", "hourly", "warehouse", "owner:ana")
	e.fake.addDeployment("reports", "daily", "warehouse", "finance")
	e.fake.addDeployment("ml", "train", "finance")
	e.login("viewer")
	for _, tc := range []struct {
		query string
		want  []string
		total int
	}{
		{"", []string{"etl.daily", "etl.hourly", "ml.train", "reports.daily"}, 4},
		{"?limit=2&offset=1", []string{"etl.hourly", "ml.train"}, 4},
		{"?limit=0", []string{}, 4},
		{"?limit=1000", []string{"etl.daily", "etl.hourly", "ml.train", "reports.daily"}, 4},
		{"?order_by=-dag_id", []string{"reports.daily", "ml.train", "etl.hourly", "etl.daily"}, 4},
		{"?order_by=-dag_display_name&order_by=dag_id", []string{"reports.daily", "ml.train", "etl.hourly", "etl.daily"}, 4},
		{"?tags=warehouse&tags=finance", []string{"etl.hourly", "ml.train", "reports.daily"}, 3},
		{"?tags=warehouse&tags=finance&tags_match_mode=all", []string{"reports.daily"}, 1},
		{"?dag_id_pattern=daily", []string{"etl.daily", "reports.daily"}, 2},
		{"?dag_id_pattern=train|hour", []string{"etl.hourly", "ml.train"}, 2},
		{"?dag_id_pattern=~", []string{"etl.daily", "etl.hourly", "ml.train", "reports.daily"}, 4},
		{"?dag_id_prefix_pattern=etl.", []string{"etl.daily", "etl.hourly"}, 2},
		{"?dag_display_name_pattern=%25ly", []string{"etl.daily", "etl.hourly", "reports.daily"}, 3},
		{"?owners=ana", []string{"etl.hourly"}, 1},
		{"?paused=false&exclude_stale=true&unknown=ignored", []string{"etl.daily", "etl.hourly", "ml.train", "reports.daily"}, 4},
		{"?paused=true", []string{}, 0},
	} {
		a := e.do(http.MethodGet, "/api/v2/dags"+tc.query, "")
		if a.status != 200 {
			t.Errorf("%s: %d %s", tc.query, a.status, a.body)
			continue
		}
		var l v2DAGList
		a.decode(t, &l)
		if !reflect.DeepEqual(l.ids(), tc.want) || l.Total != tc.total {
			t.Errorf("%s: %v (%d), want %v (%d)", tc.query, l.ids(), l.Total, tc.want, tc.total)
		}
	}
	var l v2DAGList
	e.do(http.MethodGet, "/api/v2/dags?dag_id_pattern=hourly", "").decode(t, &l)
	if d := l.DAGs[0]; len(d.Tags) != 1 || d.Tags[0].Name != "warehouse" || d.Tags[0].DAGID != "etl.hourly" || !reflect.DeepEqual(d.Owners, []string{"ana"}) {
		t.Errorf("tags and owners: %+v", d)
	}
	for _, tc := range []struct {
		query  string
		status int
		detail any
	}{
		{"?order_by=state", 400, "Ordering with 'state' is disallowed or the attribute does not exist on the model"},
		{"?limit=-1", 422, []any{map[string]any{"type": "greater_than_equal", "loc": []any{"query", "limit"},
			"msg": "Input should be greater than or equal to 0", "input": "-1", "ctx": map[string]any{"ge": float64(0)}}}},
		{"?paused=maybe", 422, []any{map[string]any{"type": "bool_parsing", "loc": []any{"query", "paused"},
			"msg": "Input should be a valid boolean, unable to interpret input", "input": "maybe"}}},
	} {
		a := e.do(http.MethodGet, "/api/v2/dags"+tc.query, "")
		if a.status != tc.status || !reflect.DeepEqual(a.detail(t), tc.detail) {
			t.Errorf("%s: %d %s", tc.query, a.status, a.body)
		}
	}
}

// A user limited to some DAGs sees only those, and the others are "not found".
func TestV2DAGsOfALimitedUser(t *testing.T) {
	e := newV2Env(t)
	e.fake.addDeployment("payroll", "monthly")
	e.login("etl_viewer")
	var l v2DAGList
	e.do(http.MethodGet, "/api/v2/dags", "").decode(t, &l)
	if !reflect.DeepEqual(l.ids(), []string{"etl.daily"}) || l.Total != 1 {
		t.Errorf("list: %v %d", l.ids(), l.Total)
	}
	for _, p := range []string{"/api/v2/dags/payroll.monthly", "/api/v2/dags/payroll.monthly/details", "/api/v2/dags/payroll.monthly/tasks"} {
		if a := e.do(http.MethodGet, p, ""); a.status != 404 || a.detail(t) != "The Dag with ID: `payroll.monthly` was not found" {
			t.Errorf("%s: %d %s", p, a.status, a.body)
		}
	}
}

func TestV2DAGReadAndPause(t *testing.T) {
	e := newV2Env(t)
	e.fake.addDeployment("etl", "hourly")
	e.login("user")
	var dag map[string]any
	a := e.do(http.MethodGet, "/api/v2/dags/etl.daily", "")
	a.decode(t, &dag)
	if a.status != 200 || dag["dag_id"] != "etl.daily" || dag["is_stale"] != false || dag["file_token"] != e.dep.ID {
		t.Fatalf("get: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodGet, "/api/v2/dags/etl.daily/details", "")
	a.decode(t, &dag)
	if v, _ := dag["latest_dag_version"].(map[string]any); a.status != 200 || v["id"] != e.dep.ID || v["version_number"] != float64(1) {
		t.Errorf("details: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodPatch, "/api/v2/dags/etl.daily", `{"is_paused":true}`)
	a.decode(t, &dag)
	if a.status != 200 || dag["is_paused"] != true || !e.fake.deploymentByID(e.dep.ID).Paused {
		t.Errorf("pause: %d %s", a.status, a.body)
	}
	a = e.do(http.MethodPatch, "/api/v2/dags?dag_id_pattern=~&limit=1", `{"is_paused":true}`)
	var l v2DAGList
	a.decode(t, &l)
	if a.status != 200 || l.Total != 2 || len(l.DAGs) != 1 || !l.DAGs[0].IsPaused {
		t.Errorf("bulk pause: %d %s", a.status, a.body)
	}
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/api/v2/dags/etl.daily", `{"is_paused":true,"tags":[]}`, 422},
		{"/api/v2/dags/etl.daily", `{"is_paused":"yes"}`, 422},
		{"/api/v2/dags/etl.daily", `{}`, 422},
		{"/api/v2/dags/etl.daily", `{"is_paused"`, 422},
		{"/api/v2/dags/etl.daily?update_mask=description", `{"is_paused":true}`, 400},
		{"/api/v2/dags/nope", `{"is_paused":true}`, 404},
	} {
		if a := e.do(http.MethodPatch, tc.path, tc.body); a.status != tc.status {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, a.status, a.body)
		}
	}
	if a := e.do(http.MethodGet, "/api/v2/dags/etl.daily/tasks/extract", ""); a.status != 404 || a.detail(t) != "Task with id extract was not found" {
		t.Errorf("unknown task: %d %s", a.status, a.body)
	}
}
