package translate

import (
	"strings"
	"testing"
)

func TestParseTimeKeepsToPythonsYears(t *testing.T) {
	cases := []struct {
		in, want string // want "" means an error
	}{
		{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00"},
		{"0001-01-01T01:00:00+01:00", "0001-01-01T00:00:00+00:00"},
		{"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999+00:00"},
		{"0000-01-01T00:00:00Z", ""},      // no year 0 in Python
		{"0001-01-01T00:00:00+01:00", ""}, // year 0 in UTC
		{"0000-01-01 0:00:00 01:00", ""},  // found by FuzzDAGRunListQuery: year -1 in UTC
		{"9999-12-31T23:00:00-01:00", ""}, // year 10000 in UTC
		{"2024-05-01T12:30:00+02:00", "2024-05-01T10:30:00+00:00"},
	}
	for _, tc := range cases {
		got, err := ParseTime(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseTime(%q) = %v, want an error", tc.in, got)
		case tc.want == "" && !strings.Contains(err.Error(), "years 1 to 9999") && !strings.Contains(err.Error(), "ISO-8601"):
			t.Errorf("ParseTime(%q): %v", tc.in, err)
		case tc.want != "" && (err != nil || FormatTime(got) != tc.want):
			t.Errorf("ParseTime(%q) = %s, %v; want %s", tc.in, FormatTime(got), err, tc.want)
		}
	}
}
