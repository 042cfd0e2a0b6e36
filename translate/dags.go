package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"airflow-prefect-gateway/prefect/wire"
)

// Prefect deployments as Airflow DAGs (DESIGN §3): the DAG and DAGDetail objects, the
// query parameters of GET and PATCH /dags, and the PATCH body.

// DAGIDTagPrefix marks the deployment tag that declares a dag_id ("airflow-dag-id:legacy").
// It equals prefect.DAGTagPrefix (a gateway test keeps them equal); translate cannot import
// package prefect.
const DAGIDTagPrefix = "airflow-dag-id:"

// OwnerTagPrefix marks a deployment tag that names an Airflow owner ("owner:data-team").
const OwnerTagPrefix = "owner:"

// Tag is Airflow's DAG tag object.
type Tag struct {
	Name string `json:"name"`
}

// DAG is Airflow's DAG object. Every field is always present; Airflow-only concepts the
// gateway has no source for are null, as Airflow reports them when unset.
type DAG struct {
	DAGID                       string   `json:"dag_id"`
	DAGDisplayName              string   `json:"dag_display_name"`
	RootDAGID                   *string  `json:"root_dag_id"`
	IsPaused                    bool     `json:"is_paused"`
	IsActive                    bool     `json:"is_active"`
	IsSubDAG                    bool     `json:"is_subdag"`
	LastParsedTime              *string  `json:"last_parsed_time"`
	LastPickled                 *string  `json:"last_pickled"`
	LastExpired                 *string  `json:"last_expired"`
	SchedulerLock               *bool    `json:"scheduler_lock"`
	PickleID                    *string  `json:"pickle_id"`
	DefaultView                 *string  `json:"default_view"`
	Fileloc                     string   `json:"fileloc"`
	FileToken                   string   `json:"file_token"`
	Owners                      []string `json:"owners"`
	Description                 *string  `json:"description"`
	ScheduleInterval            any      `json:"schedule_interval"` // nil, CronExpression or TimeDelta
	TimetableDescription        *string  `json:"timetable_description"`
	Tags                        []Tag    `json:"tags"`
	MaxActiveTasks              *int     `json:"max_active_tasks"`
	MaxActiveRuns               *int     `json:"max_active_runs"`
	HasTaskConcurrencyLimits    *bool    `json:"has_task_concurrency_limits"`
	HasImportErrors             *bool    `json:"has_import_errors"`
	NextDagrun                  *string  `json:"next_dagrun"`
	NextDagrunDataIntervalStart *string  `json:"next_dagrun_data_interval_start"`
	NextDagrunDataIntervalEnd   *string  `json:"next_dagrun_data_interval_end"`
	NextDagrunCreateAfter       *string  `json:"next_dagrun_create_after"`
	MaxConsecutiveFailedDagRuns *int     `json:"max_consecutive_failed_dag_runs"`
}

// DAGDetail is Airflow's DAGDetail: the DAG plus its definition-level settings.
type DAGDetail struct {
	DAG
	Timezone                  string         `json:"timezone"`
	Catchup                   bool           `json:"catchup"`
	Orientation               string         `json:"orientation"`
	Concurrency               *float64       `json:"concurrency"`
	StartDate                 *string        `json:"start_date"`
	DAGRunTimeout             *TimeDelta     `json:"dag_run_timeout"`
	DatasetExpression         map[string]any `json:"dataset_expression"`
	DocMD                     *string        `json:"doc_md"`
	Params                    map[string]any `json:"params"`
	EndDate                   *string        `json:"end_date"`
	IsPausedUponCreation      *bool          `json:"is_paused_upon_creation"`
	LastParsed                *string        `json:"last_parsed"`
	TemplateSearchPath        []string       `json:"template_search_path"`
	RenderTemplateAsNativeObj bool           `json:"render_template_as_native_obj"`
}

// DAGSource is one deployment with what makes it a DAG.
type DAGSource struct {
	DAGID      string
	FlowName   string
	Deployment wire.Deployment
	// Owners configured for this dag_id; nil means "read the owner: tags".
	Owners []string
}

// DAGEnv is what the mapping needs from outside: the current time (next_dagrun) and the
// time zones of cron schedules.
type DAGEnv struct {
	Now   time.Time
	Zones ZoneLoader
}

const (
	defaultView = "grid" // Airflow 2.10's [webserver] dag_default_view
	paramClass  = "airflow.models.param.Param"
)

