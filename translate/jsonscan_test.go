package translate

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestScannerWalksObjectsAndArrays(t *testing.T) {
	doc := ` { "a" : "x\"y\\" , "n\u0061me":[1, {"k":"}"}, "]"] ,"t":true,"f":false,"z":null,"num":-1.5e+3, "o":{"p":{}} } `
	type member struct{ key, value string }
	var got []member
	end, ok := walkObject([]byte(doc), skipSpace([]byte(doc), 0), func(key objectKey, at int) (int, bool) {
		kind, v, end, escaped, ok := scalarAt([]byte(doc), at)
		if !ok {
			return 0, false
		}
		got = append(got, member{string(key.name), string(v) + map[bool]string{true: " (escaped)"}[escaped] + " " + string("?sNOABn"[kind])})
		return end, true
	})
	want := []member{{"a", `x\"y\\ (escaped) s`}, {"name", `[1, {"k":"}"}, "]"] A`}, {"t", "true B"}, {"f", "false B"},
		{"z", "null n"}, {"num", "-1.5e+3 N"}, {"o", `{"p":{}} O`}}
	if !ok || skipSpace([]byte(doc), end) != len(doc) || len(got) != len(want) {
		t.Fatalf("walk: ok=%v end=%d of %d, got %v", ok, end, len(doc), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d = %v, want %v", i, got[i], want[i])
		}
	}

	var elements []string
	arr := `[ 1 ,"two", [3], {"4":4} ]`
	if _, ok := walkArray([]byte(arr), 0, func(at int) (int, bool) {
		end, ok := skipValue([]byte(arr), at)
		elements = append(elements, arr[at:end])
		return end, ok
	}); !ok || strings.Join(elements, "|") != `1|"two"|[3]|{"4":4}` {
		t.Errorf("array elements %q (ok=%v)", elements, ok)
	}
}

func TestScannerRefusesWhatIsNotJSON(t *testing.T) {
	for _, doc := range []string{``, `{`, `{"a"`, `{"a":}`, `{"a":1,}x`, `{"a" 1}`, `{"a":"unterminated}`, `[1 2]`,
		`{"a":[1,2}`, `{"a":tru}`, `{1:2}`, `"\`} {
		_, okObject := walkObject([]byte(doc), 0, func(_ objectKey, at int) (int, bool) { return skipValue([]byte(doc), at) })
		_, okArray := walkArray([]byte(doc), 0, func(at int) (int, bool) { return skipValue([]byte(doc), at) })
		if okObject || okArray {
			t.Errorf("%q walked as JSON (object %v, array %v)", doc, okObject, okArray)
		}
	}
}

func TestScannerValidatesLikeEncodingJSON(t *testing.T) {
	for _, doc := range []string{`{}`, `[]`, ` {"a":[1,-0.5e-7,true,false,null,"\u00e9\n\"",{}]} `, `"s"`, `0`, `-0`,
		`01`, `1.`, `.5`, `1e`, `+1`, `-`, `"\x"`, `"\u12g4"`, "\"a\tb\"", "\"a\x01\"", `{"a":1,}`, `[1,]`, `{"a" 1}`,
		`[1 2]`, `{"a":[}`, `tru`, `nul`, `{} {}`, `"unterminated`, `"\ud800"`, "\"\xff\xfe\"", strings.Repeat("[", 10001) + strings.Repeat("]", 10001)} {
		if got, want := validJSON([]byte(doc)), json.Valid([]byte(doc)); got != want {
			t.Errorf("validJSON(%.40q) = %v, encoding/json says %v", doc, got, want)
		}
	}
}

// FuzzScannerValidates: the scanner accepts exactly what encoding/json accepts.
func FuzzScannerValidates(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e-7,true,null,"x\u00e9"]}`, `[1,]`, `"\x"`, `01`, `{"a":1}x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if got, want := validJSON([]byte(doc)), json.Valid([]byte(doc)); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", doc, got, want)
		}
	})
}

// TestPlainStringRunFindsTheFirstStop puts each byte value at each place of strings of
// several lengths (within a word, across words, in the tail) and compares the word-at-a-time
// search with a byte-at-a-time one.
func TestPlainStringRunFindsTheFirstStop(t *testing.T) {
	byByte := func(b []byte, j int) int {
		for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 {
			j++
		}
		return j
	}
	for _, n := range []int{1, 7, 8, 9, 17, 24} {
		for at := 0; at < n; at++ {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[at] = byte(c)
				if at+1 < n {
					b[at+1] = '"' // a stop after the first must not hide it, nor move it
				}
				for _, from := range []int{0, at} {
					if got, want := plainStringRun(b, from), byByte(b, from); got != want {
						t.Fatalf("byte %#x at %d of %d, from %d: stop at %d, want %d", c, at, n, from, got, want)
					}
				}
			}
		}
	}
}

// TestKeyRunAndLowercaseASCII compare the word-at-a-time key checks with a byte-at-a-time
// one for each byte value at each place of keys of several lengths. After a key's closing
// quote come uppercase and non-ASCII bytes, which must not count.
func TestKeyRunAndLowercaseASCII(t *testing.T) {
	byByte := func(key []byte) (stop int, lower bool) {
		lower = true
		for ; stop < len(key) && key[stop] != '"' && key[stop] != '\\' && key[stop] >= 0x20; stop++ {
			if c := key[stop]; c >= 0x80 || ('A' <= c && c <= 'Z') {
				lower = false
			}
		}
		return stop, lower
	}
	for _, n := range []int{1, 7, 8, 9, 16, 19} {
		for at := 0; at < n; at++ {
			for c := range 256 {
				key := []byte(strings.Repeat("z", n))
				key[at] = byte(c)
				wantStop, wantLower := byByte(key)
				if got := lowercaseASCII(key); wantStop == n && got != wantLower {
					t.Fatalf("lowercaseASCII: byte %#x at %d of %d: %v, want %v", c, at, n, got, wantLower)
				}
				for _, tail := range []string{`"`, `":"AZ\xc5\xbf"`} {
					b := append(append([]byte{}, key...), tail...)
					if stop, lower := keyRun(b, 0); stop != wantStop || lower != wantLower {
						t.Fatalf("keyRun: byte %#x at %d of %d, then %q: (%d, %v), want (%d, %v)", c, at, n, tail, stop, lower, wantStop, wantLower)
					}
				}
			}
		}
	}
}
