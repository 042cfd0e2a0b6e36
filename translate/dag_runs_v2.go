package translate

import (
	"bytes"
	"encoding/json"
	"time"
)

// Airflow 3's trigger body (TriggerDAGRunPostBody, datamodels/dag_run.py validate_context).
// The gateway's v2 validator has already checked it against the document (types, no extra
// fields, logical_date present); this reads its meaning:
//
//   - logical_date null is a run without a logical date (Airflow 3's default for manual
//     runs); a date pins it, and is what a second run may not reuse;
//   - run_after defaults to now, whatever the logical date; the run is scheduled for it
//     (Prefect's expected start), and a logical date other than it is kept in a label;
//   - data_interval_start/end are kept only with a logical date, both or neither;
//   - without a dag_run_id the id is manual__<run_after>, as Airflow 3 generates it even when
//     a logical date is given.

// V2TriggerBody is the decoded TriggerDAGRunPostBody.
type V2TriggerBody struct {
	DAGRunID          *string         `json:"dag_run_id"`
	LogicalDate       *string         `json:"logical_date"`
	RunAfter          *string         `json:"run_after"`
	DataIntervalStart *string         `json:"data_interval_start"`
	DataIntervalEnd   *string         `json:"data_interval_end"`
	Conf              json.RawMessage `json:"conf"`
	Note              *string         `json:"note"`
	PartitionKey      *string         `json:"partition_key"`
}

// ParseTriggerV2 reads a validated Airflow 3 trigger body for user, at time now.
func ParseTriggerV2(body []byte, user string, now time.Time) (TriggerRequest, error) {
	var b V2TriggerBody
	if err := json.Unmarshal(body, &b); err != nil {
		return TriggerRequest{}, badInput("The request body is not a trigger body: %v", err)
	}
	req := TriggerRequest{TriggeringUser: user, PartitionKey: b.PartitionKey, Note: b.Note}
	runAfter := now
	if b.RunAfter != nil {
		t, err := ParseTime(*b.RunAfter)
		if err != nil {
			return req, badInput("run_after: %v", err)
		}
		runAfter = t
	}
	if b.LogicalDate != nil {
		t, err := ParseTime(*b.LogicalDate)
		if err != nil {
			return req, badInput("logical_date: %v", err)
		}
		req.LogicalDate, req.LogicalDateGiven = t.UTC().Truncate(time.Microsecond), true
		if b.DataIntervalStart != nil && b.DataIntervalEnd != nil {
			start, err := ParseTime(*b.DataIntervalStart)
			if err != nil {
				return req, badInput("data_interval_start: %v", err)
			}
			end, err := ParseTime(*b.DataIntervalEnd)
			if err != nil {
				return req, badInput("data_interval_end: %v", err)
			}
			if start.After(end) {
				return req, badInput("data_interval_start %s is after data_interval_end %s", FormatTime(start), FormatTime(end))
			}
			req.DataIntervalStart, req.DataIntervalEnd = &start, &end
		}
	} else {
		req.NoLogicalDate = true
		req.LogicalDate = runAfter.UTC().Truncate(time.Microsecond)
	}
	runAfter = runAfter.UTC().Truncate(time.Microsecond)
	if len(bytes.TrimSpace(b.Conf)) > 0 && !bodyNull(b.Conf) {
		dec := json.NewDecoder(bytes.NewReader(b.Conf))
		dec.UseNumber()
		var conf map[string]any
		if err := dec.Decode(&conf); err != nil || conf == nil {
			return req, badInput("conf: Airflow's conf is a JSON object")
		}
		req.Conf = conf
	}
	if b.DAGRunID != nil {
		if err := ValidateRunID(*b.DAGRunID); err != nil {
			return req, err
		}
		req.DAGRunID = *b.DAGRunID
	} else {
		req.DAGRunID, req.GeneratedID = GenerateRunID("manual", runAfter), true
	}
	if req.LogicalDateGiven && !runAfter.Equal(req.LogicalDate) {
		// Prefect holds one time per run, when it starts: run_after; the logical date
		// travels beside it in a label.
		req.RunAfter = &runAfter
	}
	return req, nil
}