// ToDAG maps a deployment to Airflow's DAG.
func ToDAG(src DAGSource, env DAGEnv) DAG {
	d := src.Deployment
	sched := SummarizeSchedules(d.Schedules, env.Now, env.Zones)
	no := false
	view := defaultView
	desc := sched.Description
	zero := 0
	dag := DAG{
		DAGID:                       src.DAGID,
		DAGDisplayName:              src.DAGID, // Airflow's default; Prefect has no display name
		IsPaused:                    d.Paused,
		IsActive:                    true, // a deployment that exists is schedulable
		LastParsedTime:              FormatTimePtr(d.Updated),
		DefaultView:                 &view,
		Fileloc:                     fileloc(d),
		FileToken:                   d.ID,
		Owners:                      Owners(src.Owners, d.Tags),
		Description:                 nonEmpty(d.Description),
		ScheduleInterval:            sched.Interval,
		TimetableDescription:        &desc,
		Tags:                        AirflowTags(d.Tags),
		MaxActiveRuns:               maxActiveRuns(d),
		HasTaskConcurrencyLimits:    &no,
		HasImportErrors:             &no,
		NextDagrun:                  FormatTimePtr(sched.Next.LogicalDate),
		NextDagrunDataIntervalStart: FormatTimePtr(sched.Next.IntervalStart),
		NextDagrunDataIntervalEnd:   FormatTimePtr(sched.Next.IntervalEnd),
		NextDagrunCreateAfter:       FormatTimePtr(sched.Next.CreateAfter),
		MaxConsecutiveFailedDagRuns: &zero, // Airflow's default: never auto-pause
	}
	return dag
}

// ToDAGDetail maps a deployment to Airflow's DAGDetail.
func ToDAGDetail(src DAGSource, env DAGEnv) DAGDetail {
	d := src.Deployment
	sched := SummarizeSchedules(d.Schedules, env.Now, env.Zones)
	start := sched.StartDate
	if start == nil {
		start = d.Created
	}
	return DAGDetail{
		DAG:         ToDAG(src, env),
		Timezone:    sched.Timezone,
		Catchup:     false, // Prefect's scheduler never backfills missed intervals
		Orientation: "LR",
		StartDate:   FormatTimePtr(start),
		DocMD:       nonEmpty(d.Description),
		Params:      Params(d.Parameters, d.ParameterSchema),
		LastParsed:  FormatTimePtr(d.Updated),
	}
}

func fileloc(d wire.Deployment) string {
	if d.Entrypoint != nil {
		return *d.Entrypoint
	}
	return ""
}

func nonEmpty(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

func maxActiveRuns(d wire.Deployment) *int {
	if d.GlobalConcurrencyLimit != nil {
		n := d.GlobalConcurrencyLimit.Limit
		return &n
	}
	if d.ConcurrencyLimit != nil {
		n := *d.ConcurrencyLimit
		return &n
	}
	return nil
}

// Owners are the configured owners, else the names of the owner:<name> tags, else none.
func Owners(configured []string, tags []string) []string {
	if configured != nil {
		return append([]string{}, configured...)
	}
	owners := []string{}
	for _, t := range tags {
		if name, ok := strings.CutPrefix(t, OwnerTagPrefix); ok && name != "" {
			owners = append(owners, name)
		}
	}
	return owners
}

// IsGatewayTag reports whether a deployment tag carries gateway metadata (a dag_id or an
// owner) rather than an Airflow tag: such tags feed dag_id and owners and are not listed
// as tags, nor matched by the tags filter.
func IsGatewayTag(tag string) bool {
	return strings.HasPrefix(tag, DAGIDTagPrefix) || strings.HasPrefix(tag, OwnerTagPrefix)
}

// AirflowTags are a deployment's tags as Airflow Tag objects, gateway tags left out.
func AirflowTags(tags []string) []Tag {
	out := []Tag{}
	for _, t := range tags {
		if !IsGatewayTag(t) {
			out = append(out, Tag{Name: t})
		}
	}
	return out
}

// Params renders a deployment's parameters and their OpenAPI schema as Airflow's DAG
// params: {"name": {"__class": "airflow.models.param.Param", "value", "description",
// "schema"}}. A parameter's value is the deployment's, else the schema default, else null.
// References into the schema's definitions are resolved (schema_refs.go), so that each
// parameter's schema stands on its own.
func Params(values map[string]any, schema map[string]any) map[string]any {
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	refs := newRefResolver(schema)
	for name, raw := range props {
		prop, _ := refs.resolve(raw, 0, map[string]bool{}).(map[string]any)
		value, ok := values[name]
		if !ok {
			value = prop["default"]
		}
		var description any
		if s, ok := prop["description"].(string); ok {
			description = s
		}
		if prop == nil {
			prop = map[string]any{}
		}
		out[name] = map[string]any{"__class": paramClass, "value": value, "description": description, "schema": prop}
	}
	for name, value := range values {
		if _, ok := out[name]; !ok {
			out[name] = map[string]any{"__class": paramClass, "value": value, "description": nil, "schema": map[string]any{}}
		}
	}
	return out
}

// --- fields ---

// DAGFields and DAGDetailFields are the names `fields` may select.
var (
	DAGFields       = jsonFieldNames(reflect.TypeOf(DAG{}))
	DAGDetailFields = jsonFieldNames(reflect.TypeOf(DAGDetail{}))
)

func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			names = append(names, jsonFieldNames(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// ParseFields reads Airflow's `fields`: repeated (?fields=a&fields=b) or comma-separated
// (?fields=a,b); every name must be one of allowed. Empty means every field.
func ParseFields(values []string, allowed []string) ([]string, error) {
	var fields, unknown []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" || seen[f] {
				continue
			}
			seen[f] = true
			if !contains(allowed, f) {
				unknown = append(unknown, f)
				continue
			}
			fields = append(fields, f)
		}
	}
	if len(unknown) > 0 {
		return nil, &InvalidFieldsError{Fields: unknown}
	}
	return fields, nil
}

