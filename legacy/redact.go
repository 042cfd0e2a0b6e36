package legacy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"sort"
	"strings"
)

// Airflow (or a proxy in front of it) may quote a request back, headers included, in an error
// page; a DAG's conf or a log line may hold anything. Before anything Airflow sent reaches a
// caller or a log line, every form of the legacy credentials is cut out of it: the password,
// "user:password" as a Basic header carries it (base64, four encodings), each also URL- and
// JSON-escaped. In forward mode the caller's own credential is cut out of error texts too.

// Redacted replaces a secret.
const Redacted = "[REDACTED]"

// minSecret is the shortest password redacted on its own in answers and texts: a shorter one
// ("admin") would garble ordinary words (owners, user names); its encoded forms, which cannot
// be confused with words, are redacted whatever its length.
const minSecret = 6

// redactor removes a fixed set of strings, longest first.
type redactor struct {
	forms [][]byte
	first *[256]bool // first bytes of the forms
}

func makeRedactor(forms [][]byte) redactor {
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	r := redactor{forms: forms, first: new([256]bool)}
	for _, f := range forms {
		r.first[f[0]] = true
	}
	return r
}

func newRedactor(creds ...Credential) redactor {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, c := range creds {
		if c.password == "" && c.header == "" {
			continue
		}
		if c.header != "" {
			// A forwarded header: the value after the scheme, and what it decodes to.
			_, v, _ := strings.Cut(c.header, " ")
			if len(v) >= minSecret {
				add(v)
			}
			if dec, err := base64.StdEncoding.DecodeString(v); err == nil {
				if _, pw, ok := strings.Cut(string(dec), ":"); ok && len(pw) >= minSecret {
					add(pw)
				}
			}
			continue
		}
		pair := c.user + ":" + c.password
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(pair)))
		}
		if len(c.password) >= minSecret {
			add(c.password)
			add(url.QueryEscape(c.password))
			add(url.PathEscape(c.password))
			if q, err := json.Marshal(c.password); err == nil {
				add(string(q[1 : len(q)-1]))
			}
		}
	}
	forms := make([][]byte, 0, len(out))
	for _, s := range out {
		forms = append(forms, []byte(s))
	}
	return makeRedactor(forms)
}

// merge is the union of two redactors, longest form first.
func (r redactor) merge(o redactor) redactor {
	if o.empty() {
		return r
	}
	if r.empty() {
		return o
	}
	seen := map[string]bool{}
	var forms [][]byte
	for _, f := range append(append([][]byte(nil), r.forms...), o.forms...) {
		if !seen[string(f)] {
			seen[string(f)] = true
			forms = append(forms, f)
		}
	}
	return makeRedactor(forms)
}

func (r redactor) empty() bool { return len(r.forms) == 0 }

func (r redactor) bytes(b []byte) []byte {
	if r.empty() {
		return b
	}
	out, _ := r.scan(make([]byte, 0, len(b)), b, true)
	return out
}

func (r redactor) text(s string) string {
	if r.empty() || s == "" {
		return s
	}
	return string(r.bytes([]byte(s)))
}

// err returns err itself when its text holds no secret (so errors.As still finds what it
// wraps), else an error with the redacted text.
func (r redactor) err(err error) error {
	if err == nil || r.empty() {
		return err
	}
	msg := err.Error()
	if clean := r.text(msg); clean != msg {
		return errors.New(clean)
	}
	return err
}

// scan redacts src left to right into dst: at each position the longest form that matches
// there is replaced, else the byte is kept. Unless final, it stops where the rest could still
// become a longer match with more input, and reports how much of src it consumed; the rest
// (shorter than the longest form) waits for the next call. Scanning a stream in pieces gives
// the bytes scanning it whole gives.
func (r redactor) scan(dst, src []byte, final bool) ([]byte, int) {
	i := 0
outer:
	for i < len(src) {
		if r.first[src[i]] {
			rest := src[i:]
			for _, f := range r.forms { // longest first
				if len(rest) >= len(f) {
					if bytes.HasPrefix(rest, f) {
						dst = append(dst, Redacted...)
						i += len(f)
						continue outer
					}
				} else if !final && bytes.HasPrefix(f, rest) {
					return dst, i // a longer form may match once more arrives
				}
			}
		}
		dst = append(dst, src[i])
		i++
	}
	return dst, i
}

// redactingReader redacts a stream as it passes (redactor.scan): it holds back only a tail
// that could be the start of a secret, so that a secret split across two reads is still
// found, and hands on the rest at once. Memory is one read buffer plus less than the longest
// form, whatever the stream's length.
type redactingReader struct {
	src  io.ReadCloser
	r    redactor
	buf  []byte // read but not yet scanned
	out  []byte // redacted, ready to hand on
	off  int    // of out already handed on
	eof  bool
	err  error
	read []byte
}

func newRedactingReader(src io.ReadCloser, r redactor) io.ReadCloser {
	if r.empty() {
		return src
	}
	return &redactingReader{src: src, r: r, read: make([]byte, 32<<10)}
}

func (z *redactingReader) Read(p []byte) (int, error) {
	for z.off == len(z.out) {
		if z.eof {
			return 0, z.err
		}
		n, err := z.src.Read(z.read)
		z.buf = append(z.buf, z.read[:n]...)
		if err != nil {
			z.eof, z.err = true, err
		}
		var used int
		z.out, used = z.r.scan(z.out[:0], z.buf, z.eof)
		z.off = 0
		z.buf = append(z.buf[:0], z.buf[used:]...)
	}
	n := copy(p, z.out[z.off:])
	z.off += n
	return n, nil
}

func (z *redactingReader) Close() error { return z.src.Close() }
