package translate

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"

	"airflow-prefect-gateway/prefect/wire"
)

// DAG source (GET /dagSources/{file_token}). Airflow answers the DAG file's code, which its
// database holds. Prefect holds no flow code: a deployment records where the code lives (its
// entrypoint, working path and pull steps) and a worker fetches it at run time. The gateway
// answers that record as a Python comment block, so that the answer is still valid Python
// and tools that show "the source" show where it really is. Pull-step values that look like
// credentials are masked; Prefect template references ({{ ... }}) are kept, as they name a
// block or variable without revealing it.

// DAGSourceInfo is what a DAG's source answer is built from.
type DAGSourceInfo struct {
	DAGID      string
	FlowName   string
	Deployment wire.Deployment
}

// DAGSourceText renders what Prefect knows of a DAG's source.
func DAGSourceText(in DAGSourceInfo) string {
	var b strings.Builder
	d := in.Deployment
	line := func(s string) {
		b.WriteString("#")
		if s != "" {
			b.WriteString(" ")
			b.WriteString(s)
		}
		b.WriteString("\n")
	}
	line("Airflow DAG " + in.DAGID + " is Prefect deployment " + quote(in.FlowName+"/"+d.Name) + " (id " + d.ID + ").")
	line("Prefect does not hold the flow's code. Where the code lives, as the deployment records it:")
	line("")
	line("  entrypoint: " + orNone(d.Entrypoint))
	line("  path: " + orNone(d.Path))
	if len(d.PullSteps) == 0 {
		line("  pull steps: none")
	} else {
		line("  pull steps:")
		for _, step := range d.PullSteps {
			raw, err := json.Marshal(maskSecrets(step))
			if err != nil {
				// Decoded from JSON, so it encodes again; say so rather than drop the step.
				raw = []byte(`"(a step that cannot be shown)"`)
			}
			line("    - " + string(raw))
		}
	}
	if d.Version != nil && *d.Version != "" {
		line("  version: " + *d.Version)
	}
	if d.Updated != nil {
		line("  deployment updated: " + FormatTime(*d.Updated))
	}
	return b.String()
}

func quote(s string) string {
	raw, _ := json.Marshal(s)
	return string(raw)
}

func orNone(s *string) string {
	if s == nil || *s == "" {
		return "(none)"
	}
	return *s
}

// secretWords mark a pull-step key whose literal value is a credential.
var secretWords = []string{"token", "password", "passwd", "secret", "credential", "api_key", "apikey", "private_key", "auth"}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

const maskedValue = "***"

// maskSecrets copies a decoded JSON value with credential-like values masked: values under
// secret-looking keys (unless they are template references) and passwords in URLs.
func maskSecrets(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := x[k]
			if secretKey(k) {
				switch s := val.(type) {
				case nil, map[string]any, []any:
					// nothing to hide yet: look inside
				case string:
					if s != "" && !isTemplateReference(s) {
						out[k] = maskedValue
						continue
					}
				default:
					out[k] = maskedValue
					continue
				}
			}
			out[k] = maskSecrets(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskSecrets(e)
		}
		return out
	case string:
		return maskURLPassword(x)
	}
	return v
}

// isTemplateReference reports whether s is only a Prefect template such as
// "{{ prefect.blocks.secret.github-token }}".
func isTemplateReference(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}")
}

// maskURLPassword hides the user information of a URL (https://user:token@host/...).
func maskURLPassword(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User("x")
	return strings.Replace(u.String(), "x@", maskedValue+"@", 1)
}
