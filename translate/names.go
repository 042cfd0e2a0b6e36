package translate

import (
	"strings"
	"unicode/utf8"
)

// Airflow keys as Prefect names. Airflow variable keys and connection ids are free strings
// (variable keys up to 250 characters; connection ids of letters, digits, '_', '.', '-'), while
// Prefect names are narrower: variable names are [a-z0-9_-] (prefect/types/names.py,
// raise_on_name_alphanumeric_dashes_underscores_only), block-document names [a-z0-9-]
// (raise_on_name_alphanumeric_dashes_only), both at most 255 characters.
//
// The encoding is reversible and the identity wherever it can be:
//
//   - a key that already is a valid Prefect name is stored under that name (my_var → my_var),
//     so a Prefect variable a flow reads by name is the Airflow variable of the same key;
//   - any other key is stored as "airflow-" followed by the key, each byte outside the
//     alphabet (and each '-') written as '-' and two lowercase hex digits:
//     MY_VAR → airflow--4d-59_-56-41-52, env.prod → airflow-env-2eprod, and as a block name
//     postgres_default → airflow-postgres-5fdefault.
//
// DecodeName reads a name back. A name that is not the exact encoding of some key (every
// Prefect name a user made by hand, "airflow-x" included) is the key of the same spelling, so
// encoding and decoding are inverse bijections between all keys and all names: no two keys
// share a name, and every Prefect variable is reachable under the key the listing shows.

// NameAlphabet is the set of characters Prefect allows in one kind of name.
type NameAlphabet struct {
	kind       string // for messages: "variable", "block document"
	underscore bool   // '_' allowed
}

var (
	// VariableNames is the alphabet of Prefect variable names.
	VariableNames = NameAlphabet{kind: "variable", underscore: true}
	// BlockNames is the alphabet of Prefect block-document names.
	BlockNames = NameAlphabet{kind: "block document"}
)

// EncodedNamePrefix starts every name that encodes a key outside Prefect's alphabet.
const EncodedNamePrefix = "airflow-"

// MaxPrefectNameLength is Prefect's limit on variable and block-document names.
const MaxPrefectNameLength = 255

// literal reports whether c stands for itself inside an encoded name. '-' never does: it
// introduces an escape.
func (a NameAlphabet) literal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' && a.underscore
}

// valid reports whether s is a name Prefect accepts.
func (a NameAlphabet) valid(s string) bool {
	if s == "" || len(s) > MaxPrefectNameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '-' && !a.literal(c) {
			return false
		}
	}
	return true
}

// EncodeName is the Prefect name that stores key. It fails only when the name would be
// longer than Prefect allows (or key is empty or not UTF-8), which no encoding can avoid.
func EncodeName(key string, a NameAlphabet) (string, error) {
	if key == "" {
		return "", badInput("The key must not be empty")
	}
	if !utf8.ValidString(key) {
		return "", badInput("The key is not valid UTF-8")
	}
	if a.valid(key) && !isEncoding(key, a) {
		return key, nil
	}
	var b strings.Builder
	b.Grow(len(EncodedNamePrefix) + 3*len(key))
	b.WriteString(EncodedNamePrefix)
	const hex = "0123456789abcdef"
	for i := 0; i < len(key); i++ {
		c := key[i]
		if a.literal(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('-')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	if b.Len() > MaxPrefectNameLength {
		return "", badInput("The key %q is too long to be stored as a Prefect %s name: encoded it takes %d characters, Prefect allows %d",
			truncateKey(key), a.kind, b.Len(), MaxPrefectNameLength)
	}
	return b.String(), nil
}

// DecodeName is the key a Prefect name stores.
func DecodeName(name string, a NameAlphabet) string {
	if key, ok := decode(name, a); ok && mustEncode(key, a) == name {
		return key
	}
	return name
}

// isEncoding reports whether name is the exact encoding of some other key.
func isEncoding(name string, a NameAlphabet) bool {
	key, ok := decode(name, a)
	return ok && key != name && mustEncode(key, a) == name
}

// mustEncode is the encoded form of key, whatever its length (decode only yields keys whose
// encoding fits, because it reads them from a name that does).
func mustEncode(key string, a NameAlphabet) string {
	name, err := EncodeName(key, a)
	if err != nil {
		return ""
	}
	return name
}

// decode undoes the escapes of an "airflow-…" name; ok is false when name is not one.
func decode(name string, a NameAlphabet) (string, bool) {
	body, ok := strings.CutPrefix(name, EncodedNamePrefix)
	if !ok || body == "" {
		return "", false
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '-' {
			if !a.literal(c) {
				return "", false
			}
			out = append(out, c)
			continue
		}
		hi, okHi := unhex(body, i+1)
		lo, okLo := unhex(body, i+2)
		if !okHi || !okLo {
			return "", false
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	if !utf8.Valid(out) {
		return "", false
	}
	return string(out), true
}

func unhex(s string, i int) (byte, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func truncateKey(k string) string {
	if len(k) <= 60 {
		return k
	}
	cut := 60
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return k[:cut] + "…"
}
