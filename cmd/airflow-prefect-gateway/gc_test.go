package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGCKeepsWhatTheEnvironmentSets(t *testing.T) {
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })

	cases := []struct {
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{map[string]string{}, defaultGCPercent, defaultMemoryLimit},
		{map[string]string{"GOGC": "100"}, 100, defaultMemoryLimit}, // the runtime applied it at start
		{map[string]string{"GOMEMLIMIT": "1GiB"}, defaultGCPercent, 1 << 30},
	}
	for _, tc := range cases {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(1 << 30) // as if the runtime had read GOMEMLIMIT=1GiB
		gotPercent, gotLimit := tuneGC(func(k string) string { return tc.env[k] })
		if gotPercent != tc.wantPercent || gotLimit != tc.wantLimit {
			t.Errorf("env %v: GOGC %d, GOMEMLIMIT %d; want %d, %d", tc.env, gotPercent, gotLimit, tc.wantPercent, tc.wantLimit)
		}
	}
}
