package translate

import (
	"bytes"
	"encoding/json"
)

// A small scanner for AppendDAGRunPage: it walks JSON objects and arrays in one pass,
// handing each member's key and the position of its value to a callback that reads the
// value or skips it. The tokenizers tried first (gjson, jsonparser, fastjson) each cost more
// on a page of runs than decoding it with go-json (they scan values twice or convert every
// number and string); this one touches each byte about once, finding string ends with
// bytes.IndexByte.
//
// Its input is JSON a validating decoder has already accepted (the Prefect client decodes
// the answer around it); on anything else it never reads out of bounds and reports false.

type jsonKind byte

const (
	kindString jsonKind = iota + 1
	kindNumber
	kindObject
	kindArray
	kindBool
	kindNull
)

// structural marks the bytes a skip over an object or array must look at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the closing quote of the string whose opening
// quote is b[i], and whether the string holds an escape. Most strings here are short (keys,
// ids, times), where one plain loop beats searching twice with bytes.IndexByte.
func stringEnd(b []byte, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, escaped, true
		case '\\':
			escaped = true
			j++ // the escaped byte: a quote there does not end the string
		}
	}
	return 0, false, false
}

// kindAt is the kind of the value that starts at b[i] (0 when none does).
func kindAt(b []byte, i int) jsonKind {
	if i >= len(b) {
		return 0
	}
	switch c := b[i]; {
	case c == '"':
		return kindString
	case c == '{':
		return kindObject
	case c == '[':
		return kindArray
	case c == 't' || c == 'f':
		return kindBool
	case c == 'n':
		return kindNull
	case c == '-' || (c >= '0' && c <= '9'):
		return kindNumber
	}
	return 0
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) (int, bool) {
	switch kindAt(b, i) {
	case kindString:
		end, _, ok := stringEnd(b, i)
		return end, ok
	case kindObject, kindArray:
		depth := 0
		for j := i; j < len(b); j++ {
			if !structural[b[j]] {
				continue
			}
			switch b[j] {
			case '"':
				end, _, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			default:
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	case kindBool:
		if bytes.HasPrefix(b[i:], []byte("true")) {
			return i + 4, true
		}
		if bytes.HasPrefix(b[i:], []byte("false")) {
			return i + 5, true
		}
	case kindNull:
		if bytes.HasPrefix(b[i:], []byte("null")) {
			return i + 4, true
		}
	case kindNumber:
		j := i + 1
		for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] == '+' || b[j] == '-') {
			j++
		}
		return j, true
	}
	return 0, false
}

// scalarAt reads the value at b[i]: a string's content between its quotes (escaped is true
// when it holds escapes, still undecoded), any other value's whole text.
func scalarAt(b []byte, i int) (kind jsonKind, v []byte, end int, escaped, ok bool) {
	kind = kindAt(b, i)
	if kind == kindString {
		end, escaped, ok = stringEnd(b, i)
		if !ok {
			return 0, nil, 0, false, false
		}
		return kind, b[i+1 : end-1], end, escaped, true
	}
	end, ok = skipValue(b, i)
	if !ok {
		return 0, nil, 0, false, false
	}
	return kind, b[i:end], end, false, true
}

// walkArray calls fn with the position of every element of the array at b[i]; fn returns
// the index just past the element. walkArray returns the index just past the array.
func walkArray(b []byte, i int, fn func(at int) (int, bool)) (int, bool) {
	if kindAt(b, i) != kindArray {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for i < len(b) {
		end, ok := fn(i)
		if !ok {
			return 0, false
		}
		next, done, ok := afterValue(b, end, ']')
		if !ok || done {
			return next, ok
		}
		i = next
	}
	return 0, false
}

// afterValue steps over what follows a value that ends at end inside a container closed by
// closer: a comma (next is the following item) or the closer (done, next is past it).
func afterValue(b []byte, end int, closer byte) (next int, done, ok bool) {
	i := skipSpace(b, end)
	switch {
	case i < len(b) && b[i] == ',':
		return skipSpace(b, i+1), false, true
	case i < len(b) && b[i] == closer:
		return i + 1, true, true
	}
	return 0, false, false
}

// walkObject calls fn with the decoded key and the position of the value of every member of
// the object at b[i]; fn returns the index just past the value. walkObject returns the index
// just past the object.
func walkObject(b []byte, i int, fn func(key []byte, at int) (int, bool)) (int, bool) {
	if kindAt(b, i) != kindObject {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for i < len(b) && b[i] == '"' {
		keyEnd, escaped, ok := stringEnd(b, i)
		if !ok {
			return 0, false
		}
		key := b[i+1 : keyEnd-1]
		if escaped {
			var s string
			if json.Unmarshal(b[i:keyEnd], &s) != nil {
				return 0, false
			}
			key = []byte(s)
		}
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		end, ok := fn(key, skipSpace(b, i+1))
		if !ok {
			return 0, false
		}
		next, done, ok := afterValue(b, end, '}')
		if !ok || done {
			return next, ok
		}
		i = next
	}
	return 0, false
}
