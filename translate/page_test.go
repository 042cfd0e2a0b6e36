package translate

import "testing"

func TestParsePage(t *testing.T) {
	cases := []struct {
		limit, offset string
		max           int
		want          Page
		wantErr       bool
	}{
		{"", "", 100, Page{100, 0}, false},
		{"0", "", 100, Page{100, 0}, false},
		{"5", "10", 100, Page{5, 10}, false},
		{"500", "", 100, Page{100, 0}, false},
		{"500", "", 1000, Page{500, 0}, false},
		{"", "", 50, Page{50, 0}, false},
		{"-1", "", 100, Page{}, true},
		{"x", "", 100, Page{}, true},
		{"1", "-3", 100, Page{}, true},
		{"1", "y", 100, Page{}, true},
		{" 7 ", " 2", 100, Page{7, 2}, false},
	}
	for _, tc := range cases {
		got, err := ParsePage(tc.limit, tc.offset, tc.max)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParsePage(%q, %q, %d) = %+v, %v; want %+v, err=%v", tc.limit, tc.offset, tc.max, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	allowed := []string{"id", "state", "execution_date"}
	cases := []struct {
		in      string
		want    OrderBy
		wantErr bool
	}{
		{"", OrderBy{"id", false}, false},
		{"state", OrderBy{"state", false}, false},
		{"-execution_date", OrderBy{"execution_date", true}, false},
		{"-", OrderBy{}, true},
		{"nope", OrderBy{}, true},
		{"--id", OrderBy{}, true},
	}
	for _, tc := range cases {
		got, err := ParseOrderBy(tc.in, "id", allowed)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseOrderBy(%q) = %+v, %v; want %+v, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if _, err := ParseOrderBy("nope", "id", allowed); err == nil || err.Error() != "Ordering with 'nope' is disallowed or the attribute does not exist on the model" {
		t.Errorf("message = %v", err)
	}
}

func FuzzParsePage(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"10", "20"}, {"-1", "0"}, {"99999999999999999999", "1"}} {
		f.Add(s[0], s[1], 100)
	}
	f.Fuzz(func(t *testing.T, limit, offset string, max int) {
		p, err := ParsePage(limit, offset, max)
		if err != nil {
			return
		}
		capTo := max
		if capTo <= 0 {
			capTo = DefaultPageLimit
		}
		if p.Limit < 1 || p.Limit > capTo || p.Offset < 0 {
			t.Fatalf("ParsePage(%q, %q, %d) = %+v out of bounds", limit, offset, max, p)
		}
	})
}
