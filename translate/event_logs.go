package translate

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Event logs (GET /eventLogs, /eventLogs/{id}) ↔ Prefect events. Airflow's event log is its
// audit trail of what happened to DAGs, runs and task instances; Prefect records the same
// as events: a state change of a flow run (prefect.flow-run.<State name>) or of a task run
// (prefect.task-run.<State name>), and what happened to a deployment (prefect.deployment.
// created, updated, paused, ready, ...). Each such event is one Airflow event-log entry:
//
//	event_log_id  the event's time in Unix milliseconds × 4096 + the last 12 bits of its id
//	              (see EventLogID): ordered by time like Airflow's ascending ids, at most
//	              2^53 (exact in JavaScript), and decodable, so that /eventLogs/{id} costs
//	              one call without a lookup table
//	when          occurred
//	event         the Prefect event name, verbatim (filters take these names)
//	dag_id        the deployment's dag_id
//	run_id        the flow run's name
//	task_id       a task-run event's task key; try_number its run count
//	extra         {"id", "resource", "payload"} of the event, as JSON text
//
// owner, execution_date and map_index are null: Prefect's events carry no user, logical
// date or map index.

// EventLogPrefixes are the Prefect events that are Airflow event-log entries.
var EventLogPrefixes = []string{"prefect.flow-run.", "prefect.task-run.", "prefect.deployment."}

// EventLogOrderFields is Airflow's order_by allow-list for event logs. Only event_log_id and
// when (the same order here) can be sorted by Prefect; the others get Airflow's 400.
var EventLogOrderFields = []string{"event_log_id", "when"}

// EventLog is Airflow's EventLog.
type EventLog struct {
	EventLogID    int64   `json:"event_log_id"`
	When          string  `json:"when"`
	DAGID         *string `json:"dag_id"`
	TaskID        *string `json:"task_id"`
	RunID         *string `json:"run_id"`
	MapIndex      *int    `json:"map_index"`
	TryNumber     *int    `json:"try_number"`
	Event         string  `json:"event"`
	ExecutionDate *string `json:"execution_date"`
	Owner         *string `json:"owner"`
	Extra         *string `json:"extra"`
}

// EventLogCollection is Airflow's EventLogCollection.
type EventLogCollection struct {
	EventLogs    []EventLog `json:"event_logs"`
	TotalEntries int        `json:"total_entries"`
}

// eventIDBits is how many low bits of the event id an event_log_id carries.
const eventIDBits = 12

// EventLogID is the Airflow id of a Prefect event (see the package comment above).
func EventLogID(occurred time.Time, eventID string) int64 {
	ms := occurred.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return ms<<eventIDBits | int64(eventIDLowBits(eventID))
}