// InvalidFieldsError names the `fields` values the object does not have; Airflow answers
// them with a 400 titled after the schema ("DAGSchema init error").
type InvalidFieldsError struct{ Fields []string }

func (e *InvalidFieldsError) Error() string {
	return "Invalid fields: " + strings.Join(e.Fields, ", ") + "."
}

// SelectFields keeps only fields of v's JSON object; no fields keeps v whole.
func SelectFields(v any, fields []string) (any, error) {
	if len(fields) == 0 {
		return v, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode for field selection: %w", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("field selection needs a JSON object: %w", err)
	}
	out := make(map[string]json.RawMessage, len(fields))
	for _, f := range fields {
		if r, ok := all[f]; ok {
			out[f] = r
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// --- list and bulk-patch queries ---

// DAGFilter selects DAGs: the filters GET /dags and PATCH /dags share.
type DAGFilter struct {
	// Tags match a DAG carrying any of them.
	Tags []string
	// Paused, when set, keeps only paused (true) or unpaused (false) DAGs.
	Paused *bool
	// Pattern is dag_id_pattern, matched as SQL's ILIKE '%pattern%' (see MatchDAGIDPattern);
	// empty matches every DAG.
	Pattern string
	// AllTags (Airflow 3's tags_match_mode=all) keeps only DAGs carrying every tag.
	AllTags bool
	// Patterns (Airflow 3's dag_id_pattern with '|' for OR): the dag_id matches one of
	// them, each as Pattern; empty matches every DAG.
	Patterns []string
	// PrefixPatterns (Airflow 3's dag_id_prefix_pattern): the dag_id starts with one of them,
	// case-sensitively and literally; empty matches every DAG.
	PrefixPatterns []string
}

// DAGListQuery is a parsed GET /dags.
type DAGListQuery struct {
	DAGFilter
	Page    Page
	OrderBy OrderBy
	Fields  []string
}

// DAGBulkQuery is a parsed PATCH /dags.
type DAGBulkQuery struct {
	DAGFilter
	Page Page
	// UpdateMask is the parsed update_mask (empty when absent).
	UpdateMask []string
}

// DAGOrderFields are the order_by values Airflow allows on /dags.
var DAGOrderFields = []string{"dag_id"}

// ParseDAGListQuery reads GET /dags' query.
func ParseDAGListQuery(q url.Values, maxLimit int) (DAGListQuery, error) {
	var out DAGListQuery
	var err error
	if out.Page, err = ParsePage(q.Get("limit"), q.Get("offset"), maxLimit); err != nil {
		return out, err
	}
	if out.OrderBy, err = ParseOrderBy(q.Get("order_by"), "dag_id", DAGOrderFields); err != nil {
		return out, err
	}
	if _, err = parseOptionalBool(q, "only_active"); err != nil {
		return out, err
	}
	if out.Paused, err = parseOptionalBool(q, "paused"); err != nil {
		return out, err
	}
	out.Tags = nonEmptyValues(q["tags"])
	out.Pattern = q.Get("dag_id_pattern")
	if out.Fields, err = ParseFields(q["fields"], DAGFields); err != nil {
		return out, err
	}
	return out, nil
}

// ParseDAGBulkQuery reads PATCH /dags' query. dag_id_pattern is required; "~" selects every
// DAG.
func ParseDAGBulkQuery(q url.Values, maxLimit int) (DAGBulkQuery, error) {
	var out DAGBulkQuery
	var err error
	if out.Page, err = ParsePage(q.Get("limit"), q.Get("offset"), maxLimit); err != nil {
		return out, err
	}
	if _, err = parseOptionalBool(q, "only_active"); err != nil {
		return out, err
	}
	if _, ok := q["dag_id_pattern"]; !ok {
		return out, fmt.Errorf("Missing query parameter 'dag_id_pattern'")
	}
	out.Pattern = q.Get("dag_id_pattern")
	if out.Pattern == "~" {
		out.Pattern = ""
	}
	out.Tags = nonEmptyValues(q["tags"])
	out.UpdateMask = ParseUpdateMask(q["update_mask"])
	return out, nil
}

// ParseUpdateMask reads update_mask: comma-separated and/or repeated.
func ParseUpdateMask(values []string) []string {
	var mask []string
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				mask = append(mask, f)
			}
		}
	}
	return mask
}

