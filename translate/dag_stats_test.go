package translate

import (
	"reflect"
	"strings"
	"testing"

	"airflow-prefect-gateway/prefect/wire"
)

func TestParseDAGStatsIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"b,a,b,,c,", []string{"b", "a", "c"}},
		{",", nil},
		{"a b,c.d", []string{"a b", "c.d"}},
	} {
		got, err := ParseDAGStatsIDs(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseDAGStatsIDs(%q) = %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	many := make([]string, MaxDAGStatsIDs+1)
	for i := range many {
		many[i] = strings.Repeat("x", i+1)
	}
	if _, err := ParseDAGStatsIDs(strings.Join(many, ",")); err == nil {
		t.Error("more than MaxDAGStatsIDs ids accepted")
	}
}

func TestNewDAGStats(t *testing.T) {
	got := NewDAGStats("d", map[string]int{"failed": 2, "queued": 1})
	want := DAGStats{DAGID: "d", Stats: []DAGStateCount{{"queued", 1}, {"running", 0}, {"success", 0}, {"failed", 2}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}

func TestDAGSourceTextMasksCredentials(t *testing.T) {
	dep := wire.Deployment{ID: "id1", Name: "daily", PullSteps: []map[string]any{
		{"prefect.deployments.steps.git_clone": map[string]any{
			"repository":   "https://oauth2:tok123@gitlab.com/a/b.git",
			"access_token": "tok123",
			"credentials":  "{{ prefect.blocks.gitlab-credentials.x }}",
			"nested":       map[string]any{"password": 42, "user": "bob"},
		}},
		{"prefect.deployments.steps.set_working_directory": map[string]any{"directory": "/opt/flows"}},
	}}
	text := DAGSourceText(DAGSourceInfo{DAGID: "etl.daily", FlowName: "etl", Deployment: dep})
	if strings.Contains(text, "tok123") || strings.Contains(text, "42") {
		t.Errorf("a credential is shown:\n%s", text)
	}
	for _, want := range []string{"https://***@gitlab.com/a/b.git", `"password":"***"`, `"user":"bob"`,
		"{{ prefect.blocks.gitlab-credentials.x }}", `{"prefect.deployments.steps.set_working_directory":{"directory":"/opt/flows"}}`,
		"entrypoint: (none)", "path: (none)"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q:\n%s", want, text)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if !strings.HasPrefix(l, "#") {
			t.Errorf("line %q is not a comment: the answer must stay valid Python", l)
		}
	}
}
