package translate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeName(t *testing.T) {
	cases := []struct {
		key  string
		a    NameAlphabet
		want string
	}{
		{"my_var", VariableNames, "my_var"},
		{"slack-webhook", VariableNames, "slack-webhook"},
		{"MY_VAR", VariableNames, "airflow--4d-59_-56-41-52"},
		{"env.prod", VariableNames, "airflow-env-2eprod"},
		{"a-b.c", VariableNames, "airflow-a-2db-2ec"},
		{"héllo", VariableNames, "airflow-h-c3-a9llo"},
		{"postgres_default", BlockNames, "airflow-postgres-5fdefault"},
		{"aws-default", BlockNames, "aws-default"},
		// Valid names that are the exact encoding of another key are encoded themselves, so
		// that the two keys cannot share a name.
		{"airflow-env-2eprod", VariableNames, "airflow-airflow-2denv-2d2eprod"},
		// Valid names that only look encoded stay as they are.
		{"airflow-x", VariableNames, "airflow-x"},
		{"airflow-", VariableNames, "airflow-"},
	}
	for _, tc := range cases {
		got, err := EncodeName(tc.key, tc.a)
		if err != nil || got != tc.want {
			t.Errorf("EncodeName(%q, %s) = %q, %v; want %q", tc.key, tc.a.kind, got, err, tc.want)
		}
		if back := DecodeName(got, tc.a); back != tc.key {
			t.Errorf("DecodeName(%q) = %q, want %q", got, back, tc.key)
		}
	}
	for _, bad := range []string{"", strings.Repeat("A", 90), "\xff"} {
		if _, err := EncodeName(bad, VariableNames); err == nil {
			t.Errorf("EncodeName(%q) accepted", bad)
		}
	}
	// Names made in Prefect decode to themselves unless they are exact encodings.
	for _, n := range []string{"airflow-zz", "airflow--4", "airflow--ff", "airflow-A", "plain"} {
		if got := DecodeName(n, VariableNames); got != n {
			t.Errorf("DecodeName(%q) = %q", n, got)
		}
	}
}

// Encoding is injective and decoding inverts it; every name decodes to a key that encodes
// back to that name.
func FuzzNameEncoding(f *testing.F) {
	for _, s := range []string{"MY_VAR", "a.b", "airflow-", "airflow-2e", "airflow--2e", "x-y", "é", "airflow-airflow--41"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, vars bool) {
		a := BlockNames
		if vars {
			a = VariableNames
		}
		if name, err := EncodeName(s, a); err == nil {
			if !a.valid(name) {
				t.Fatalf("EncodeName(%q) = %q: not a valid name", s, name)
			}
			if back := DecodeName(name, a); back != s {
				t.Fatalf("DecodeName(EncodeName(%q)) = %q via %q", s, back, name)
			}
		} else if s != "" && utf8.ValidString(s) && len(s) <= 60 {
			t.Fatalf("EncodeName(%q): %v", s, err)
		}
		if a.valid(s) {
			key := DecodeName(s, a)
			if name, err := EncodeName(key, a); err != nil || name != s {
				t.Fatalf("EncodeName(DecodeName(%q)=%q) = %q, %v", s, key, name, err)
			}
		}
	})
}