// parseOptionalBool reads a boolean query value as Airflow's API layer does ("true" or
// "false", any case); absent is nil. only_active is read but changes nothing: every
// deployment Prefect holds is active.
func parseOptionalBool(q url.Values, name string) (*bool, error) {
	if _, ok := q[name]; !ok {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(q.Get(name))) {
	case "true", "1":
		v := true
		return &v, nil
	case "false", "0":
		v := false
		return &v, nil
	}
	return nil, fmt.Errorf("%s %q is not a boolean (true or false)", name, q.Get(name))
}

func nonEmptyValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// PrefectDeploymentFilter is the part of f Prefect can evaluate exactly: paused, and tags
// (gateway tags never match). none is true when f can match nothing at all (only gateway
// tags were asked for), so no call is needed. The dag_id pattern is matched in the gateway,
// since aliases are dag_ids Prefect does not know.
func (f DAGFilter) PrefectDeploymentFilter() (filter *wire.DeploymentFilter, none bool) {
	filter = &wire.DeploymentFilter{}
	if f.Paused != nil {
		v := *f.Paused
		filter.Paused = &wire.BoolEq{Eq: &v}
	}
	if len(f.Tags) > 0 {
		var tags []string
		for _, t := range f.Tags {
			if !IsGatewayTag(t) {
				tags = append(tags, t)
			}
		}
		if len(tags) == 0 {
			return nil, true
		}
		filter.Tags = &wire.TagMatch{Any: tags}
		if f.AllTags {
			if len(tags) < len(f.Tags) {
				return nil, true // a gateway tag no DAG carries is required
			}
			filter.Tags = &wire.TagMatch{All: tags}
		}
	}
	if filter.Paused == nil && filter.Tags == nil {
		return nil, false
	}
	return filter, false
}

// Matches reports whether a DAG passes f: the exact, gateway-side check.
func (f DAGFilter) Matches(dagID string, paused bool, tags []string) bool {
	if f.Paused != nil && *f.Paused != paused {
		return false
	}
	if len(f.Tags) > 0 {
		hit, all := false, true
		for _, want := range f.Tags {
			if !IsGatewayTag(want) && contains(tags, want) {
				hit = true
			} else {
				all = false
			}
		}
		if !hit || (f.AllTags && !all) {
			return false
		}
	}
	if len(f.Patterns) > 0 && !slices.ContainsFunc(f.Patterns, func(p string) bool { return MatchDAGIDPattern(p, dagID) }) {
		return false
	}
	if len(f.PrefixPatterns) > 0 && !slices.ContainsFunc(f.PrefixPatterns, func(p string) bool { return strings.HasPrefix(dagID, p) }) {
		return false
	}
	return MatchDAGIDPattern(f.Pattern, dagID)
}

