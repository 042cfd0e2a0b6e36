package legacy

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRedactorForms(t *testing.T) {
	r := newRedactor(BasicCredential("gateway", `pa"ss/word`))
	b64 := base64.StdEncoding.EncodeToString([]byte(`gateway:pa"ss/word`))
	for _, tc := range []struct{ in, want string }{
		{"raw pa\"ss/word here", "raw " + Redacted + " here"},
		{`json "pa\"ss/word"`, `json "` + Redacted + `"`},
		{"query pa%22ss%2Fword", "query " + Redacted},
		{"header Basic " + b64, "header Basic " + Redacted},
		{"owner gateway", "owner gateway"}, // the user name is no secret
	} {
		if got := r.text(tc.in); got != tc.want {
			t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
		}
	}
	// A short password is redacted only in its encoded forms.
	short := newRedactor(BasicCredential("admin", "admin"))
	if got := short.text("owners [admin] " + base64.StdEncoding.EncodeToString([]byte("admin:admin"))); got != "owners [admin] "+Redacted {
		t.Errorf("short password: %q", got)
	}
}

// chunked hands out its input in reads of n bytes.
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := min(c.n, len(p), len(c.data))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

func TestRedactingReaderAcrossReads(t *testing.T) {
	r := newRedactor(BasicCredential("u", "s3cret-legacy-pw"))
	in := strings.Repeat("x", 70) + "s3cret-legacy-pw" + strings.Repeat("y", 5) + "s3cret-legacy-pw"
	for n := 1; n <= len(in); n += 7 {
		got, err := io.ReadAll(newRedactingReader(io.NopCloser(&chunked{data: []byte(in), n: n}), r))
		want := r.text(in)
		if err != nil || string(got) != want {
			t.Fatalf("reads of %d: %q, want %q (%v)", n, got, want, err)
		}
	}
	if err := iotest.TestReader(newRedactingReader(io.NopCloser(strings.NewReader(in)), r), []byte(r.text(in))); err != nil {
		t.Fatal(err)
	}
}

// FuzzRedactingReader: whatever the stream and however it is cut into reads, the streamed
// redaction is the redaction of the whole.
func FuzzRedactingReader(f *testing.F) {
	f.Add([]byte("a s3cret-pw b"), 3, "s3cret-pw")
	f.Add([]byte("s3cret-pws3cret-pw"), 1, "s3cret-pw")
	f.Add([]byte("aaaaaa"), 2, "aaaa")
	f.Fuzz(func(t *testing.T, data []byte, n int, password string) {
		if n <= 0 || n > 1<<16 {
			n = 1 + (n & 0xff)
		}
		r := newRedactor(BasicCredential("u", password))
		got, err := io.ReadAll(newRedactingReader(io.NopCloser(&chunked{data: data, n: n}), r))
		if err != nil {
			t.Fatal(err)
		}
		if want := r.bytes(append([]byte(nil), data...)); !bytes.Equal(got, want) {
			t.Fatalf("streamed %q, whole %q", got, want)
		}
	})
}