// eventIDLowBits is the last 12 bits of a UUID's hex text (0 when it has none).
func eventIDLowBits(id string) uint16 {
	h := strings.ReplaceAll(id, "-", "")
	if len(h) < 3 {
		return 0
	}
	b, err := hex.DecodeString("0" + h[len(h)-3:])
	if err != nil {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

// DecodeEventLogID splits an event_log_id into the millisecond its event occurred in and the
// low bits of its id; ok is false for an id no event can have.
func DecodeEventLogID(id int64) (ms time.Time, low uint16, ok bool) {
	if id <= 0 {
		return time.Time{}, 0, false
	}
	return time.UnixMilli(id >> eventIDBits).UTC(), uint16(id & (1<<eventIDBits - 1)), true
}

// MatchesEventLogID reports whether ev is the event of id.
func MatchesEventLogID(ev wire.Event, id int64) bool { return EventLogID(ev.Occurred, ev.ID) == id }

// EventLogQuery is a parsed GET /eventLogs query, in Prefect's terms where it can be.
type EventLogQuery struct {
	Page      Page
	Desc      bool
	DAGID     string
	RunID     string
	TaskID    string
	TryNumber int // 0: any, as Airflow ignores a zero filter
	// Names are the event names to include (nil: any of EventLogPrefixes), Exclude those to
	// leave out.
	Names, Exclude []string
	// Since and Until bound when the events occurred, inclusive.
	Since, Until time.Time
	// Nothing is set when the filters can match no entry (an owner or a map index, which no
	// entry has, or event names that exclude each other): no Prefect call is needed.
	Nothing bool
}

// ParseEventLogQuery reads GET /eventLogs' query as Airflow does: `event`, `included_events`
// and `excluded_events` (comma-separated) compare whole names; zero map_index and
// try_number mean no filter, as Airflow's truthiness tests make them; before and after are
// strict. now bounds Until.
func ParseEventLogQuery(q url.Values, maxLimit int, now time.Time) (EventLogQuery, error) {
	page, err := ParsePage(q.Get("limit"), q.Get("offset"), maxLimit)
	if err != nil {
		return EventLogQuery{}, err
	}
	order, err := ParseOrderBy(q.Get("order_by"), "event_log_id", EventLogOrderFields)
	if err != nil {
		return EventLogQuery{}, err
	}
	out := EventLogQuery{Page: page, Desc: order.Desc, DAGID: q.Get("dag_id"), RunID: q.Get("run_id"),
		TaskID: q.Get("task_id"), Since: time.Unix(0, 0).UTC(), Until: now.UTC()}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"run_id", &out.RunID}, {"task_id", &out.TaskID}} {
		if strings.ContainsAny(*p.dst, "*?") || strings.HasPrefix(*p.dst, "!") {
			return EventLogQuery{}, fmt.Errorf("%s %q holds a character ('*', '?' or a leading '!') that Prefect's event filter reads as a pattern, so it cannot be matched exactly", p.name, *p.dst)
		}
	}
	if out.TaskID != "" && out.RunID == "" {
		return EventLogQuery{}, fmt.Errorf("task_id can only be filtered together with run_id: Prefect's events name a task run's key only inside the run")
	}
	if v := q.Get("try_number"); v != "" {
		if out.TryNumber, err = strconv.Atoi(v); err != nil {
			return EventLogQuery{}, fmt.Errorf("try_number %q is not an integer", v)
		}
	}
	if v := q.Get("map_index"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return EventLogQuery{}, fmt.Errorf("map_index %q is not an integer", v)
		}
		out.Nothing = out.Nothing || n != 0
	}
	out.Nothing = out.Nothing || q.Get("owner") != ""
	var include []string
	if v := q.Get("included_events"); v != "" {
		include = strings.Split(v, ",")
	}
	if ev := q.Get("event"); ev != "" {
		if include != nil && !contains(include, ev) {
			out.Nothing = true
		}
		include = []string{ev}
	}
	out.Names = include
	if v := q.Get("excluded_events"); v != "" {
		out.Exclude = strings.Split(v, ",")
	}
	for _, p := range []struct {
		name   string
		bound  *time.Time
		adjust time.Duration
	}{{"after", &out.Since, time.Microsecond}, {"before", &out.Until, -time.Microsecond}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := ParseTime(v)
		if err != nil {
			return EventLogQuery{}, &InputError{Title: "Incorrect datetime argument", Detail: err.Error()}
		}
		t = t.Add(p.adjust) // Airflow's bounds are strict, Prefect's inclusive (to the µs)
		if p.name == "after" || t.Before(*p.bound) {
			*p.bound = t
		}
	}
	if out.Until.Before(out.Since) {
		out.Nothing = true
	}
	return out, nil
}

// EventLogScope narrows an event-log query to deployments: DeploymentIDs nil means any (and
// events of no deployment too), an empty list none.
type EventLogScope struct {
	DeploymentIDs []string
	// TaskRunIDs, when set, limits the events to those of these task runs (task_id).
	TaskRunIDs []string
}

