package gateway

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Input is read exactly or refused (DESIGN §10): what cannot be decoded is a 400, never a
// value quietly dropped or replaced. Echo's c.QueryParams() (url.URL.Query) skips a pair it
// cannot decode, so `?dag_id_pattern=~&tags=x%zz` would reach a handler as "every DAG";
// encoding/json turns invalid UTF-8 into U+FFFD, so a run would get a parameter nobody sent.

// checkQuery refuses a query string that does not decode, before anything else looks at it.
// A ';' is an ordinary character, as in Airflow (Werkzeug splits on '&' only), where Go's
// parser would drop the pair holding it.
func (s *Server) checkQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		raw := req.URL.RawQuery
		if raw == "" {
			return next(c)
		}
		if strings.Contains(raw, ";") {
			raw = strings.ReplaceAll(raw, ";", "%3B")
			req.URL.RawQuery = raw
		}
		values, err := url.ParseQuery(raw)
		if err != nil {
			return BadRequest("The query string could not be decoded: %s", queryError(err)).WithCause(err)
		}
		for name, vs := range values {
			if !utf8.ValidString(name) {
				return BadRequest("The query string could not be decoded: a parameter name is not UTF-8.")
			}
			for _, v := range vs {
				if !utf8.ValidString(v) {
					return BadRequest("The query string could not be decoded: the value of '%s' is not UTF-8.", name)
				}
			}
		}
		return next(c)
	}
}

// queryError words url's error without the whole query, which may be long.
func queryError(err error) string {
	var esc url.EscapeError
	if e, ok := err.(url.EscapeError); ok {
		esc = e
		if len(esc) > 12 {
			esc = esc[:12]
		}
		return "invalid URL escape " + `"` + string(esc) + `"`
	}
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return msg
}

// invalidJSONText reports where data stops being JSON text that decodes exactly: invalid
// UTF-8, or a \u escape of half a surrogate pair (both become U+FFFD in encoding/json). It
// returns -1 when the text is fine.
func invalidJSONText(data []byte) (int, string) {
	if !utf8.Valid(data) {
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				return i, "invalid UTF-8"
			}
			i += n
		}
	}
	for i := 0; i+5 < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		if data[i+1] != 'u' {
			i++ // an escaped character, possibly a backslash: skip it
			continue
		}
		hi, ok := hex4(data[i+2:])
		if !ok {
			continue // not an escape encoding/json accepts: the decoder says so
		}
		switch {
		case hi >= 0xD800 && hi < 0xDC00:
			lo, ok := uint16(0), false
			if i+11 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
				lo, ok = hex4(data[i+8:])
			}
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return i, "a lone UTF-16 surrogate escape"
			}
			i += 11
		case hi >= 0xDC00 && hi <= 0xDFFF:
			return i, "a lone UTF-16 surrogate escape"
		default:
			i += 5
		}
	}
	return -1, ""
}

func hex4(b []byte) (uint16, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var v uint16
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint16(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint16(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | uint16(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
