package translate

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"airflow-prefect-gateway/prefect/wire"
)

// AppendDAGRunPageAnswer writes Airflow's DAGRunCollection for an answer of Prefect's
// /flow_runs/paginate ({"results": [...runs], "count": n, ...}; the count is the total)
// straight from Prefect's bytes: one pass that also checks the JSON, no FlowRun values, conf
// copied through. A list page is what the gateway spends most CPU on, and decoding every run
// into a FlowRun only to write a few of its fields again was most of that.
//
// The bytes equal what the ordinary way writes (decoding the answer, FromPrefectFlowRun,
// AppendDAGRunCollection); FuzzAppendDAGRunPage and FuzzAppendDAGRunPageAnswer hold them
// equal. Where the input is not JSON, or a run has a shape it does not read the same way (a
// value of an unexpected type, a key that differs from a known one only in case, an escaped
// time), or belongs to a deployment dagOf does not know, it returns false and the caller takes
// the ordinary way. It reads only the fields it writes: an answer whose skipped fields have
// unexpected types is not refused here (the ordinary decoder would refuse it).
//
// dagOf names the DAG of a run's deployment. Runs with no deployment are left out.
func AppendDAGRunPageAnswer(dst []byte, answer []byte, dagOf func(deploymentID string) (string, bool), set DAGRunFieldSet) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, `{"dag_runs":[`...)
	var total []byte
	seenResults := false
	end, ok := walkObject(answer, skipSpace(answer, 0), func(key []byte, at int) (int, bool) {
		switch string(key) {
		case "results":
			if seenResults {
				return 0, false // repeated: the ordinary decoder keeps the last one
			}
			seenResults = true
			var end int
			var ok bool
			dst, end, ok = appendPageRuns(dst, answer, at, dagOf, set)
			return end, ok
		case "count":
			if kindAt(answer, at) != kindNumber {
				return 0, false
			}
			end, ok := numberEnd(answer, at)
			total = answer[at:end]
			return end, ok
		}
		if foldsToAny(key, []string{"results", "count"}) {
			return 0, false
		}
		return skipValue(answer, at)
	})
	if !ok || !seenResults || skipSpace(answer, end) != len(answer) {
		return dst[:start], false
	}
	n, err := strconv.Atoi(string(total)) // an integer, as the ordinary decoder wants it
	if err != nil {
		return dst[:start], false
	}
	dst = append(dst, `],"total_entries":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '}'), true
}

// appendPageRuns writes the runs of the array (or null) at b[at] as DAGRun objects, comma
// separated, and returns the index just past the array.
func appendPageRuns(dst, b []byte, at int, dagOf func(string) (string, bool), set DAGRunFieldSet) ([]byte, int, bool) {
	if kindAt(b, at) == kindNull {
		end, ok := skipValue(b, at)
		return dst, end, ok
	}
	first := true
	end, ok := walkArray(b, at, func(at int) (int, bool) {
		var r pageRun
		end, ok := r.read(b, at)
		if !ok {
			return 0, false
		}
		if r.deploymentID == nil {
			return end, true
		}
		if r.dagID, ok = dagOf(*r.deploymentID); !ok {
			return 0, false
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendDAGRunObject(dst, set, &r)
		return end, true
	})
	return dst, end, ok
}

// pageRun is what AppendDAGRunPageAnswer reads of one run; strings are JSON-decoded values.
type pageRun struct {
	dagID          string
	name           string
	deploymentID   *string
	parameters     []byte // the raw JSON object; nil when it is not an object
	stateType      *string
	stateTypeOfObj string // state.type, used when state_type is null
	expected       *time.Time
	start, end     *time.Time
	autoScheduled  bool
	note, dis, die wire.LabelValue
}

// pageRunKeys are the run keys read; see foldsToAny.
var pageRunKeys = []string{"name", "deployment_id", "parameters", "labels", "state_type", "state",
	"expected_start_time", "start_time", "end_time", "auto_scheduled"}

var pageLabelKeys = []string{LabelNote, LabelDataIntervalStart, LabelDataIntervalEnd}

// read reads the run at b[at] and returns the index just past it. It follows
// encoding/json's rules for wire.FlowRun: the last of repeated keys wins, null leaves a
// string or bool as it was and sets a pointer to nil.
func (r *pageRun) read(b []byte, at int) (int, bool) {
	if kindAt(b, at) == kindNull {
		return skipValue(b, at) // a null element decodes to the zero run, which has no deployment
	}
	return walkObject(b, at, func(key []byte, at int) (int, bool) {
		switch string(key) {
		case "labels":
			return r.readLabels(b, at)
		case "state":
			return r.readState(b, at)
		}
		kind, v, end, escaped, ok := scalarAt(b, at)
		if !ok {
			return 0, false
		}
		switch string(key) {
		case "name":
			ok = readPageString(kind, v, escaped, &r.name)
		case "deployment_id":
			ok = readPageStringPtr(kind, v, escaped, &r.deploymentID)
		case "parameters":
			r.parameters = nil // anything but an object becomes {}
			if kind == kindObject {
				r.parameters = v
			}
		case "state_type":
			ok = readPageStringPtr(kind, v, escaped, &r.stateType)
		case "expected_start_time":
			ok = readPageTime(kind, v, escaped, &r.expected)
		case "start_time":
			ok = readPageTime(kind, v, escaped, &r.start)
		case "end_time":
			ok = readPageTime(kind, v, escaped, &r.end)
		case "auto_scheduled":
			switch kind {
			case kindBool:
				r.autoScheduled = v[0] == 't'
			case kindNull:
			default:
				ok = false
			}
		default:
			ok = !foldsToAny(key, pageRunKeys)
		}
		return end, ok
	})
}

func (r *pageRun) readLabels(b []byte, at int) (int, bool) {
	if kindAt(b, at) == kindNull {
		return skipValue(b, at)
	}
	return walkObject(b, at, func(key []byte, at int) (int, bool) {
		var dst *wire.LabelValue
		switch string(key) {
		case LabelNote:
			dst = &r.note
		case LabelDataIntervalStart:
			dst = &r.dis
		case LabelDataIntervalEnd:
			dst = &r.die
		default:
			if foldsToAny(key, pageLabelKeys) {
				return 0, false
			}
			return skipValue(b, at)
		}
		kind, v, end, escaped, ok := scalarAt(b, at)
		if !ok {
			return 0, false
		}
		// As wire.LabelValue reads a value.
		switch kind {
		case kindString:
			var s string
			if !readPageString(kind, v, escaped, &s) {
				return 0, false
			}
			*dst = wire.LabelValue(s)
		case kindNumber, kindBool:
			*dst = wire.LabelValue(v)
		default:
			*dst = ""
		}
		return end, true
	})
}

func (r *pageRun) readState(b []byte, at int) (int, bool) {
	if kindAt(b, at) == kindNull {
		r.stateTypeOfObj = ""
		return skipValue(b, at)
	}
	// A repeated state object decodes into the same State: its type stays unless given.
	return walkObject(b, at, func(key []byte, at int) (int, bool) {
		switch {
		case string(key) == "type":
			kind, v, end, escaped, ok := scalarAt(b, at)
			if !ok || !readPageString(kind, v, escaped, &r.stateTypeOfObj) {
				return 0, false
			}
			return end, true
		case foldsToAny(key, []string{"type"}):
			return 0, false
		}
		return skipValue(b, at)
	})
}

// appendField writes DAGRun field i the way FromPrefectFlowRun and DAGRun.AppendJSON do.
func (r *pageRun) appendField(dst []byte, i int) []byte {
	switch i {
	case fieldDAGRunID:
		return AppendJSONString(dst, r.name)
	case fieldDAGID:
		return AppendJSONString(dst, r.dagID)
	case fieldLogicalDate, fieldExecutionDate:
		return appendNullableTime(dst, r.expected)
	case fieldStartDate:
		return appendNullableTime(dst, r.start)
	case fieldEndDate:
		return appendNullableTime(dst, r.end)
	case fieldDataIntervalStart:
		return appendLabelTime(dst, r.dis)
	case fieldDataIntervalEnd:
		return appendLabelTime(dst, r.die)
	case fieldRunType:
		if r.autoScheduled {
			return AppendJSONString(dst, "scheduled")
		}
		return AppendJSONString(dst, "manual")
	case fieldState:
		st := wire.StateType(r.stateTypeOfObj)
		if r.stateType != nil {
			st = wire.StateType(*r.stateType)
		}
		return AppendJSONString(dst, DAGRunState(st))
	case fieldExternalTrigger:
		return strconv.AppendBool(dst, !r.autoScheduled)
	case fieldConf:
		return appendConf(dst, r.parameters)
	case fieldNote:
		if r.note == "" {
			return append(dst, "null"...)
		}
		return AppendJSONString(dst, string(r.note))
	}
	return append(dst, "null"...) // last_scheduling_decision
}

// appendNullableTime is FormatTimePtr written into dst: no time (or the zero time) is null.
func appendNullableTime(dst []byte, t *time.Time) []byte {
	if t == nil || t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	return append(AppendTime(dst, *t), '"')
}

// appendLabelTime is labelTime written into dst.
func appendLabelTime(dst []byte, v wire.LabelValue) []byte {
	if v == "" {
		return append(dst, "null"...)
	}
	t, err := ParseTime(string(v))
	if err != nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	return append(AppendTime(dst, t), '"')
}

// readPageString reads a string value (v is its content) as encoding/json does; null
// leaves dst as it was.
func readPageString(kind jsonKind, v []byte, escaped bool, dst *string) bool {
	switch kind {
	case kindString:
		if !escaped && utf8.Valid(v) {
			*dst = string(v)
			return true
		}
		// Escapes and invalid UTF-8 (which becomes U+FFFD) decoded as encoding/json does.
		quoted := make([]byte, 0, len(v)+2)
		quoted = append(append(append(quoted, '"'), v...), '"')
		return json.Unmarshal(quoted, dst) == nil
	case kindNull:
		return true
	}
	return false
}

func readPageStringPtr(kind jsonKind, v []byte, escaped bool, dst **string) bool {
	switch kind {
	case kindNull:
		*dst = nil
		return true
	case kindString:
		var s string
		if !readPageString(kind, v, escaped, &s) {
			return false
		}
		*dst = &s
		return true
	}
	return false
}

// readPageTime reads an RFC 3339 time as time.Time's UnmarshalJSON does (which refuses
// escapes).
func readPageTime(kind jsonKind, v []byte, escaped bool, dst **time.Time) bool {
	switch kind {
	case kindNull:
		*dst = nil
		return true
	case kindString:
		if escaped {
			return false
		}
		var t time.Time
		if t.UnmarshalText(v) != nil {
			return false
		}
		*dst = &t
		return true
	}
	return false
}

// foldsToAny reports whether key differs from one of names (all lowercase ASCII) only in
// case, which encoding/json would still match to that field (with Unicode folding: "ſ" is
// an "s"). Prefect's keys are lowercase ASCII, which cannot fold to another such name.
func foldsToAny(key []byte, names []string) bool {
	plain := true
	for _, c := range key {
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return false
	}
	for _, n := range names {
		if string(key) != n && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}
