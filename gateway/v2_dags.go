package gateway

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"airflow-prefect-gateway/translate"
)

// DAGs under /api/v2: the same deployments and the same Prefect calls as /api/v1's dags.go
// (its matching, readFresh, setDAGPaused, pauseMatching, dagTasks), with Airflow 3's
// parameters and field sets. Order: dag_id and dag_display_name (which Prefect gives no
// other value than the dag_id) and next_dagrun, sorted in the gateway over the matching
// DAGs it already reads; Airflow's other keys (state, start_date, last_run_*) would need a
// run lookup per DAG and answer Airflow's 400.

func (s *Server) registerV2DAGRoutes(g *echo.Group) {
	d := newDAGAPI(s)
	s.routeV2(g, http.MethodGet, "/dags", d.listV2, RoleViewer)
	s.routeV2(g, http.MethodPatch, "/dags", d.patchManyV2, RoleUser)
	s.routeV2(g, http.MethodGet, "/dags/:dag_id", d.getV2, RoleViewer)
	s.routeV2(g, http.MethodPatch, "/dags/:dag_id", d.patchV2, RoleUser)
	s.routeV2(g, http.MethodGet, "/dags/:dag_id/details", d.detailsV2, RoleViewer)
	s.routeV2(g, http.MethodGet, "/dags/:dag_id/tasks", d.tasksV2, RoleViewer)
	s.routeV2(g, http.MethodGet, "/dags/:dag_id/tasks/:task_id", d.taskV2, RoleViewer)
}

type v2DAGCollection struct {
	DAGs         []v2DAG `json:"dags"`
	TotalEntries int     `json:"total_entries"`
}

// dagOrderKeys are the order_by keys /api/v2/dags sorts by.
var dagOrderKeys = []string{"dag_id", "dag_display_name", "next_dagrun"}

// v2DAGFilter reads the DAG filters of GET and PATCH /api/v2/dags that the neutral filter
// holds; the display-name patterns and owners are v2DAGExtra's.
func v2DAGFilter(c echo.Context) translate.DAGFilter {
	q := c.QueryParams()
	return translate.DAGFilter{
		Tags:           v2List(q, "tags"),
		AllTags:        q.Get("tags_match_mode") == "all",
		Paused:         v2Bool(q, "paused"),
		Patterns:       v2Patterns(q, "dag_id_pattern"),
		PrefixPatterns: v2PrefixPatterns(q, "dag_id_prefix_pattern"),
	}
}

// v2DAGExtra are the filters of /api/v2/dags beyond the neutral ones, checked on each DAG:
// owners, and the display-name patterns (the display name is the dag_id).
type v2DAGExtra struct {
	owners, patterns, prefixes []string
}

func v2DAGExtraOf(c echo.Context) v2DAGExtra {
	q := c.QueryParams()
	return v2DAGExtra{owners: v2List(q, "owners"), patterns: v2Patterns(q, "dag_display_name_pattern"),
		prefixes: v2PrefixPatterns(q, "dag_display_name_prefix_pattern")}
}

func (x v2DAGExtra) matches(dag v2DAG) bool {
	if len(x.owners) > 0 && !anyIn(x.owners, dag.Owners) {
		return false
	}
	f := translate.DAGFilter{Patterns: x.patterns, PrefixPatterns: x.prefixes}
	return f.Matches(dag.DAGDisplayName, dag.IsPaused, nil)
}

func (d *dagAPI) listV2(c echo.Context) error {
	q := c.QueryParams()
	order, err := v2OrderBy(q, []string{"dag_id"}, dagOrderKeys, nil)
	if err != nil {
		return err
	}
	f := v2DAGFilter(c)
	ctx := c.Request().Context()
	all, err := d.matching(ctx, principalOf(c), f, false)
	if err != nil {
		return err
	}
	extra := v2DAGExtraOf(c)
	env := d.env()
	dags := make([]v2DAG, 0, len(all))
	for _, res := range all {
		if dag := toV2DAG(translate.ToDAG(d.source(res), env), deploymentOf(res)); extra.matches(dag) {
			dags = append(dags, dag)
		}
	}
	sortV2DAGs(dags, order)
	pg := v2Page(q, d.s.opts.MaxPageLimit)
	lo, hi := translate.PageBounds(len(dags), pg)
	return c.JSON(http.StatusOK, v2DAGCollection{DAGs: dags[lo:hi], TotalEntries: len(dags)})
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		if contains(have, w) {
			return true
		}
	}
	return false
}

