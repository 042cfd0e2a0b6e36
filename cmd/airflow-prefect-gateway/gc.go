package main

import "runtime/debug"

// The collector's settings for a gateway, unless GOGC or GOMEMLIMIT say otherwise: collect
// at five times the live heap rather than twice, under a 24 MiB soft limit. The live heap is
// small (2–4 MB) while every request allocates tens of KB, so with Go's defaults the gateway
// collected dozens of times a second under load, and on a busy small machine each collection
// stops every request in flight for 1–3 ms. In `make bench` these settings lowered the
// gateway's added p99 and its peak RSS alike: the soft limit also makes the runtime hand
// freed memory back sooner. Under very high concurrency (hundreds of large pages in flight)
// raise GOMEMLIMIT, or the collector works harder to stay under it.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 24 << 20
)

// tuneGC applies the defaults the environment does not override and reports the settings in
// force.
func tuneGC(getenv func(string) string) (gcPercent int, memoryLimit int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	gcPercent = debug.SetGCPercent(-1) // there is no plain read: set, then put back
	debug.SetGCPercent(gcPercent)
	return gcPercent, debug.SetMemoryLimit(-1)
}
