package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Airflow loads request bodies with marshmallow schemas and words their failures as
// str(err.messages): a Python dict of field → list of messages, e.g.
// "{'key': ['Missing data for field.'], 'bogus': ['Unknown field.']}". The helpers here read
// a body field by field the way those schemas do and word the failures the same way.

const (
	msgMissing = "Missing data for field."
	msgNull    = "Field may not be null."
	msgUnknown = "Unknown field." // also what a read-only (dump_only) field gets on load
	msgString  = "Not a valid string."
	msgInteger = "Not a valid integer."
	msgBoolean = "Not a valid boolean."
)

// fieldErrors collects marshmallow-style messages in the order fields were checked.
type fieldErrors struct {
	order []string
	msgs  map[string][]string
}

func (f *fieldErrors) add(field, msg string) {
	if f.msgs == nil {
		f.msgs = map[string][]string{}
	}
	if _, ok := f.msgs[field]; !ok {
		f.order = append(f.order, field)
	}
	f.msgs[field] = append(f.msgs[field], msg)
}

func (f *fieldErrors) empty() bool { return len(f.order) == 0 }

// String is Python's repr of the messages dict.
func (f *fieldErrors) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range f.order {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyRepr(k))
		b.WriteString(": [")
		for j, m := range f.msgs[k] {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyRepr(m))
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.String()
}

// pyRepr is Python's repr of a str: single quotes unless the text holds one and no double
// quote, backslash escapes for quotes, backslashes and control characters.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// schemaBody is a request body read as a marshmallow schema reads it.
type schemaBody struct {
	obj     map[string]json.RawMessage
	unknown []string
	errs    fieldErrors
}

// loadSchemaBody decodes a JSON object body. known are the fields the schema loads; any
// other key is an "Unknown field." (reported after the known fields, sorted).
func loadSchemaBody(body []byte, known ...string) (*schemaBody, error) {
	obj, err := bodyObject(body)
	if err != nil {
		return nil, err
	}
	sb := &schemaBody{obj: obj}
	for k := range obj {
		if !containsString(known, k) {
			sb.unknown = append(sb.unknown, k)
		}
	}
	sort.Strings(sb.unknown)
	return sb, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (sb *schemaBody) has(key string) bool { _, ok := sb.obj[key]; return ok }

func (sb *schemaBody) isNull(key string) bool {
	raw, ok := sb.obj[key]
	return ok && bodyNull(raw)
}

// str reads a string field. required: absent is "Missing data for field."; nullable: null
// is allowed (nil); otherwise null is "Field may not be null.". set reports presence.
func (sb *schemaBody) str(key string, required, nullable bool) (v *string, set bool) {
	raw, ok := sb.obj[key]
	if !ok {
		if required {
			sb.errs.add(key, msgMissing)
		}
		return nil, false
	}
	if bodyNull(raw) {
		if !nullable {
			sb.errs.add(key, msgNull)
		}
		return nil, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		sb.errs.add(key, msgString)
		return nil, true
	}
	return &s, true
}

// integer reads an integer field (marshmallow's Integer: a JSON integer, or a float with no
// fraction).
func (sb *schemaBody) integer(key string, required, nullable bool) (v *int, set bool) {
	raw, ok := sb.obj[key]
	if !ok {
		if required {
			sb.errs.add(key, msgMissing)
		}
		return nil, false
	}
	if bodyNull(raw) {
		if !nullable {
			sb.errs.add(key, msgNull)
		}
		return nil, true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var n json.Number
	if err := dec.Decode(&n); err != nil {
		sb.errs.add(key, msgInteger)
		return nil, true
	}
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != float64(int64(f)) {
			sb.errs.add(key, msgInteger)
			return nil, true
		}
		i = int64(f)
	}
	if i < -1<<31 || i > 1<<31-1 {
		sb.errs.add(key, msgInteger)
		return nil, true
	}
	x := int(i)
	return &x, true
}

// boolean reads a boolean field.
func (sb *schemaBody) boolean(key string, nullable bool) (v *bool, set bool) {
	raw, ok := sb.obj[key]
	if !ok {
		return nil, false
	}
	if bodyNull(raw) {
		if !nullable {
			sb.errs.add(key, msgNull)
		}
		return nil, true
	}
	var x bool
	if err := json.Unmarshal(raw, &x); err != nil {
		sb.errs.add(key, msgBoolean)
		return nil, true
	}
	return &x, true
}

// done is the 400 for the collected messages (nil when there are none), titled as the
// endpoint titles it ("" for the default "Bad Request").
func (sb *schemaBody) done(title string) error {
	for _, k := range sb.unknown {
		sb.errs.add(k, msgUnknown)
	}
	sb.unknown = nil
	if sb.errs.empty() {
		return nil
	}
	return &InputError{Title: title, Detail: sb.errs.String()}
}
