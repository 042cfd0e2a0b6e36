package gateway

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Helpers of answers written in pieces (streamed logs), and of content negotiation.

// requestParentKey holds the request's context before the request deadline was set, so that a
// streamed answer can take more time than one request while still ending with the client.
const requestParentKey = "request_parent_ctx"

// acceptMatch is how well an Accept header takes a media type: the quality of the most
// specific entry that matches it, and that specificity (2 exact, 1 type/*, 0 */*; -1 none).
func acceptMatch(accept, mediaType string) (q float64, specificity int) {
	specificity = -1
	typ, _, _ := strings.Cut(mediaType, "/")
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		quality := 1.0
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					quality = f
				}
			}
		}
		spec := -1
		switch {
		case mt == mediaType:
			spec = 2
		case mt == typ+"/*":
			spec = 1
		case mt == "*/*" || mt == "*":
			spec = 0
		}
		if spec > specificity {
			q, specificity = quality, spec
		}
	}
	return q, specificity
}

// prefersText is werkzeug's accept_mimetypes.best_match(["text/plain", "application/json"]),
// which Airflow's get_log asks: the better (quality, then specificity) of the two, text/plain
// on a tie (so `Accept: */*`, curl's default, gets text); JSON without an Accept header.
func prefersText(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return false
	}
	tq, ts := acceptMatch(accept, "text/plain")
	jq, js := acceptMatch(accept, "application/json")
	if ts < 0 || tq <= 0 {
		return false
	}
	if js < 0 || jq <= 0 {
		return true
	}
	return tq > jq || tq == jq && ts >= js
}

// appendJSONStringStart opens a JSON string; appendJSONStringBody appends s escaped inside
// it (as encoding/json escapes, without HTML escaping: Airflow's answers do not escape <, >, &).
func appendJSONStringStart(dst []byte) []byte { return append(dst, '"') }

func appendJSONStringBody(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

func appendJSONString(dst []byte, s string) []byte {
	dst = appendJSONStringStart(dst)
	dst = appendJSONStringBody(dst, s)
	return append(dst, '"')
}
