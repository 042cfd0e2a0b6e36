package translate

import (
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
func AppendDAGRunPageAnswer(dst []byte, answer []byte, dagOf func(deploymentID []byte) (string, bool), set DAGRunFieldSet) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, `{"dag_runs":[`...)
	var total []byte
	seenResults := false
	end, ok := walkObject(answer, skipSpace(answer, 0), func(key objectKey, at int) (int, bool) {
		switch string(key.name) {
		case "results":
			if seenResults {
				return 0, false // repeated: the ordinary decoder keeps the last one
			}
			seenResults = true
			var end int
			var ok bool
			dst, end, ok = appendPageRuns(dst, answer, at, dagOf, set, false)
			return end, ok
		case "count":
			if kindAt(answer, at) != kindNumber {
				return 0, false
			}
			end, ok := numberEnd(answer, at)
			total = answer[at:end]
			return end, ok
		}
		if key.foldsToAny([]string{"results", "count"}) {
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

// AppendDAGRunArrayAnswer is AppendDAGRunPageAnswer for an answer of Prefect's
// /flow_runs/filter: a JSON array of runs, written in reverse when reverse is set (Airflow's
// default order is Prefect's read backwards), with total as total_entries. It gives up
// where AppendDAGRunPageAnswer does, and on an answer that is not an array.
func AppendDAGRunArrayAnswer(dst []byte, answer []byte, dagOf func(deploymentID []byte) (string, bool), set DAGRunFieldSet, total int, reverse bool) ([]byte, bool) {
	start := len(dst)
	at := skipSpace(answer, 0)
	if kindAt(answer, at) != kindArray {
		return dst, false
	}
	dst = append(dst, `{"dag_runs":[`...)
	dst, end, ok := appendPageRuns(dst, answer, at, dagOf, set, reverse)
	if !ok || skipSpace(answer, end) != len(answer) {
		return dst[:start], false
	}
	dst = append(dst, `],"total_entries":`...)
	dst = strconv.AppendInt(dst, int64(total), 10)
	return append(dst, '}'), true
}

// appendPageRuns writes the runs of the array (or null) at b[at] as DAGRun objects, comma
// separated, last first when reverse is set, and returns the index just past the array.
func appendPageRuns(dst, b []byte, at int, dagOf func([]byte) (string, bool), set DAGRunFieldSet, reverse bool) ([]byte, int, bool) {
	if kindAt(b, at) == kindNull {
		end, ok := skipValue(b, at)
		return dst, end, ok
	}
	first := true
	write := func(r *pageRun) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendDAGRunObject(dst, set, r)
	}
	var r pageRun // one for the page: the scanner's callbacks would move one per run to the heap
	var held []pageRun
	end, ok := walkArray(b, at, func(at int) (int, bool) {
		r = pageRun{}
		end, ok := r.read(b, at)
		if !ok {
			return 0, false
		}
		if !r.hasDeployment {
			return end, true
		}
		if r.dagID, ok = dagOf(r.deploymentID); !ok {
			return 0, false
		}
		if reverse {
			held = append(held, r) // its slices point into b, which outlives the page
		} else {
			write(&r)
		}
		return end, true
	})
	if !ok {
		return dst, 0, false
	}
	for i := len(held) - 1; i >= 0; i-- {
		write(&held[i])
	}
	return dst, end, true
}

// pageRun is what AppendDAGRunPageAnswer reads of one run. Its byte slices are decoded
// string contents, pointing into the answer unless the string held escapes (rare), so that a
// page costs no allocation per run.
type pageRun struct {
	dagID          string
	name           []byte
	deploymentID   []byte
	hasDeployment  bool
	parameters     []byte // the raw JSON object; nil when it is not an object
	stateType      []byte
	hasStateType   bool
	stateTypeOfObj []byte // state.type, used when state_type is null
	expected       pageTime
	start, end     pageTime
	autoScheduled  bool
	note, dis, die wire.LabelValue
}

// pageTime is a time as a run holds it: the text Prefect sent and what it parses to.
type pageTime struct {
	text []byte
	t    time.Time
	set  bool
}

// pageRunKeys are the run keys read; see foldsToAny.
var pageRunKeys = []string{"name", "deployment_id", "parameters", "labels", "state_type", "state",
	"expected_start_time", "start_time", "end_time", "auto_scheduled"}

// runKeyLengths has, for each first byte of the run keys read, a bit for each of their
// lengths: a key whose first byte and length match none is not one of them.
var runKeyLengths = func() (lengths [256]uint32) {
	for _, k := range pageRunKeys {
		lengths[k[0]] |= 1 << len(k)
	}
	return lengths
}()

// mayBeRunKey is false for a key that is surely not one of pageRunKeys (most of a run's
// keys), before any comparison of the bytes.
func mayBeRunKey(key []byte) bool {
	return len(key) > 0 && len(key) < 32 && runKeyLengths[key[0]]&(1<<len(key)) != 0
}

var pageLabelKeys = []string{LabelNote, LabelDataIntervalStart, LabelDataIntervalEnd}

// read reads the run at b[at] and returns the index just past it. It follows
// encoding/json's rules for wire.FlowRun: the last of repeated keys wins, null leaves a
// string or bool as it was and sets a pointer to nil.
func (r *pageRun) read(b []byte, at int) (int, bool) {
	if kindAt(b, at) == kindNull {
		return skipValue(b, at) // a null element decodes to the zero run, which has no deployment
	}
	return walkObject(b, at, func(key objectKey, at int) (int, bool) {
		if !mayBeRunKey(key.name) { // most of a run's keys: skipped without matching
			if key.foldsToAny(pageRunKeys) {
				return 0, false
			}
			return skipValue(b, at)
		}
		switch string(key.name) {
		case "labels":
			return r.readLabels(b, at)
		case "state":
			return r.readState(b, at)
		}
		kind, v, end, escaped, ok := scalarAt(b, at)
		if !ok {
			return 0, false
		}
		switch string(key.name) {
		case "name":
			ok = readPageString(kind, v, escaped, &r.name)
		case "deployment_id":
			ok = readPageStringPtr(kind, v, escaped, &r.deploymentID, &r.hasDeployment)
		case "parameters":
			r.parameters = nil // anything but an object becomes {}
			if kind == kindObject {
				r.parameters = v
			}
		case "state_type":
			ok = readPageStringPtr(kind, v, escaped, &r.stateType, &r.hasStateType)
		case "expected_start_time":
			ok = r.expected.read(kind, v, escaped)
		case "start_time":
			ok = r.start.read(kind, v, escaped)
		case "end_time":
			ok = r.end.read(kind, v, escaped)
		case "auto_scheduled":
			switch kind {
			case kindBool:
				r.autoScheduled = v[0] == 't'
			case kindNull:
			default:
				ok = false
			}
		default:
			ok = !key.foldsToAny(pageRunKeys)
		}
		return end, ok
	})
}

func (r *pageRun) readLabels(b []byte, at int) (int, bool) {
	if kindAt(b, at) == kindNull {
		return skipValue(b, at)
	}
	return walkObject(b, at, func(key objectKey, at int) (int, bool) {
		var dst *wire.LabelValue
		switch string(key.name) {
		case LabelNote:
			dst = &r.note
		case LabelDataIntervalStart:
			dst = &r.dis
		case LabelDataIntervalEnd:
			dst = &r.die
		case LabelLogicalDate:
			// An Airflow 3 run whose logical date is not its start: rare, read the
			// ordinary way (FromPrefectFlowRun).
			return 0, false
		default:
			if key.foldsToAny(pageLabelKeys) {
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
			var s []byte
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
		r.stateTypeOfObj = nil
		return skipValue(b, at)
	}
	// A repeated state object decodes into the same State: its type stays unless given.
	return walkObject(b, at, func(key objectKey, at int) (int, bool) {
		switch {
		case string(key.name) == "type":
			kind, v, end, escaped, ok := scalarAt(b, at)
			if !ok || !readPageString(kind, v, escaped, &r.stateTypeOfObj) {
				return 0, false
			}
			return end, true
		case key.foldsToAny([]string{"type"}):
			return 0, false
		}
		return skipValue(b, at)
	})
}

// appendField writes DAGRun field i the way FromPrefectFlowRun and DAGRun.AppendJSON do.
func (r *pageRun) appendField(dst []byte, i int) []byte {
	switch i {
	case fieldDAGRunID:
		return appendJSONBytes(dst, r.name)
	case fieldDAGID:
		return AppendJSONString(dst, r.dagID)
	case fieldLogicalDate, fieldExecutionDate:
		return r.expected.appendJSON(dst)
	case fieldStartDate:
		return r.start.appendJSON(dst)
	case fieldEndDate:
		return r.end.appendJSON(dst)
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
		st := r.stateTypeOfObj
		if r.hasStateType {
			st = r.stateType
		}
		// A state type is short: the conversion stays on the stack.
		return AppendJSONString(dst, DAGRunState(wire.StateType(st)))
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

// appendJSONBytes is AppendJSONString for a string's bytes: copied as they are when they
// need no escaping (Prefect's names and IDs), else written by AppendJSONString.
func appendJSONBytes(dst, s []byte) []byte {
	for _, c := range s {
		if !jsonSafeASCII[c] {
			return AppendJSONString(dst, string(s))
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// jsonSafeASCII marks the bytes encoding/json writes as they are (it escapes <, > and &).
var jsonSafeASCII = func() (safe [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return safe
}()

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
func readPageString(kind jsonKind, v []byte, escaped bool, dst *[]byte) bool {
	switch kind {
	case kindString:
		if !escaped && utf8.Valid(v) {
			*dst = v
			return true
		}
		// Escapes and invalid UTF-8 (which becomes U+FFFD) decoded as encoding/json does.
		quoted := make([]byte, 0, len(v)+2)
		quoted = append(append(append(quoted, '"'), v...), '"')
		var s string
		if json.Unmarshal(quoted, &s) != nil {
			return false
		}
		*dst = []byte(s)
		return true
	case kindNull:
		return true
	}
	return false
}

// readPageStringPtr reads what decodes into a *string: null makes it nil (has false).
func readPageStringPtr(kind jsonKind, v []byte, escaped bool, dst *[]byte, has *bool) bool {
	switch kind {
	case kindNull:
		*dst, *has = nil, false
		return true
	case kindString:
		var s []byte
		if !readPageString(kind, v, escaped, &s) {
			return false
		}
		*dst, *has = s, true
		return true
	}
	return false
}

// read reads an RFC 3339 time as time.Time's UnmarshalJSON does into a *time.Time (which
// refuses escapes; null makes it nil).
func (pt *pageTime) read(kind jsonKind, v []byte, escaped bool) bool {
	switch kind {
	case kindNull:
		*pt = pageTime{}
		return true
	case kindString:
		if escaped {
			return false
		}
		var t time.Time
		if t.UnmarshalText(v) != nil {
			return false
		}
		*pt = pageTime{text: v, t: t, set: true}
		return true
	}
	return false
}

// appendJSON writes the time as FormatTimePtr does (no time, or the zero time, is null).
// Prefect writes UTC with microseconds, or none when they are zero ("…T00:00:00.123456Z",
// "…T00:00:00Z"); such a text, once parsed, already holds Airflow's digits, so they are
// copied rather than formatted again.
func (pt *pageTime) appendJSON(dst []byte) []byte {
	if !pt.set || pt.t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	switch text := pt.text; {
	case len(text) == len("2006-01-02T15:04:05.000000Z") && text[19] == '.' && text[26] == 'Z' &&
		string(text[20:26]) != "000000":
		dst = append(dst, text[:26]...)
		dst = append(dst, "+00:00"...)
	case len(text) == len("2006-01-02T15:04:05Z") && text[19] == 'Z':
		dst = append(dst, text[:19]...)
		dst = append(dst, "+00:00"...)
	default:
		dst = AppendTime(dst, pt.t)
	}
	return append(dst, '"')
}
