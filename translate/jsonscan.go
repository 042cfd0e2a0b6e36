package translate

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

// A small validating scanner for AppendDAGRunPageAnswer: it walks JSON objects and arrays in one
// pass, handing each member's key and the position of its value to a callback that reads the
// value or skips it, and it accepts exactly what encoding/json accepts (FuzzScannerValidates),
// so that an answer needs no other pass. The tokenizers tried first (gjson, jsonparser,
// fastjson) each cost more on a page of runs than decoding it with go-json; this one touches
// each byte about once.
//
// On anything that is not JSON it reports false; it never reads out of bounds, and nesting
// deeper than maxDepth is refused rather than followed.

type jsonKind byte

const (
	kindString jsonKind = iota + 1
	kindNumber
	kindObject
	kindArray
	kindBool
	kindNull
)

// maxDepth bounds nesting as encoding/json does, so that no input can exhaust the stack.
const maxDepth = 10000

// skipSpace returns the index of the first byte at or after b[i] that is not white space.
// Prefect writes no white space, so the first test (a byte above ' ') nearly always ends it.
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the closing quote of the string whose opening
// quote is b[i], and whether the string holds an escape. Control characters and malformed
// escapes are refused, as by encoding/json (which takes invalid UTF-8 and so does this).
//
// Strings are most of a page's bytes, so the plain stretches between quotes, backslashes and
// control characters are crossed eight bytes at a time (about three times faster here than
// byte by byte on Prefect's UUIDs and timestamps).
func stringEnd(b []byte, i int) (end int, escaped, ok bool) {
	j := i + 1
	for {
		j = plainStringRun(b, j)
		if j >= len(b) {
			return 0, false, false
		}
		switch b[j] {
		case '"':
			return j + 1, escaped, true
		case '\\':
			escaped = true
			j++
			if j >= len(b) {
				return 0, false, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) || !isHexDigit(b[j+1]) || !isHexDigit(b[j+2]) || !isHexDigit(b[j+3]) || !isHexDigit(b[j+4]) {
					return 0, false, false
				}
				j += 4
			default:
				return 0, false, false
			}
			j++
		default: // a control character
			return 0, false, false
		}
	}
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// stringStop marks the bytes that end a plain stretch inside a JSON string.
var stringStop = func() (stop [256]bool) {
	for c := range 0x20 {
		stop[c] = true
	}
	stop['"'], stop['\\'] = true, true
	return stop
}()

// stopBytes has the high bit of each byte of x that equals '"' or '\\' or is below 0x20. The
// lowest bit set is always exact; borrows can only mark bytes after it.
func stopBytes(x uint64) uint64 {
	quote := x ^ (lowBits * '"')
	backslash := x ^ (lowBits * '\\')
	return (((quote - lowBits) &^ quote) | ((backslash - lowBits) &^ backslash) | ((x - lowBits*0x20) &^ x)) & highBits
}

// foldingBytes has the high bit of each byte of x that is an uppercase ASCII letter or not
// ASCII: the bytes that let a key match a lowercase name only when case is ignored. Exact
// for every byte: on the low seven bits, adding 0x3F sets the high bit from 'A' up and 0x25
// from past 'Z', without carries between bytes.
func foldingBytes(x uint64) uint64 {
	low := x &^ highBits
	upper := (low + lowBits*(0x80-'A')) &^ (low + lowBits*(0x80-'Z'-1))
	return (x | upper) & highBits
}

// plainStringRun returns the index of the first quote, backslash or control character at or
// after b[j] (len(b) if none), eight bytes at a time.
func plainStringRun(b []byte, j int) int {
	for ; j+8 <= len(b); j += 8 {
		if stop := stopBytes(binary.LittleEndian.Uint64(b[j:])); stop != 0 {
			return j + bits.TrailingZeros64(stop)/8
		}
	}
	for j < len(b) && !stringStop[b[j]] {
		j++
	}
	return j
}

