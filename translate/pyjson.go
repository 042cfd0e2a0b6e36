package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// JSON as Python writes it. Airflow re-encodes some values with json.dumps before it
// answers (a connection's extra after redaction, the configuration as JSON), so those
// answers keep Python's spelling: ", " and ": " between items, non-ASCII escaped as \uXXXX,
// object keys in their original order (a repeated key keeps its first place and its last
// value, as a Python dict does), integers as written, floats as Python's repr prints them.

// orderedObject is a JSON object with its keys in document order.
type orderedObject []keyValue

type keyValue struct {
	key   string
	value any
}

var errNotJSONValue = errors.New("not a JSON value")

// decodeOrdered reads one JSON value (the decoder must use UseNumber).
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			var obj orderedObject
			at := map[string]int{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, errNotJSONValue
				}
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				if i, seen := at[key]; seen {
					obj[i].value = v
					continue
				}
				at[key] = len(obj)
				obj = append(obj, keyValue{key, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if obj == nil {
				obj = orderedObject{}
			}
			return obj, nil
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return list, nil
		}
		return nil, errNotJSONValue
	default:
		return t, nil // string, json.Number, bool, nil
	}
}

// writePyJSON writes v as Python's json.dumps(v) does with its default options.
func writePyJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writePyString(b, x)
	case json.Number:
		b.WriteString(pyNumber(string(x)))
	case orderedObject:
		b.WriteByte('{')
		for i, kv := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyString(b, kv.key)
			b.WriteString(": ")
			writePyJSON(b, kv.value)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyJSON(b, e)
		}
		b.WriteByte(']')
	default:
		panic(fmt.Sprintf("writePyJSON: %T", v)) // decodeOrdered yields only the types above
	}
}

// pyNumber is a JSON number as Python prints it after json.loads: an integer keeps its
// digits ("-0" is 0), a number with a fraction or an exponent is a float in repr form.
func pyNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if lit == "-0" {
			return "0"
		}
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit // out of float range: Python would print inf; keep what was sent
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64) // "1.5e+300", "1e-05": Python's spelling too
	exp, _ := strconv.Atoi(sci[strings.IndexByte(sci, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return sci
	}
	fixed := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(fixed, ".") {
		fixed += ".0"
	}
	return fixed
}

// writePyString writes s as json.dumps does with ensure_ascii=True.
func writePyString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r >= 0x20 && r < 0x7f {
				b.WriteRune(r)
				continue
			}
			units := []rune{r}
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				units = []rune{hi, lo}
			}
			for _, u := range units {
				b.WriteString(`\u`)
				b.WriteByte(hex[u>>12&0xf])
				b.WriteByte(hex[u>>8&0xf])
				b.WriteByte(hex[u>>4&0xf])
				b.WriteByte(hex[u&0xf])
			}
		}
	}
	b.WriteByte('"')
}

// PyJSONIndent writes v (a value built of maps with ordered keys, see PyObject) as
// json.dumps(v, indent=n): the form of Airflow's JSON configuration answer.
func PyJSONIndent(v any, n int) string {
	var b bytes.Buffer
	writePyIndent(&b, v, strings.Repeat(" ", n), 0)
	return b.String()
}

// PyObject is an object for PyJSONIndent, keys in the given order.
type PyObject []PyField

// PyField is one key of a PyObject.
type PyField struct {
	Key   string
	Value any // string, bool, nil, PyObject or []any
}

func writePyIndent(b *bytes.Buffer, v any, unit string, level int) {
	nl := func(l int) {
		b.WriteByte('\n')
		for i := 0; i < l; i++ {
			b.WriteString(unit)
		}
	}
	switch x := v.(type) {
	case PyObject:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, f := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(level + 1)
			writePyString(b, f.Key)
			b.WriteString(": ")
			writePyIndent(b, f.Value, unit, level+1)
		}
		nl(level)
		b.WriteByte('}')
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(level + 1)
			writePyIndent(b, e, unit, level+1)
		}
		nl(level)
		b.WriteByte(']')
	default:
		writePyJSON(b, v)
	}
}
