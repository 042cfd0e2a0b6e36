package gateway

import (
	"fmt"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/translate"
)

// Airflow 3's DAG field sets (DAGResponse, DAGDetailsResponse, DagVersionResponse,
// TaskResponse), converted from the neutral model translate builds once from Prefect. Every
// field the 3.3.2 document marks required is written, null where Prefect has no value.

// v2DAG is Airflow 3's DAGResponse.
type v2DAG struct {
	DAGID                       string     `json:"dag_id"`
	DAGDisplayName              string     `json:"dag_display_name"`
	IsPaused                    bool       `json:"is_paused"`
	IsStale                     bool       `json:"is_stale"`
	LastParsedTime              *string    `json:"last_parsed_time"`
	LastParseDuration           *float64   `json:"last_parse_duration"`
	LastExpired                 *string    `json:"last_expired"`
	BundleName                  *string    `json:"bundle_name"`
	BundleVersion               *string    `json:"bundle_version"`
	RelativeFileloc             *string    `json:"relative_fileloc"`
	Fileloc                     string     `json:"fileloc"`
	Description                 *string    `json:"description"`
	TimetableSummary            *string    `json:"timetable_summary"`
	TimetableDescription        *string    `json:"timetable_description"`
	TimetablePartitioned        bool       `json:"timetable_partitioned"`
	TimetablePeriodic           bool       `json:"timetable_periodic"`
	Tags                        []v2DAGTag `json:"tags"`
	MaxActiveTasks              int        `json:"max_active_tasks"`
	MaxActiveRuns               *int       `json:"max_active_runs"`
	MaxConsecutiveFailedDAGRuns int        `json:"max_consecutive_failed_dag_runs"`
	HasTaskConcurrencyLimits    bool       `json:"has_task_concurrency_limits"`
	HasImportErrors             bool       `json:"has_import_errors"`
	NextDagrunLogicalDate       *string    `json:"next_dagrun_logical_date"`
	NextDagrunDataIntervalStart *string    `json:"next_dagrun_data_interval_start"`
	NextDagrunDataIntervalEnd   *string    `json:"next_dagrun_data_interval_end"`
	NextDagrunRunAfter          *string    `json:"next_dagrun_run_after"`
	AllowedRunTypes             []string   `json:"allowed_run_types"`
	Owners                      []string   `json:"owners"`
	IsBackfillable              bool       `json:"is_backfillable"`
	FileToken                   string     `json:"file_token"`
	nextRun                     *time.Time // for order_by=next_dagrun, never written
}

type v2DAGTag struct {
	Name           string `json:"name"`
	DAGID          string `json:"dag_id"`
	DAGDisplayName string `json:"dag_display_name"`
}

// v2DAGDetails is Airflow 3's DAGDetailsResponse.
type v2DAGDetails struct {
	v2DAG
	Catchup                   bool              `json:"catchup"`
	DAGRunTimeout             *string           `json:"dag_run_timeout"`
	AssetExpression           map[string]any    `json:"asset_expression"`
	DocMD                     *string           `json:"doc_md"`
	StartDate                 *string           `json:"start_date"`
	EndDate                   *string           `json:"end_date"`
	IsPausedUponCreation      *bool             `json:"is_paused_upon_creation"`
	Params                    map[string]any    `json:"params"`
	RenderTemplateAsNativeObj bool              `json:"render_template_as_native_obj"`
	TemplateSearchPath        []string          `json:"template_search_path"`
	Timezone                  *string           `json:"timezone"`
	LastParsed                *string           `json:"last_parsed"`
	DefaultArgs               map[string]any    `json:"default_args"`
	OwnerLinks                map[string]string `json:"owner_links"`
	IsFavorite                bool              `json:"is_favorite"`
	ActiveRunsCount           int               `json:"active_runs_count"`
	Concurrency               int               `json:"concurrency"`
	LatestDAGVersion          *v2DAGVersion     `json:"latest_dag_version"`
	RerunWithLatestVersion    *bool             `json:"rerun_with_latest_version"`
}