// keyRun is plainStringRun for a key, which also says whether the bytes crossed are all
// lowercase ASCII (see objectKey): every key of every run is checked, and in the same pass
// this costs next to nothing.
func keyRun(b []byte, j int) (stop int, lower bool) {
	lower = true
	for ; j+8 <= len(b); j += 8 {
		x := binary.LittleEndian.Uint64(b[j:])
		folding := foldingBytes(x)
		if stop := stopBytes(x); stop != 0 {
			n := bits.TrailingZeros64(stop) / 8
			return j + n, lower && folding&(1<<(8*n)-1) == 0
		}
		lower = lower && folding == 0
	}
	for ; j < len(b) && !stringStop[b[j]]; j++ {
		lower = lower && b[j] < utf8.RuneSelf && (b[j] < 'A' || b[j] > 'Z')
	}
	return j, lower
}

// lowercaseASCII reports whether s has neither an uppercase ASCII letter nor a byte outside
// ASCII.
func lowercaseASCII(s []byte) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if foldingBytes(binary.LittleEndian.Uint64(s[i:])) != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// objectKey is a member's key, decoded, as walkObject hands it over.
type objectKey struct {
	name []byte
	// lowerASCII: the key is lowercase ASCII only, so it cannot match another lowercase
	// ASCII name when case is ignored.
	lowerASCII bool
}

// foldsToAny reports whether the key differs from one of names (all lowercase ASCII) only in
// case, which encoding/json would still match to that field (with Unicode folding: "ſ" is
// an "s"). Prefect's keys are lowercase ASCII, which cannot fold to another such name.
func (k objectKey) foldsToAny(names []string) bool {
	if k.lowerASCII {
		return false
	}
	for _, n := range names {
		if string(k.name) != n && bytes.EqualFold(k.name, []byte(n)) {
			return true
		}
	}
	return false
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// numberEnd returns the index just past the number that starts at b[i]: JSON's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) (int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && isDigit(b[j]):
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	default:
		return 0, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) || !isDigit(b[j]) {
			return 0, false
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || !isDigit(b[j]) {
			return 0, false
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	return j, true
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

// skipValue returns the index just past the value that starts at b[i], which it checks.
func skipValue(b []byte, i int) (int, bool) { return skipNested(b, i, 0) }

func skipNested(b []byte, i, depth int) (int, bool) {
	switch kindAt(b, i) {
	case kindString:
		end, _, ok := stringEnd(b, i)
		return end, ok
	case kindObject, kindArray:
		if depth >= maxDepth {
			return 0, false
		}
		return skipContainer(b, i, depth)
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
		return numberEnd(b, i)
	}
	return 0, false
}

// skipContainer is skipNested for the object or array at b[i]: walkObject and walkArray
// without their callbacks or key decoding, as skipped values (a run's state details, its
// empirical policy) are a good part of a page.
func skipContainer(b []byte, i, depth int) (int, bool) {
	closer, object := byte(']'), b[i] == '{'
	if object {
		closer = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, true
	}
	for {
		if object {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			keyEnd, _, ok := stringEnd(b, i)
			if !ok {
				return 0, false
			}
			if i = skipSpace(b, keyEnd); i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i = skipSpace(b, i+1)
		}
		end, ok := skipNested(b, i, depth+1)
		if !ok {
			return 0, false
		}
		next, done, ok := afterValue(b, end, closer)
		if !ok || done {
			return next, ok
		}
		i = next
	}
}

// validJSON reports whether b is one JSON value, with nothing but white space around it.
func validJSON(b []byte) bool {
	end, ok := skipValue(b, skipSpace(b, 0))
	return ok && skipSpace(b, end) == len(b)
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
func walkObject(b []byte, i int, fn func(key objectKey, at int) (int, bool)) (int, bool) {
	if kindAt(b, i) != kindObject {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for i < len(b) && b[i] == '"' {
		var key objectKey
		var keyEnd int
		stop, lower := keyRun(b, i+1)
		if stop < len(b) && b[stop] == '"' {
			key, keyEnd = objectKey{b[i+1 : stop], lower}, stop+1
		} else { // an escape, or not JSON
			end, _, ok := stringEnd(b, i)
			if !ok {
				return 0, false
			}
			var s string
			if json.Unmarshal(b[i:end], &s) != nil {
				return 0, false
			}
			key, keyEnd = objectKey{[]byte(s), lowercaseASCII([]byte(s))}, end
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
