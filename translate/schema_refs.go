package translate

import "strings"

// Prefect writes a deployment's parameter schema as one JSON schema whose properties may point
// into its shared definitions ({"$ref": "#/definitions/Config"}, pydantic's layout; "$defs" in
// newer ones). Airflow's DAG params carry each parameter's schema on its own, so a reference
// left as is would point at nothing: it is replaced by what it names.
//
// Bounded whatever the schema: references nest at most maxRefDepth deep, a definition that
// refers back to itself (a tree of nodes) is cut where it recurs, and no more than
// maxSchemaNodes values are written in all, so that definitions that refer to each other
// many times over cannot blow a schema up exponentially. Where a reference is cut, its place
// holds the definition's type and title only, which still validates what the definition
// would, only less strictly.

const (
	maxRefDepth    = 16
	maxSchemaNodes = 10000
)

type refResolver struct {
	defs   map[string]map[string]any // "#/definitions/X" and "#/$defs/X" → the definition
	budget int
}

func newRefResolver(schema map[string]any) *refResolver {
	r := &refResolver{defs: map[string]map[string]any{}, budget: maxSchemaNodes}
	for _, key := range []string{"definitions", "$defs"} {
		defs, _ := schema[key].(map[string]any)
		for name, d := range defs {
			if m, ok := d.(map[string]any); ok {
				r.defs["#/"+key+"/"+escapePointer(name)] = m
			}
		}
	}
	return r
}

// escapePointer escapes a name as a JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// resolve returns v with every local reference replaced by its definition. v is not changed.
func (r *refResolver) resolve(v any, depth int, open map[string]bool) any {
	if r.budget--; r.budget < 0 {
		return cutValue(v)
	}
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok {
			return r.resolveRef(x, ref, depth, open)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = r.resolve(e, depth, open)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.resolve(e, depth, open)
		}
		return out
	}
	return v
}

func (r *refResolver) resolveRef(node map[string]any, ref string, depth int, open map[string]bool) any {
	def, known := r.defs[ref]
	if !known {
		return r.siblings(node, nil, depth, open) // not ours to resolve (remote, or dangling): drop it
	}
	var body map[string]any
	if open[ref] || depth >= maxRefDepth || r.budget <= 0 {
		body = stub(def) // recursion, or too deep: cut here
	} else {
		open[ref] = true
		body, _ = r.resolve(def, depth+1, open).(map[string]any)
		delete(open, ref)
	}
	return r.siblings(node, body, depth, open)
}

// siblings lays the keys beside a $ref (title, description, default) over what it names.
func (r *refResolver) siblings(node, body map[string]any, depth int, open map[string]bool) map[string]any {
	out := make(map[string]any, len(body)+len(node))
	for k, v := range body {
		out[k] = v
	}
	for k, v := range node {
		if k != "$ref" {
			out[k] = r.resolve(v, depth, open)
		}
	}
	return out
}

// stub keeps what can be said of a definition without expanding it.
func stub(def map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"type", "title", "description"} {
		if v, ok := def[k]; ok {
			out[k] = v
		}
	}
	return out
}

// cutValue is what stands for a value once the node budget is spent.
func cutValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return stub(x)
	case []any:
		return []any{}
	}
	return v
}
