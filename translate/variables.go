package translate

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"airflow-prefect-gateway/prefect/wire"
)

// Airflow variables ↔ Prefect variables.
//
//   - key ↔ name, through EncodeName/DecodeName (VariableNames): keys that are Prefect names
//     are stored as they are, others under a reversible "airflow-…" encoding;
//   - value ↔ value: Airflow's values are strings, stored as JSON strings so that what a client
//     wrote reads back byte for byte. A variable made in Prefect with another JSON value (a
//     number, an object...) shows its JSON text, and a write to it that is valid JSON keeps
//     Prefect's type (a flow reading it still gets an object), anything else makes it a string;
//   - description ↔ the tag "airflow-description:<text>" (Prefect variables have tags, no
//     description); the variable's other tags are kept by every write.

// VariableDescriptionTag prefixes the tag that holds an Airflow variable's description.
const VariableDescriptionTag = "airflow-description:"

// Variable is Airflow's variable, generation-neutral.
type Variable struct {
	Key         string
	Value       string
	Description *string
}

// VariableFromPrefect is the Airflow variable a Prefect variable is.
func VariableFromPrefect(v wire.Variable) Variable {
	out := Variable{Key: DecodeName(v.Name, VariableNames), Value: VariableText(v.Value)}
	for _, t := range v.Tags {
		if d, ok := strings.CutPrefix(t, VariableDescriptionTag); ok {
			out.Description = &d
			break
		}
	}
	return out
}

// VariableText is a Prefect variable value as Airflow's string value: the string itself, or
// the JSON text of any other value.
func VariableText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// VariableValue is what to store in Prefect for the Airflow value text, given the value
// stored now (nil for a new variable): a JSON string, unless the stored value is another JSON
// type and text is JSON too.
func VariableValue(text string, current json.RawMessage) json.RawMessage {
	if len(current) > 0 && !isJSONString(current) && json.Valid([]byte(text)) {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(text)); err == nil {
			return b.Bytes()
		}
	}
	b, _ := json.Marshal(text) // a string always encodes
	return b
}

func isJSONString(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"'
}

// VariableTags are the tags of a variable whose description becomes desc: the other tags
// as they were, then the description's tag (none for nil).
func VariableTags(current []string, desc *string) []string {
	out := make([]string, 0, len(current)+1)
	for _, t := range current {
		if !strings.HasPrefix(t, VariableDescriptionTag) {
			out = append(out, t)
		}
	}
	if desc != nil {
		out = append(out, VariableDescriptionTag+*desc)
	}
	return out
}

// --- the v1 edge: bodies, masks, listings ---

// VariableBody is a v1 Variable body as Airflow's VariableSchema loads it.
type VariableBody struct {
	Variable
	// HasDescription is set when the body names a description.
	HasDescription bool
}

// ParseVariableBody reads the body of POST /variables and PATCH /variables/{key}: key and
// value are required strings, description an optional string (null is refused, as Airflow's
// schema refuses it), any other field is unknown. Failures are Airflow's 400 "Invalid Variable
// schema" with marshmallow's messages.
func ParseVariableBody(body []byte) (VariableBody, error) {
	sb, err := loadSchemaBody(body, "key", "value", "description")
	if err != nil {
		return VariableBody{}, err
	}
	key, _ := sb.str("key", true, false)
	value, _ := sb.str("value", true, false)
	desc, hasDesc := sb.str("description", false, false)
	if err := sb.done("Invalid Variable schema"); err != nil {
		return VariableBody{}, err
	}
	return VariableBody{Variable: Variable{Key: *key, Value: *value, Description: desc}, HasDescription: hasDesc}, nil
}

// VariableUpdate says which fields a PATCH writes.
type VariableUpdate struct {
	Value       *string
	Description *string
	// SetDescription is set when the description changes (to Description, nil included).
	SetDescription bool
}

// VariablePatch applies Airflow's rules to a PATCH /variables/{key} body: the body's key
// must be the path's ("Invalid post body"); without an update_mask the value and (when the
// body names it) the description are written; with one, each entry must be a field the
// schema loaded other than key. Airflow 2.10.5 checks the mask against the attribute names
// (val, description), so update_mask=value is refused there with "'value' is unknown or
// cannot be updated." and update_mask=val writes the value; the gateway answers the same.
func VariablePatch(pathKey string, b VariableBody, mask []string) (VariableUpdate, error) {
	if b.Key != pathKey {
		return VariableUpdate{}, &InputError{Title: "Invalid post body", Detail: "key from request body doesn't match uri parameter"}
	}
	if len(mask) == 0 {
		return VariableUpdate{Value: &b.Value, Description: b.Description, SetDescription: b.HasDescription}, nil
	}
	var u VariableUpdate
	for _, f := range mask {
		switch {
		case f == "val":
			u.Value = &b.Value
		case f == "description" && b.HasDescription:
			u.Description, u.SetDescription = b.Description, true
		default:
			return VariableUpdate{}, badInput("'%s' is unknown or cannot be updated.", f)
		}
	}
	return u, nil
}

// VariableOrderFields are the order_by values Airflow allows on GET /variables.
var VariableOrderFields = []string{"value", "key", "id"}

// SortVariables orders variables as Airflow's order_by does: id is creation order (the
// Prefect variables' creation times), key and value compare as bytes (SQLite's default
// collation). vars and created run in parallel.
func SortVariables(vars []Variable, created []int64, o OrderBy) {
	idx := make([]int, len(vars))
	for i := range idx {
		idx[i] = i
	}
	less := func(a, b int) bool {
		switch o.Field {
		case "key":
			return vars[a].Key < vars[b].Key
		case "value":
			if vars[a].Value != vars[b].Value {
				return vars[a].Value < vars[b].Value
			}
			return created[a] < created[b]
		default: // id
			if created[a] != created[b] {
				return created[a] < created[b]
			}
			return vars[a].Key < vars[b].Key
		}
	}
	sort.SliceStable(idx, func(i, j int) bool {
		if o.Desc {
			return less(idx[j], idx[i])
		}
		return less(idx[i], idx[j])
	})
	sortedV := make([]Variable, len(vars))
	sortedC := make([]int64, len(vars))
	for i, k := range idx {
		sortedV[i], sortedC[i] = vars[k], created[k]
	}
	copy(vars, sortedV)
	copy(created, sortedC)
}

// MaskVariable is a variable as a listing shows it: the value of a secret-looking key is
// "***" (the Airflow web UI hides those values in its list, and Airflow 3's API masks them;
// one variable read by its key shows the value).
func MaskVariable(v Variable, s Sensitive) Variable {
	if s.Hides(v.Key) {
		v.Value = Redacted
	}
	return v
}