// v2DAGVersion is Airflow 3's DagVersionResponse. A Prefect deployment is one DAG with one
// version: the deployment as it is now (id the deployment's id, number 1, created when the
// deployment was, bundle_version the deployment's own version string). Prefect keeps no
// history of a deployment's definitions, so there is no truthful second version to show.
type v2DAGVersion struct {
	ID             string  `json:"id"`
	VersionNumber  int     `json:"version_number"`
	DAGID          string  `json:"dag_id"`
	BundleName     *string `json:"bundle_name"`
	BundleVersion  *string `json:"bundle_version"`
	CreatedAt      string  `json:"created_at"`
	DAGDisplayName string  `json:"dag_display_name"`
	BundleURL      *string `json:"bundle_url"`
}

// airflowDefaultMaxActiveTasks is Airflow's [core] max_active_tasks_per_dag.
const airflowDefaultMaxActiveTasks = 16

func toV2DAG(d translate.DAG, dep prefectDeployment) v2DAG {
	out := v2DAG{
		DAGID:                       d.DAGID,
		DAGDisplayName:              d.DAGDisplayName,
		IsPaused:                    d.IsPaused,
		IsStale:                     !d.IsActive,
		LastParsedTime:              translate.TimeV2Ptr(d.LastParsedTime),
		LastExpired:                 translate.TimeV2Ptr(d.LastExpired),
		BundleVersion:               dep.Version,
		Fileloc:                     d.Fileloc,
		Description:                 d.Description,
		TimetableSummary:            timetableSummary(d.ScheduleInterval),
		TimetableDescription:        d.TimetableDescription,
		TimetablePeriodic:           d.ScheduleInterval != nil,
		Tags:                        make([]v2DAGTag, 0, len(d.Tags)),
		MaxActiveTasks:              airflowDefaultMaxActiveTasks,
		MaxActiveRuns:               d.MaxActiveRuns,
		HasTaskConcurrencyLimits:    d.HasTaskConcurrencyLimits != nil && *d.HasTaskConcurrencyLimits,
		HasImportErrors:             d.HasImportErrors != nil && *d.HasImportErrors,
		NextDagrunLogicalDate:       translate.TimeV2Ptr(d.NextDagrun),
		NextDagrunDataIntervalStart: translate.TimeV2Ptr(d.NextDagrunDataIntervalStart),
		NextDagrunDataIntervalEnd:   translate.TimeV2Ptr(d.NextDagrunDataIntervalEnd),
		NextDagrunRunAfter:          translate.TimeV2Ptr(d.NextDagrunCreateAfter),
		Owners:                      d.Owners,
		IsBackfillable:              d.ScheduleInterval != nil,
		FileToken:                   d.FileToken,
	}
	if d.MaxActiveTasks != nil {
		out.MaxActiveTasks = *d.MaxActiveTasks
	}
	if d.MaxConsecutiveFailedDagRuns != nil {
		out.MaxConsecutiveFailedDAGRuns = *d.MaxConsecutiveFailedDagRuns
	}
	if dep.Entrypoint != nil {
		rel, _, _ := strings.Cut(*dep.Entrypoint, ":")
		out.RelativeFileloc = &rel
	}
	for _, t := range d.Tags {
		out.Tags = append(out.Tags, v2DAGTag{Name: t.Name, DAGID: d.DAGID, DAGDisplayName: d.DAGDisplayName})
	}
	if out.Owners == nil {
		out.Owners = []string{}
	}
	if d.NextDagrun != nil {
		if t, err := translate.ParseTime(*d.NextDagrun); err == nil {
			out.nextRun = &t
		}
	}
	return out
}

// prefectDeployment is what the v2 field sets read from the deployment beside the model.
type prefectDeployment struct {
	Version    *string
	Entrypoint *string
	Created    *time.Time
}

func deploymentOf(res prefect.ResolvedDAG) prefectDeployment {
	return prefectDeployment{Version: res.Deployment.Version, Entrypoint: res.Deployment.Entrypoint, Created: res.Deployment.Created}
}

