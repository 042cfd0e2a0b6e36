package translate

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Secret-looking names, as Airflow's secrets masker knows them
// (airflow/utils/log/secrets_masker.py: DEFAULT_SENSITIVE_FIELDS, should_hide_value_for_key,
// SecretsMasker._redact / _redact_all). A name is sensitive when, lower-cased and trimmed, it
// contains one of these words; the operator adds more with the gateway's equivalent of
// [core] sensitive_var_conn_names.
var DefaultSensitiveFields = []string{
	"access_token", "api_key", "apikey", "authorization", "passphrase", "passwd", "password",
	"private_key", "secret", "token", "keyfile_dict", "service_account",
}

// Redacted is what Airflow shows instead of a secret value.
const Redacted = "***"

// redactMaxDepth is SecretsMasker.MAX_RECURSION_DEPTH.
const redactMaxDepth = 5

// Sensitive decides which names hide their values: Airflow's default words plus extra ones.
type Sensitive struct {
	words []string
}

// NewSensitive is the default list plus extra (Airflow's sensitive_var_conn_names: a
// comma-separated list, each entry trimmed; empty entries ignored).
func NewSensitive(extra []string) Sensitive {
	words := append([]string(nil), DefaultSensitiveFields...)
	for _, w := range extra {
		if w = strings.TrimSpace(w); w != "" {
			words = append(words, w)
		}
	}
	return Sensitive{words: words}
}

// Hides reports whether the value stored under name must not be shown.
func (s Sensitive) Hides(name string) bool {
	words := s.words
	if words == nil {
		words = DefaultSensitiveFields
	}
	name = strings.ToLower(strings.TrimSpace(name))
	for _, w := range words {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// RedactJSONText is a connection's extra as Airflow's API shows it: when the text is JSON,
// it is decoded, the values under sensitive keys are replaced by "***" (strings, and the
// strings inside lists and objects under such a key; numbers, booleans and null are left as
// they are, as Airflow's _redact_all leaves them) and the result is written back the way
// Python's json.dumps writes it. Text that is not JSON is returned unchanged, as Airflow
// returns it ("we can't redact fields in an unstructured extra").
func (s Sensitive) RedactJSONText(text string) string {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil || dec.More() {
		return text
	}
	if _, err := dec.Token(); err == nil {
		return text // trailing data: not one JSON document
	}
	var b bytes.Buffer
	writePyJSON(&b, s.redact(v, "", 0, false))
	return b.String()
}

// redact walks v as SecretsMasker._redact does (all: inside a sensitive key, _redact_all).
func (s Sensitive) redact(v any, name string, depth int, all bool) any {
	if all {
		if depth > redactMaxDepth {
			return Redacted
		}
	} else {
		if depth > redactMaxDepth {
			return v
		}
		if name != "" && s.Hides(name) {
			return s.redact(v, name, depth, true)
		}
	}
	switch x := v.(type) {
	case string:
		if all {
			return Redacted
		}
		return x
	case orderedObject:
		out := make(orderedObject, len(x))
		for i, kv := range x {
			out[i] = keyValue{kv.key, s.redact(kv.value, kv.key, depth+1, all)}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.redact(e, "", depth+1, all)
		}
		return out
	}
	return v
}