// SplitPatterns reads an Airflow 3 pattern parameter: alternatives separated by '|' (OR),
// "~" or nothing meaning every value (nil).
func SplitPatterns(v string) []string {
	if v == "" || v == "~" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, "|") {
		if p == "~" {
			return nil
		}
		out = append(out, p)
	}
	return out
}

// MatchDAGIDPattern matches dagID as Airflow's `dag_id ILIKE '%pattern%'` does: a
// case-insensitive substring, in which '%' stands for any run of characters, '_' for any
// one character, and a backslash makes the next character literal (PostgreSQL's default
// escape). An empty pattern matches everything.
func MatchDAGIDPattern(pattern, dagID string) bool {
	if pattern == "" {
		return true
	}
	// The pattern is wrapped in '%' as Airflow wraps it; likePrefix lets it end anywhere.
	p := append([]likeToken{{kind: '%'}}, likeTokens(strings.ToLower(pattern))...)
	return likePrefix(p, []rune(strings.ToLower(dagID)))
}

type likeToken struct {
	r    rune
	kind byte // 'c' a literal, '_' any one rune, '%' any run
}

func likeTokens(p string) []likeToken {
	var out []likeToken
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		i += size
		switch r {
		case '\\':
			if i < len(p) {
				r, size = utf8.DecodeRuneInString(p[i:])
				i += size
			}
			out = append(out, likeToken{r: r, kind: 'c'})
		case '%':
			out = append(out, likeToken{kind: '%'})
		case '_':
			out = append(out, likeToken{kind: '_'})
		default:
			out = append(out, likeToken{r: r, kind: 'c'})
		}
	}
	return out
}

// likePrefix reports whether p matches some prefix of s (the trailing '%' of the ILIKE).
// Iterative with one backtrack point per '%', so it stays linear-ish on hostile input.
func likePrefix(p []likeToken, s []rune) bool {
	pi, si := 0, 0
	star, starS := -1, 0
	for {
		if pi == len(p) {
			return true // the rest of s is eaten by the implicit trailing '%'
		}
		if si < len(s) || p[pi].kind == '%' {
			switch {
			case p[pi].kind == '%':
				star, starS = pi, si
				pi++
				continue
			case si < len(s) && (p[pi].kind == '_' || p[pi].r == s[si]):
				pi++
				si++
				continue
			}
		}
		if star < 0 || starS >= len(s) {
			return false
		}
		starS++
		pi, si = star+1, starS
	}
}

// DAGOrder sorts DAGs by dag_id (Airflow's only order_by), with ids as a tie-break so that
// equal dag_ids (two deployments claiming one alias) keep one stable order.
type DAGOrder struct {
	DAGID string
	TieID string
}

// SortDAGOrder orders items by (dag_id, tie id), descending when desc.
func SortDAGOrder[T any](items []T, key func(T) DAGOrder, desc bool) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := key(items[i]), key(items[j])
		if a.DAGID != b.DAGID {
			return (a.DAGID < b.DAGID) != desc
		}
		return (a.TieID < b.TieID) != desc
	})
}

// PageBounds is the [lo, hi) slice of n items that page selects.
func PageBounds(n int, p Page) (lo, hi int) {
	lo = min(max(p.Offset, 0), n)
	hi = min(lo+max(p.Limit, 0), n)
	return lo, hi
}

// --- PATCH body ---

