package translate

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Airflow's DAG-run JSON is written here by hand rather than by encoding/json: a list page
// of runs is most of the CPU the gateway spends, and the reflection walk (and re-encoding
// conf through a map) was a third of it. The bytes equal what encoding/json writes for the
// same values (HTML-safe escaping included), which the tests check.

// DAGRunFieldSet is a projection of DAGRun's fields (Airflow's `fields` parameter); the
// zero value keeps them all.
type DAGRunFieldSet uint16

// DAGRunFieldsOf turns validated field names (ParseDAGRunFields) into a set; unknown names
// are ignored and no names at all keeps every field.
func DAGRunFieldsOf(fields []string) DAGRunFieldSet {
	var set DAGRunFieldSet
	for _, f := range fields {
		for i, name := range DAGRunFields {
			if f == name {
				set |= 1 << i
			}
		}
	}
	return set
}

func (s DAGRunFieldSet) has(i int) bool { return s == 0 || s&(1<<i) != 0 }

// The indexes of DAGRunFields.
const (
	fieldDAGRunID = iota
	fieldDAGID
	fieldLogicalDate
	fieldExecutionDate
	fieldStartDate
	fieldEndDate
	fieldDataIntervalStart
	fieldDataIntervalEnd
	fieldLastSchedulingDecision
	fieldRunType
	fieldState
	fieldExternalTrigger
	fieldConf
	fieldNote
)

// dagRunFieldWriter writes the value of DAGRun field i (an index into DAGRunFields).
type dagRunFieldWriter interface {
	appendField(dst []byte, i int) []byte
}

// appendDAGRunObject writes a DAGRun object: the fields in set, in the order of
// DAGRunFields, their values from w.
func appendDAGRunObject[W dagRunFieldWriter](dst []byte, set DAGRunFieldSet, w W) []byte {
	dst = append(dst, '{')
	first := true
	for i, name := range DAGRunFields {
		if !set.has(i) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		dst = w.appendField(dst, i)
	}
	return append(dst, '}')
}

// AppendJSON appends r as Airflow's DAGRun object, keeping the fields in set, in the
// order of DAGRunFields.
func (r DAGRun) AppendJSON(dst []byte, set DAGRunFieldSet) []byte {
	return appendDAGRunObject(dst, set, &r)
}

func (r *DAGRun) appendField(dst []byte, i int) []byte {
	switch i {
	case fieldDAGRunID:
		return AppendJSONString(dst, r.DAGRunID)
	case fieldDAGID:
		return AppendJSONString(dst, r.DAGID)
	case fieldLogicalDate:
		return appendNullableString(dst, r.LogicalDate)
	case fieldExecutionDate:
		return appendNullableString(dst, r.ExecutionDate)
	case fieldStartDate:
		return appendNullableString(dst, r.StartDate)
	case fieldEndDate:
		return appendNullableString(dst, r.EndDate)
	case fieldDataIntervalStart:
		return appendNullableString(dst, r.DataIntervalStart)
	case fieldDataIntervalEnd:
		return appendNullableString(dst, r.DataIntervalEnd)
	case fieldLastSchedulingDecision:
		return appendNullableString(dst, r.LastSchedulingDecision)
	case fieldRunType:
		return AppendJSONString(dst, r.RunType)
	case fieldState:
		return AppendJSONString(dst, r.State)
	case fieldExternalTrigger:
		return strconv.AppendBool(dst, r.ExternalTrigger)
	case fieldConf:
		return appendConf(dst, r.Conf)
	case fieldNote:
		return appendNullableString(dst, r.Note)
	}
	return dst
}

// appendConf writes a conf: the object itself, or {} for anything else (null, none).
func appendConf(dst []byte, conf []byte) []byte {
	if isJSONObject(conf) {
		return append(dst, conf...)
	}
	return append(dst, emptyObject...)
}

// MarshalJSON keeps json.Marshal and Echo's c.JSON writing the same bytes as AppendJSON.
func (r DAGRun) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil, 0), nil }

// AppendDAGRunCollection appends Airflow's DAGRunCollection of runs, each projected to set.
func AppendDAGRunCollection(dst []byte, runs []DAGRun, set DAGRunFieldSet, total int) []byte {
	dst = append(dst, `{"dag_runs":[`...)
	for i, r := range runs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = r.AppendJSON(dst, set)
	}
	dst = append(dst, `],"total_entries":`...)
	dst = strconv.AppendInt(dst, int64(total), 10)
	return append(dst, '}')
}

func appendNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return AppendJSONString(dst, *s)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string exactly as encoding/json writes it: HTML
// characters and U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendTime appends t in UTC the way Airflow writes it (Python's isoformat: AirflowTimeLayout,
// or AirflowWholeSecondLayout when the microseconds are zero), without the general layout
// interpreter of time.Format.
func AppendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	micros := t.Nanosecond() / 1000
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		if micros == 0 {
			return t.AppendFormat(dst, AirflowWholeSecondLayout)
		}
		return t.AppendFormat(dst, AirflowTimeLayout)
	}
	hour, minute, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, sec, 2)
	if micros != 0 {
		dst = append(dst, '.')
		dst = appendDigits(dst, micros, 6)
	}
	return append(dst, "+00:00"...)
}

// appendDigits appends v (≥ 0) zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:width]...)
}

var _ json.Marshaler = DAGRun{}
