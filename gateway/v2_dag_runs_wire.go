package gateway

import (
	"airflow-prefect-gateway/prefect"
	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// v2DAGRun is Airflow 3's DAGRunResponse, from a flow run and the DAG it is of:
//
//   - logical_date is null for a run triggered without one (Airflow 3's manual runs);
//   - run_after is when the run may start: Prefect's expected start;
//   - queued_at is when Prefect created the run; duration is end - start in seconds;
//   - run_type "backfill" for the runs of a backfill, else scheduled or manual as in v1;
//   - triggered_by "rest_api" for runs triggered through the gateway, "timetable" for
//     Prefect's scheduled runs, "backfill" for a backfill's, else null (made in Prefect);
//   - dag_versions is the one version of the DAG (dagVersionOf), bundle_version its
//     deployment's version.
type v2DAGRun struct {
	DAGRunID               string         `json:"dag_run_id"`
	DAGID                  string         `json:"dag_id"`
	LogicalDate            *string        `json:"logical_date"`
	QueuedAt               *string        `json:"queued_at"`
	StartDate              *string        `json:"start_date"`
	EndDate                *string        `json:"end_date"`
	Duration               *float64       `json:"duration"`
	DataIntervalStart      *string        `json:"data_interval_start"`
	DataIntervalEnd        *string        `json:"data_interval_end"`
	RunAfter               string         `json:"run_after"`
	LastSchedulingDecision *string        `json:"last_scheduling_decision"`
	RunType                string         `json:"run_type"`
	State                  string         `json:"state"`
	TriggeredBy            *string        `json:"triggered_by"`
	TriggeringUserName     *string        `json:"triggering_user_name"`
	Conf                   any            `json:"conf"`
	Note                   *string        `json:"note"`
	DAGVersions            []v2DAGVersion `json:"dag_versions"`
	BundleVersion          *string        `json:"bundle_version"`
	DAGDisplayName         string         `json:"dag_display_name"`
	PartitionKey           *string        `json:"partition_key"`
	PartitionDate          *string        `json:"partition_date"`
}

type v2DAGRunCollection struct {
	DAGRuns      []v2DAGRun `json:"dag_runs"`
	TotalEntries int        `json:"total_entries"`
}

func strPtr(s string) *string { return &s }

func toV2DAGRun(run wire.FlowRun, dag prefect.ResolvedDAG) v2DAGRun {
	base := translate.FromPrefectFlowRun(run, dag.DAGID)
	out := v2DAGRun{
		DAGRunID:          base.DAGRunID,
		DAGID:             base.DAGID,
		LogicalDate:       translate.TimeV2Ptr(base.LogicalDate),
		QueuedAt:          translate.TimeV2Ptr(translate.FormatTimePtr(run.Created)),
		StartDate:         translate.TimeV2Ptr(base.StartDate),
		EndDate:           translate.TimeV2Ptr(base.EndDate),
		DataIntervalStart: translate.TimeV2Ptr(base.DataIntervalStart),
		DataIntervalEnd:   translate.TimeV2Ptr(base.DataIntervalEnd),
		RunType:           base.RunType,
		State:             base.State,
		Conf:              base.Conf,
		Note:              base.Note,
		DAGVersions:       []v2DAGVersion{dagVersionOf(dag)},
		BundleVersion:     dag.Deployment.Version,
		DAGDisplayName:    dag.DAGID,
	}
	if run.ExpectedStartTime != nil {
		out.RunAfter = translate.FormatTimeV2(*run.ExpectedStartTime)
	} else if run.Created != nil {
		out.RunAfter = translate.FormatTimeV2(*run.Created)
	}
	if run.Labels.NoLogicalDate == "true" {
		out.LogicalDate = nil
	}
	if run.StartTime != nil && run.EndTime != nil {
		d := run.EndTime.Sub(*run.StartTime).Seconds()
		out.Duration = &d
	}
	switch {
	case run.Labels.Backfill != "":
		out.RunType, out.TriggeredBy = "backfill", strPtr("backfill")
	case run.AutoScheduled:
		out.TriggeredBy = strPtr("timetable")
	case run.Labels.TriggerFingerprint != "":
		out.TriggeredBy = strPtr("rest_api")
	}
	if u := string(run.Labels.TriggeringUser); u != "" {
		out.TriggeringUserName = &u
	}
	if k := string(run.Labels.PartitionKey); k != "" {
		out.PartitionKey = &k
	}
	return out
}
