package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Airflow 2.10's API answers are written by connexion's Jsonifier over Flask's JSON provider:
// json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True) followed by "\n" (connexion
// 2.14 flask_api.py, `Jsonifier(flask.json, indent=2)`; Flask's DefaultJSONProvider sorts keys
// and escapes everything outside ASCII). Scripts grep that text ("state": "success"), so the
// gateway writes the same bytes: AppendPythonJSON rewrites any JSON value into that form.
//
// What it keeps and what it changes, exactly as Python would for the decoded value:
//   - members of every object sorted by key (code point order, as Python sorts str);
//   - two spaces of indent per level, ", " never at a line end, ": " between key and value,
//     "{}" and "[]" for empty containers;
//   - strings re-escaped as Python's ensure_ascii does: \" \\ \b \f \n \r \t, every other
//     byte outside 0x20–0x7e as \u00XX / \uXXXX (lowercase hex), characters beyond the BMP as
//     a surrogate pair; "/" is not escaped, nor are < > & (which encoding/json escapes);
//   - numbers, true, false and null copied as they are: what Prefect (Python) wrote stays
//     1.0, and Go writes integers as Python does.

// ErrNotJSON is AppendPythonJSON's answer to input that is not one JSON value.
var ErrNotJSON = errors.New("not a JSON value")

// AppendPythonJSON appends src, one JSON value, as Airflow writes it: sorted keys, indented
// by two spaces when indent is set (else Python's compact separators "," and ":"), strings
// escaped to ASCII. It adds no trailing newline (AppendAirflowJSON does).
func AppendPythonJSON(dst, src []byte, indent bool) ([]byte, error) {
	f := pyFormatters.Get().(*pyFormatter)
	defer pyFormatters.Put(f)
	f.indent = indent
	start := len(dst)
	i := skipSpace(src, 0)
	out, end, ok := f.value(dst, src, i, 0)
	if !ok || skipSpace(src, end) != len(src) {
		return dst[:start], ErrNotJSON
	}
	return out, nil
}

// AppendAirflowJSON is AppendPythonJSON indented, with the newline connexion ends a body
// with.
func AppendAirflowJSON(dst, src []byte) ([]byte, error) {
	out, err := AppendPythonJSON(dst, src, true)
	if err != nil {
		return out, err
	}
	return append(out, '\n'), nil
}

// pyMember is one member of an object being sorted: its decoded key and its value's span.
type pyMember struct {
	key        []byte
	start, end int
}

// pyFormatter holds the member stack reused across objects, so that a page of runs sorts
// its objects without allocating per object.
type pyFormatter struct {
	indent  bool
	members []pyMember
}

var pyFormatters = sync.Pool{New: func() any { return &pyFormatter{members: make([]pyMember, 0, 64)} }}

func (f *pyFormatter) newline(dst []byte, depth int) []byte {
	if !f.indent {
		return dst
	}
	dst = append(dst, '\n')
	for range depth {
		dst = append(dst, ' ', ' ')
	}
	return dst
}

func (f *pyFormatter) value(dst, b []byte, i, depth int) ([]byte, int, bool) {
	if depth > maxDepth {
		return dst, 0, false
	}
	switch kindAt(b, i) {
	case kindObject:
		return f.object(dst, b, i, depth)
	case kindArray:
		return f.array(dst, b, i, depth)
	case kindString:
		end, escaped, ok := stringEnd(b, i)
		if !ok {
			return dst, 0, false
		}
		return appendPyString(dst, b[i+1:end-1], escaped), end, true
	case kindNumber, kindBool, kindNull:
		end, ok := skipValue(b, i)
		if !ok {
			return dst, 0, false
		}
		return append(dst, b[i:end]...), end, true
	}
	return dst, 0, false
}

func (f *pyFormatter) array(dst, b []byte, i, depth int) ([]byte, int, bool) {
	dst = append(dst, '[')
	n := 0
	end, ok := walkArray(b, i, func(at int) (int, bool) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = f.newline(dst, depth+1)
		var end int
		var ok bool
		dst, end, ok = f.value(dst, b, at, depth+1)
		return end, ok
	})
	if !ok {
		return dst, 0, false
	}
	if n > 0 {
		dst = f.newline(dst, depth)
	}
	return append(dst, ']'), end, true
}

func (f *pyFormatter) object(dst, b []byte, i, depth int) ([]byte, int, bool) {
	base := len(f.members)
	end, ok := walkObject(b, i, func(key objectKey, at int) (int, bool) {
		end, ok := skipValue(b, at)
		if ok {
			// walkObject's key points into b unless it had escapes; either way it stays
			// valid while b does.
			f.members = append(f.members, pyMember{key: key.name, start: at, end: end})
		}
		return end, ok
	})
	if !ok {
		f.members = f.members[:base]
		return dst, 0, false
	}
	ms := f.members[base:]
	if !slices.IsSortedFunc(ms, comparePyMembers) {
		slices.SortStableFunc(ms, comparePyMembers)
	}
	dst = append(dst, '{')
	for n, m := range ms {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = f.newline(dst, depth+1)
		dst = appendPyString(dst, m.key, false)
		dst = append(dst, ':')
		if f.indent {
			dst = append(dst, ' ')
		}
		// Nested objects push their members after ours and pop them again: ms stays intact.
		var ok bool
		dst, _, ok = f.value(dst, b, m.start, depth+1)
		if !ok {
			f.members = f.members[:base]
			return dst, 0, false
		}
	}
	if len(ms) > 0 {
		dst = f.newline(dst, depth)
	}
	f.members = f.members[:base]
	return append(dst, '}'), end, true
}

func comparePyMembers(a, b pyMember) int { return bytes.Compare(a.key, b.key) }

// appendPyString writes the string s as Python's ensure_ascii does; escaped says s is JSON
// string content with escapes still in it (decoded first), else it is the text itself.
func appendPyString(dst, s []byte, escaped bool) []byte {
	if escaped {
		var v string
		quoted := make([]byte, 0, len(s)+2)
		quoted = append(append(append(quoted, '"'), s...), '"')
		if json.Unmarshal(quoted, &v) == nil {
			s = []byte(v)
		}
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		if c < utf8.RuneSelf {
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
				dst = appendUEscape(dst, rune(c))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r > 0xFFFF {
			r1, r2 := utf16.EncodeRune(r)
			dst = appendUEscape(appendUEscape(dst, r1), r2)
		} else {
			dst = appendUEscape(dst, r) // invalid UTF-8 is U+FFFD, as encoding/json has it
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendUEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}