// sortV2DAGs orders DAGs by the order_by keys; dag_id breaks every tie, as the primary key
// does in Airflow's queries. A DAG without a next run sorts last ascending (SQL's NULLS
// LAST for ascending in PostgreSQL), first descending.
func sortV2DAGs(dags []v2DAG, order []translate.OrderBy) {
	sort.SliceStable(dags, func(i, j int) bool {
		a, b := dags[i], dags[j]
		for _, o := range order {
			var c int
			switch o.Field {
			case "next_dagrun":
				c = compareTimes(a.nextRun, b.nextRun)
			default: // dag_id, dag_display_name
				c = strings.Compare(a.DAGID, b.DAGID)
			}
			if c != 0 {
				return (c < 0) != o.Desc
			}
		}
		return a.DAGID < b.DAGID
	})
}

func compareTimes(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}

func (d *dagAPI) getV2(c echo.Context) error {
	res, err := d.readFresh(c.Request().Context(), principalOf(c), decodedPathParam(c, "dag_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toV2DAG(translate.ToDAG(d.source(res), d.env()), deploymentOf(res)))
}

func (d *dagAPI) detailsV2(c echo.Context) error {
	res, err := d.readFresh(c.Request().Context(), principalOf(c), decodedPathParam(c, "dag_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toV2DAGDetails(translate.ToDAGDetail(d.source(res), d.env()), res))
}

// v2PausedBody reads DAGPatchBody (the validator has checked it: {"is_paused": bool}) and
// update_mask, which may name is_paused only.
func v2PausedBody(c echo.Context) (bool, error) {
	for _, f := range translate.ParseUpdateMask(c.QueryParams()["update_mask"]) {
		if f != "is_paused" {
			return false, v2BadRequest("Only `is_paused` field can be updated through the REST API")
		}
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return false, v2BadRequest("The request body could not be read.")
	}
	paused, err := translate.ParseDAGPatch(body, nil)
	if err != nil {
		return false, v2BadRequest(err.Error())
	}
	return paused, nil
}

func (d *dagAPI) patchV2(c echo.Context) error {
	paused, err := v2PausedBody(c)
	if err != nil {
		return err
	}
	res, err := d.setDAGPaused(c.Request().Context(), principalOf(c), decodedPathParam(c, "dag_id"), paused)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toV2DAG(translate.ToDAG(d.source(res), d.env()), deploymentOf(res)))
}

// patchManyV2 is PATCH /api/v2/dags: dag_id_pattern is required as in Airflow ("~" for
// every DAG), and the same filters as the list select the DAGs.
func (d *dagAPI) patchManyV2(c echo.Context) error {
	paused, err := v2PausedBody(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	changed, total, err := d.pauseMatching(c.Request().Context(), principalOf(c), v2DAGFilter(c), v2Page(q, d.s.opts.MaxPageLimit), paused)
	if err != nil {
		return err
	}
	out := v2DAGCollection{DAGs: make([]v2DAG, 0, len(changed)), TotalEntries: total}
	env := d.env()
	for _, res := range changed {
		out.DAGs = append(out.DAGs, toV2DAG(translate.ToDAG(d.source(res), env), deploymentOf(res)))
	}
	return c.JSON(http.StatusOK, out)
}

// --- tasks ---

// v2Task is Airflow 3's TaskResponse.
type v2Task struct {
	TaskID                  string                   `json:"task_id"`
	TaskDisplayName         string                   `json:"task_display_name"`
	Owner                   string                   `json:"owner"`
	StartDate               *string                  `json:"start_date"`
	EndDate                 *string                  `json:"end_date"`
	TriggerRule             string                   `json:"trigger_rule"`
	DependsOnPast           bool                     `json:"depends_on_past"`
	WaitForDownstream       bool                     `json:"wait_for_downstream"`
	Retries                 float64                  `json:"retries"`
	Queue                   *string                  `json:"queue"`
	Pool                    string                   `json:"pool"`
	PoolSlots               float64                  `json:"pool_slots"`
	ExecutionTimeout        *translate.TimeDelta     `json:"execution_timeout"`
	RetryDelay              *translate.TimeDelta     `json:"retry_delay"`
	RetryExponentialBackoff float64                  `json:"retry_exponential_backoff"`
	PriorityWeight          float64                  `json:"priority_weight"`
	WeightRule              string                   `json:"weight_rule"`
	UIColor                 string                   `json:"ui_color"`
	UIFgcolor               string                   `json:"ui_fgcolor"`
	TemplateFields          []string                 `json:"template_fields"`
	DownstreamTaskIDs       []string                 `json:"downstream_task_ids"`
	DocMD                   *string                  `json:"doc_md"`
	OperatorName            string                   `json:"operator_name"`
	Params                  map[string]any           `json:"params"`
	ClassRef                translate.ClassReference `json:"class_ref"`
	IsMapped                bool                     `json:"is_mapped"`
	ExtraLinks              []string                 `json:"extra_links"`
}

type v2TaskCollection struct {
	Tasks        []v2Task `json:"tasks"`
	TotalEntries int      `json:"total_entries"`
}

func toV2Task(t translate.Task) v2Task {
	delay := t.RetryDelay
	out := v2Task{
		TaskID: t.TaskID, TaskDisplayName: t.TaskDisplayName, Owner: t.Owner,
		StartDate: translate.TimeV2Ptr(t.StartDate), EndDate: translate.TimeV2Ptr(t.EndDate),
		TriggerRule: t.TriggerRule, DependsOnPast: t.DependsOnPast, WaitForDownstream: t.WaitForDownstream,
		Retries: float64(t.Retries), Queue: t.Queue, Pool: t.Pool, PoolSlots: float64(t.PoolSlots),
		ExecutionTimeout: t.ExecutionTimeout, RetryDelay: &delay, PriorityWeight: float64(t.PriorityWeight),
		WeightRule: t.WeightRule, UIColor: t.UIColor, UIFgcolor: t.UIFgcolor, TemplateFields: t.TemplateFields,
		DownstreamTaskIDs: t.DownstreamTaskIDs, DocMD: t.DocMD, OperatorName: t.ClassRef.ClassName,
		ClassRef: t.ClassRef, IsMapped: t.IsMapped, ExtraLinks: []string{},
	}
	if t.RetryExponentialBackoff {
		out.RetryExponentialBackoff = 2 // Airflow 3's multiplier for the old `True`
	}
	if out.TemplateFields == nil {
		out.TemplateFields = []string{}
	}
	if out.DownstreamTaskIDs == nil {
		out.DownstreamTaskIDs = []string{}
	}
	return out
}

func (d *dagAPI) tasksV2(c echo.Context) error {
	order, err := translate.ParseTaskOrderBy(c.QueryParam("order_by"))
	if err != nil {
		return v2BadRequest(err.Error())
	}
	tasks, err := d.dagTasks(c, decodedPathParam(c, "dag_id"))
	if err != nil {
		return err
	}
	translate.SortTasks(tasks, order)
	out := v2TaskCollection{Tasks: make([]v2Task, 0, len(tasks)), TotalEntries: len(tasks)}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, toV2Task(t))
	}
	return c.JSON(http.StatusOK, out)
}

func (d *dagAPI) taskV2(c echo.Context) error {
	taskID := decodedPathParam(c, "task_id")
	tasks, err := d.dagTasks(c, decodedPathParam(c, "dag_id"))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.TaskID == taskID {
			return c.JSON(http.StatusOK, toV2Task(t))
		}
	}
	return v2NotFound("Task with id " + taskID + " was not found")
}
