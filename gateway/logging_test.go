package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Every request is one log line, a failed one included, with its error in it (issue 21).
func TestOneLogLinePerRequest(t *testing.T) {
	stub := newRecordingPrefect(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"detail":"database exploded"}`)
	})
	core, logs := observer.New(zap.DebugLevel)
	s := newAuthServer(t, stub.URL(), AuthOptions{Mode: AuthModeNone}, zap.New(core))
	logs.TakeAll() // the start-up lines
	cases := []struct {
		path   string
		status int
		level  zapcore.Level
		error  string
	}{
		{"/api/v1/dags", 502, zap.WarnLevel, "database exploded"},
		{"/api/v1/nowhere", 404, zap.InfoLevel, "404"},
		{"/api/v1/version", 200, zap.InfoLevel, ""},
	}
	for _, tc := range cases {
		rec := authGet(s, tc.path, "")
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.path, rec.Code, tc.status)
		}
		lines := logs.TakeAll()
		if len(lines) != 1 {
			t.Errorf("%s: %d log lines, want 1: %v", tc.path, len(lines), lines)
			continue
		}
		l := lines[0]
		got, _ := l.ContextMap()["error"].(string)
		if l.Message != "request" || l.Level != tc.level || (tc.error == "") != (got == "") || !strings.Contains(got, tc.error) {
			t.Errorf("%s: %s %q error=%q, want a %s request line with %q", tc.path, l.Level, l.Message, got, tc.level, tc.error)
		}
	}
}