func toV2DAGDetails(d translate.DAGDetail, res prefect.ResolvedDAG) v2DAGDetails {
	base := toV2DAG(d.DAG, deploymentOf(res))
	version := dagVersionOf(res)
	out := v2DAGDetails{
		v2DAG:                     base,
		Catchup:                   d.Catchup,
		DocMD:                     d.DocMD,
		StartDate:                 translate.TimeV2Ptr(d.StartDate),
		EndDate:                   translate.TimeV2Ptr(d.EndDate),
		IsPausedUponCreation:      d.IsPausedUponCreation,
		Params:                    d.Params,
		RenderTemplateAsNativeObj: d.RenderTemplateAsNativeObj,
		TemplateSearchPath:        d.TemplateSearchPath,
		LastParsed:                translate.TimeV2Ptr(d.LastParsed),
		Concurrency:               base.MaxActiveTasks,
		LatestDAGVersion:          &version,
	}
	if d.Timezone != "" {
		tz := d.Timezone
		out.Timezone = &tz
	}
	if d.DAGRunTimeout != nil {
		s := isoDuration(*d.DAGRunTimeout)
		out.DAGRunTimeout = &s
	}
	return out
}

// dagVersionOf is the one version of a DAG (see v2DAGVersion).
func dagVersionOf(res prefect.ResolvedDAG) v2DAGVersion {
	v := v2DAGVersion{ID: res.Deployment.ID, VersionNumber: 1, DAGID: res.DAGID, DAGDisplayName: res.DAGID,
		BundleVersion: res.Deployment.Version}
	created := res.Deployment.Created
	if created == nil {
		created = res.Deployment.Updated
	}
	if created != nil {
		v.CreatedAt = translate.FormatTimeV2(*created)
	} else {
		v.CreatedAt = translate.FormatTimeV2(time.Unix(0, 0))
	}
	return v
}

// timetableSummary is Airflow 3's short schedule: the cron expression, the interval as
// Python's str(timedelta), or null for a DAG without a schedule.
func timetableSummary(interval any) *string {
	var s string
	switch v := interval.(type) {
	case nil:
		return nil
	case translate.CronExpression:
		s = v.Value
	case *translate.CronExpression:
		s = v.Value
	case translate.TimeDelta:
		s = pythonTimedelta(v)
	case *translate.TimeDelta:
		s = pythonTimedelta(*v)
	default:
		s = fmt.Sprint(v)
	}
	return &s
}

// pythonTimedelta writes a duration as Python's str(timedelta): "1 day, 2:03:04.000005".
func pythonTimedelta(d translate.TimeDelta) string {
	var b strings.Builder
	if d.Days != 0 {
		unit := "days"
		if d.Days == 1 || d.Days == -1 {
			unit = "day"
		}
		fmt.Fprintf(&b, "%d %s, ", d.Days, unit)
	}
	fmt.Fprintf(&b, "%d:%02d:%02d", d.Seconds/3600, d.Seconds%3600/60, d.Seconds%60)
	if d.Microseconds != 0 {
		fmt.Fprintf(&b, ".%06d", d.Microseconds)
	}
	return b.String()
}

// isoDuration writes a duration as pydantic serializes a timedelta: ISO 8601 (P1DT2H3M4S).
func isoDuration(d translate.TimeDelta) string {
	var b strings.Builder
	b.WriteString("P")
	if d.Days != 0 {
		fmt.Fprintf(&b, "%dD", d.Days)
	}
	if d.Seconds != 0 || d.Microseconds != 0 || d.Days == 0 {
		b.WriteString("T")
		h, m, s := d.Seconds/3600, d.Seconds%3600/60, d.Seconds%60
		if h != 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m != 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if d.Microseconds != 0 {
			fmt.Fprintf(&b, "%d.%06dS", s, d.Microseconds)
		} else if s != 0 || (h == 0 && m == 0) {
			fmt.Fprintf(&b, "%dS", s)
		}
	}
	return b.String()
}