// PrefectFilter is the Prefect event filter of q within scope.
func (q EventLogQuery) PrefectFilter(scope EventLogScope) wire.EventFilter {
	f := wire.EventFilter{Occurred: wire.EventOccurred{Since: q.Since, Until: q.Until}, Order: "ASC"}
	if q.Desc {
		f.Order = "DESC"
	}
	names := &wire.EventNameFilter{Prefix: EventLogPrefixes, Name: q.Names, ExcludeName: q.Exclude}
	if q.TryNumber != 0 || q.TaskID != "" {
		names.Prefix = []string{"prefect.task-run."}
	}
	f.Event = names
	if scope.DeploymentIDs != nil {
		f.AnyResource = append(f.AnyResource, wire.EventAnyResource{ID: resourceIDs("prefect.deployment.", scope.DeploymentIDs)})
	}
	if q.RunID != "" {
		f.AnyResource = append(f.AnyResource, wire.EventAnyResource{Labels: map[string][]string{
			"prefect.resource.id": {"prefect.flow-run.*"}, "prefect.resource.name": {q.RunID}}})
	}
	if scope.TaskRunIDs != nil {
		f.Resource = &wire.EventResourceFilter{ID: resourceIDs("prefect.task-run.", scope.TaskRunIDs)}
	}
	if q.TryNumber != 0 {
		if f.Resource == nil {
			f.Resource = &wire.EventResourceFilter{}
		}
		f.Resource.Labels = map[string][]string{"prefect.run-count": {strconv.Itoa(q.TryNumber)}}
	}
	return f
}

func resourceIDs(prefix string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = prefix + id
	}
	return out
}

// EventDeploymentID is the id of the deployment an event is about: its primary resource for
// a deployment event, else its related deployment; "" when it has none.
func EventDeploymentID(ev wire.Event) string {
	if id, ok := strings.CutPrefix(ev.Resource.ID(), "prefect.deployment."); ok {
		return id
	}
	for _, r := range ev.Related {
		if id, ok := strings.CutPrefix(r.ID(), "prefect.deployment."); ok && r.Role() == "deployment" {
			return id
		}
	}
	return ""
}

// EventCanonicalDAGID is the canonical dag_id of an event's deployment from the names the
// event carries, for a deployment Prefect no longer has (aliases are unknown then).
func EventCanonicalDAGID(ev wire.Event) string {
	deployment, flow := "", ""
	if strings.HasPrefix(ev.Resource.ID(), "prefect.deployment.") {
		deployment = ev.Resource.Name()
	}
	for _, r := range ev.Related {
		switch r.Role() {
		case "deployment":
			deployment = r.Name()
		case "flow":
			flow = r.Name()
		}
	}
	if deployment == "" || flow == "" {
		return ""
	}
	return flow + "." + deployment
}

// eventTaskRun is the part of a task-run event's payload an entry reads.
type eventTaskRun struct {
	TaskRun struct {
		TaskKey string `json:"task_key"`
	} `json:"task_run"`
}

// ToEventLog is the Airflow entry of a Prefect event; dagID is its DAG ("" for none).
func ToEventLog(ev wire.Event, dagID string) EventLog {
	e := EventLog{EventLogID: EventLogID(ev.Occurred, ev.ID), When: FormatTime(ev.Occurred), Event: ev.Event}
	if dagID != "" {
		e.DAGID = &dagID
	}
	rid := ev.Resource.ID()
	switch {
	case strings.HasPrefix(rid, "prefect.flow-run."):
		e.RunID = optString(ev.Resource.Name())
	case strings.HasPrefix(rid, "prefect.task-run."):
		for _, r := range ev.Related {
			if r.Role() == "flow-run" {
				e.RunID = optString(r.Name())
			}
		}
		var p eventTaskRun
		if json.Unmarshal(ev.Payload, &p) == nil {
			e.TaskID = optString(p.TaskRun.TaskKey)
		}
		if n, err := strconv.Atoi(ev.Resource["prefect.run-count"]); err == nil {
			e.TryNumber = &n
		}
	}
	extra := struct {
		ID       string          `json:"id"`
		Resource wire.Resource   `json:"resource"`
		Payload  json.RawMessage `json:"payload,omitempty"`
	}{ev.ID, ev.Resource, ev.Payload}
	if raw, err := json.Marshal(extra); err == nil {
		s := string(raw)
		e.Extra = &s
	}
	return e
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
