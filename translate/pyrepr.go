package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Python's repr(), for the two places where Airflow's API answers with it: a log's JSON
// `content` (the repr of a list of (host, text) tuples) and an XCom's value when
// `stringify` is on (str() of the value, which is repr() for everything inside a container).

// PyQuote is the quote Python's repr picks for s: a double quote when s holds a single quote
// and no double quote, else a single quote.
func PyQuote(s string) byte {
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		return '"'
	}
	return '\''
}

// AppendPyStr appends Python's repr of s with quote q (PyQuote(s) gives repr's own choice).
func AppendPyStr(dst []byte, s string, q byte) []byte {
	dst = append(dst, q)
	dst = AppendPyStrBody(dst, s, q)
	return append(dst, q)
}

// AppendPyStrBody appends s escaped as inside a Python string literal quoted with q, the way
// repr escapes: backslash, the quote, \t \n \r, other control and unprintable characters as
// \xhh, \uhhhh or \Uhhhhhhhh; printable characters as they are. Invalid UTF-8 bytes (which a
// Python str cannot hold) become U+FFFD, as Python's decoder replaces them.
func AppendPyStrBody(dst []byte, s string, q byte) []byte {
	for len(s) > 0 {
		c := s[0]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\' || c == q:
				dst = append(dst, '\\', c)
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				dst = fmt.Appendf(dst, "\\x%02x", c)
			default:
				dst = append(dst, c)
			}
			s = s[1:]
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case unicode.IsPrint(r):
			dst = append(dst, s[:size]...)
		case r < 0x100:
			dst = fmt.Appendf(dst, "\\x%02x", r)
		case r < 0x10000:
			dst = fmt.Appendf(dst, "\\u%04x", r)
		default:
			dst = fmt.Appendf(dst, "\\U%08x", r)
		}
		s = s[size:]
	}
	return dst
}

// PyStr is str() of a JSON value as Python holds it after json.loads: a string is itself,
// anything else its repr (dict keys in the JSON's order, True/False/None, Python's floats).
func PyStr(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	if s, ok := tok.(string); ok {
		return s, nil
	}
	out, err := appendPyValue(nil, dec, tok)
	return string(out), err
}

func appendPyValue(dst []byte, dec *json.Decoder, tok json.Token) ([]byte, error) {
	switch v := tok.(type) {
	case json.Delim:
		closing, open := byte('}'), byte('{')
		if v == '[' {
			closing, open = ']', '['
		}
		dst = append(dst, open)
		for i := 0; dec.More(); i++ {
			if i > 0 {
				dst = append(dst, ',', ' ')
			}
			t, err := dec.Token()
			if err != nil {
				return dst, err
			}
			if open == '{' {
				key, _ := t.(string)
				dst = AppendPyStr(dst, key, PyQuote(key))
				dst = append(dst, ':', ' ')
				if t, err = dec.Token(); err != nil {
					return dst, err
				}
			}
			if dst, err = appendPyValue(dst, dec, t); err != nil {
				return dst, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return dst, err
		}
		return append(dst, closing), nil
	case string:
		return AppendPyStr(dst, v, PyQuote(v)), nil
	case json.Number:
		return appendPyNumber(dst, v), nil
	case bool:
		if v {
			return append(dst, "True"...), nil
		}
		return append(dst, "False"...), nil
	case nil:
		return append(dst, "None"...), nil
	}
	return dst, fmt.Errorf("unexpected JSON token %v", tok)
}

// appendPyNumber writes a JSON number as Python's json.loads and repr do: an integer literal
// stays an int (any size), anything else is a float in repr's shortest form, fixed between
// 1e-4 and 1e16 (always with a fraction: 2.0) and with an exponent outside (1e+16, 1e-05).
func appendPyNumber(dst []byte, n json.Number) []byte {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return append(dst, s...)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		if f < 0 {
			return append(dst, "-inf"...)
		}
		return append(dst, "inf"...)
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±xx, shortest digits
	mant, expPart, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expPart)
	if exp < -4 || exp >= 16 {
		dst = append(dst, mant...)
		sign := byte('+')
		if exp < 0 {
			sign, exp = '-', -exp
		}
		return fmt.Appendf(dst, "e%c%02d", sign, exp)
	}
	fixed := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(fixed, ".") {
		fixed += ".0"
	}
	return append(dst, fixed...)
}