// ParseDAGPatch reads the body of PATCH /dags and /dags/{dag_id} against its update_mask
// and returns the wanted is_paused. As in Airflow, is_paused is the only field that can
// change: a mask naming anything else is refused, and so is a body with fields other than
// is_paused (Airflow's schema refuses read-only and unknown fields alike).
func ParseDAGPatch(body []byte, mask []string) (bool, error) {
	for _, f := range mask {
		if f != "is_paused" {
			return false, errOnlyIsPaused
		}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return false, fmt.Errorf("The request body is empty: send {\"is_paused\": true} or {\"is_paused\": false}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return false, fmt.Errorf("The request body is not a JSON object: %v", err)
	}
	var unknown []string
	for k := range fields {
		if k != "is_paused" {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return false, fmt.Errorf("Unknown or read-only field(s) %s: only `is_paused` can be updated", strings.Join(unknown, ", "))
	}
	raw, ok := fields["is_paused"]
	if !ok {
		return false, fmt.Errorf("The request body has no `is_paused`")
	}
	var paused *bool
	if err := json.Unmarshal(raw, &paused); err != nil || paused == nil {
		return false, fmt.Errorf("`is_paused` must be true or false, not %s", string(raw))
	}
	return *paused, nil
}

// errOnlyIsPaused is Airflow's own message for a mask naming another field.
var errOnlyIsPaused = errors.New("Only `is_paused` field can be updated through the REST API")

// --- tasks ---

// ClassReference names the class behind a task.
type ClassReference struct {
	ModulePath string `json:"module_path"`
	ClassName  string `json:"class_name"`
}

// Task is Airflow's Task object.
type Task struct {
	ClassRef                ClassReference   `json:"class_ref"`
	TaskID                  string           `json:"task_id"`
	TaskDisplayName         string           `json:"task_display_name"`
	Owner                   string           `json:"owner"`
	StartDate               *string          `json:"start_date"`
	EndDate                 *string          `json:"end_date"`
	TriggerRule             string           `json:"trigger_rule"`
	ExtraLinks              []map[string]any `json:"extra_links"`
	DependsOnPast           bool             `json:"depends_on_past"`
	IsMapped                bool             `json:"is_mapped"`
	WaitForDownstream       bool             `json:"wait_for_downstream"`
	Retries                 int              `json:"retries"`
	Queue                   *string          `json:"queue"`
	Executor                *string          `json:"executor"`
	Pool                    string           `json:"pool"`
	PoolSlots               int              `json:"pool_slots"`
	ExecutionTimeout        *TimeDelta       `json:"execution_timeout"`
	RetryDelay              TimeDelta        `json:"retry_delay"`
	RetryExponentialBackoff bool             `json:"retry_exponential_backoff"`
	PriorityWeight          int              `json:"priority_weight"`
	WeightRule              string           `json:"weight_rule"`
	UIColor                 string           `json:"ui_color"`
	UIFgcolor               string           `json:"ui_fgcolor"`
	TemplateFields          []string         `json:"template_fields"`
	DownstreamTaskIDs       []string         `json:"downstream_task_ids"`
	DocMD                   *string          `json:"doc_md"`
}

// TaskDefaults are the DAG-level values every task of a run shares.
type TaskDefaults struct {
	// Owner is the DAG's owners joined, else Airflow's default owner "airflow".
	Owner string
	// Pool is the run's work pool, else Airflow's "default_pool".
	Pool string
	// Queue is the run's work queue, if any.
	Queue *string
}

// DefaultTaskDefaults fills what a run does not say with Airflow's defaults.
func DefaultTaskDefaults(owners []string, pool, queue *string) TaskDefaults {
	d := TaskDefaults{Owner: "airflow", Pool: "default_pool", Queue: queue}
	if len(owners) > 0 {
		d.Owner = strings.Join(owners, ", ")
	}
	if pool != nil && *pool != "" {
		d.Pool = *pool
	}
	return d
}

// TasksFromTaskRuns turns the task runs of one flow run into the DAG's tasks: one task per
// task_key, mapped when the key ran more than once (Prefect's .map and repeated calls),
// with downstream_task_ids read from the task_inputs that name another task's run. Tasks
// come out ordered by task_id.
func TasksFromTaskRuns(runs []wire.TaskRun, d TaskDefaults) []Task {
	keyOfRun := map[string]string{}
	byKey := map[string][]wire.TaskRun{}
	var keys []string
	for _, r := range runs {
		if r.TaskKey == "" {
			continue
		}
		keyOfRun[r.ID] = r.TaskKey
		if _, ok := byKey[r.TaskKey]; !ok {
			keys = append(keys, r.TaskKey)
		}
		byKey[r.TaskKey] = append(byKey[r.TaskKey], r)
	}
	downstream := map[string]map[string]bool{}
	for _, r := range runs {
		for _, inputs := range r.TaskInputs {
			for _, in := range inputs {
				up, ok := keyOfRun[in.ID]
				if in.InputType != "task_run" || !ok || up == r.TaskKey {
					continue
				}
				if downstream[up] == nil {
					downstream[up] = map[string]bool{}
				}
				downstream[up][r.TaskKey] = true
			}
		}
	}
	sort.Strings(keys)
	tasks := make([]Task, 0, len(keys))
	for _, key := range keys {
		group := byKey[key]
		first := group[0]
		for _, r := range group[1:] {
			if r.DynamicKey < first.DynamicKey {
				first = r
			}
		}
		delay, backoff := retryDelay(first.EmpiricalPolicy)
		down := []string{}
		for k := range downstream[key] {
			down = append(down, k)
		}
		sort.Strings(down)
		tasks = append(tasks, Task{
			ClassRef:                ClassReference{ModulePath: "prefect.tasks", ClassName: "Task"},
			TaskID:                  key,
			TaskDisplayName:         taskDisplayName(first),
			Owner:                   d.Owner,
			TriggerRule:             "all_success",
			ExtraLinks:              []map[string]any{},
			IsMapped:                len(group) > 1,
			Retries:                 retries(first.EmpiricalPolicy),
			Queue:                   d.Queue,
			Pool:                    d.Pool,
			PoolSlots:               1,
			RetryDelay:              delay,
			RetryExponentialBackoff: backoff,
			PriorityWeight:          1,
			WeightRule:              "downstream",
			UIColor:                 "#fff",
			UIFgcolor:               "#000",
			TemplateFields:          []string{},
			DownstreamTaskIDs:       down,
		})
	}
	return tasks
}

// taskDisplayName is the task's name: Prefect names a task run "<task name>-<first three
// characters of its dynamic key>", and keys a task "<function name>-<code hash>".
func taskDisplayName(r wire.TaskRun) string {
	if r.DynamicKey != "" {
		suffix := r.DynamicKey
		if len(suffix) > 3 {
			suffix = suffix[:3]
		}
		// A name that is the key itself (runs created by hand) says nothing more.
		if name, ok := strings.CutSuffix(r.Name, "-"+suffix); ok && name != "" && name != r.TaskKey {
			return name
		}
	}
	if i := strings.LastIndexByte(r.TaskKey, '-'); i > 0 && isHex(r.TaskKey[i+1:]) && len(r.TaskKey)-i-1 == 8 {
		return r.TaskKey[:i]
	}
	return r.TaskKey
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

func retries(policy map[string]any) int {
	if n, ok := policy["retries"].(float64); ok && n > 0 {
		return int(n)
	}
	return 0
}

// retryDelay reads Prefect's retry_delay: seconds, or a list of per-retry delays (what
// exponential_backoff produces), which Airflow can only call exponential backoff.
func retryDelay(policy map[string]any) (TimeDelta, bool) {
	switch v := policy["retry_delay"].(type) {
	case float64:
		return TimeDeltaOf(v), false
	case []any:
		if len(v) > 0 {
			first, _ := v[0].(float64)
			return TimeDeltaOf(first), len(v) > 1
		}
	}
	return TimeDeltaOf(0), false
}

// TaskOrderFields are the Task fields order_by may name on /dags/{dag_id}/tasks.
var TaskOrderFields = []string{"task_id", "task_display_name", "owner", "trigger_rule", "retries",
	"queue", "pool", "pool_slots", "priority_weight", "weight_rule", "ui_color", "ui_fgcolor"}

// ParseTaskOrderBy reads order_by for tasks. Airflow sorts by any attribute of the operator
// and answers a missing one with Python's AttributeError text.
func ParseTaskOrderBy(v string) (OrderBy, error) {
	o, err := ParseOrderBy(v, "task_id", TaskOrderFields)
	if err != nil {
		return OrderBy{}, fmt.Errorf("'Task' object has no attribute '%s'", strings.TrimPrefix(strings.TrimSpace(v), "-"))
	}
	return o, nil
}

// SortTasks orders tasks by o, task_id breaking ties.
func SortTasks(tasks []Task, o OrderBy) {
	key := func(t Task) string {
		switch o.Field {
		case "task_display_name":
			return t.TaskDisplayName
		case "owner":
			return t.Owner
		case "trigger_rule":
			return t.TriggerRule
		case "retries":
			return fmt.Sprintf("%020d", t.Retries)
		case "queue":
			if t.Queue == nil {
				return ""
			}
			return *t.Queue
		case "pool":
			return t.Pool
		case "pool_slots":
			return fmt.Sprintf("%020d", t.PoolSlots)
		case "priority_weight":
			return fmt.Sprintf("%020d", t.PriorityWeight)
		case "weight_rule":
			return t.WeightRule
		case "ui_color":
			return t.UIColor
		case "ui_fgcolor":
			return t.UIFgcolor
		}
		return t.TaskID
	}
	sort.SliceStable(tasks, func(i, j int) bool {
		a, b := key(tasks[i]), key(tasks[j])
		if a != b {
			return (a < b) != o.Desc
		}
		return (tasks[i].TaskID < tasks[j].TaskID) != o.Desc
	})
}
