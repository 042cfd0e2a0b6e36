// Package translate is the pure heart of the gateway: Airflow request parameters into
// Prefect filter and create bodies, Prefect objects into Airflow JSON, the state and id
// rules, and pagination arithmetic. No I/O, no HTTP, no Echo: everything here is a function
// of its arguments, table-tested and fuzzed.
package translate

import (
	"fmt"
	"strings"
	"time"
)

// Airflow writes timestamps with Python's datetime.isoformat() in UTC: microseconds when
// there are any, none at all when they are zero (2024-05-01T06:00:00+00:00), and "+00:00".
const (
	// AirflowTimeLayout is a timestamp with microseconds.
	AirflowTimeLayout = "2006-01-02T15:04:05.000000-07:00"
	// AirflowWholeSecondLayout is one whose microseconds are zero.
	AirflowWholeSecondLayout = "2006-01-02T15:04:05-07:00"
)

// FormatTime writes t in UTC the way Airflow does (isoformat, truncated to microseconds).
func FormatTime(t time.Time) string {
	var buf [32]byte
	return string(AppendTime(buf[:0], t))
}

// FormatTimePtr is FormatTime for optional times: nil stays nil (JSON null).
func FormatTimePtr(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := FormatTime(*t)
	return &s
}

// ParseTime reads an Airflow date-time: RFC 3339 with an offset or "Z", with or without
// fractional seconds; "T" or a space between date and time. Naive times (no offset) are an
// error, as Airflow rejects them. A "+" that a query string decoded to a space
// ("2024-01-01T00:00:00 00:00") is repaired.
func ParseTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return time.Time{}, fmt.Errorf("empty date-time")
	}
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	// "...T00:00:00 00:00": the '+' of the offset became a space in a query string.
	if n := len(v); n >= 6 && v[n-6] == ' ' && v[n-3] == ':' {
		v = v[:n-6] + "+" + v[n-5:]
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		if _, naive := time.Parse("2006-01-02T15:04:05.999999999", v); naive == nil {
			return time.Time{}, fmt.Errorf("%q has no timezone offset: Airflow needs timezone-aware date-times", s)
		}
		return time.Time{}, fmt.Errorf("%q is not an ISO-8601 date-time", s)
	}
	// Airflow's dates are Python datetimes: years 1 to 9999, in UTC too. Outside them Prefect
	// could not be asked either (its filters are JSON dates, which end at year 9999).
	if y := t.UTC().Year(); y < 1 || y > 9999 || t.Year() < 1 {
		return time.Time{}, fmt.Errorf("%q is outside the years 1 to 9999 (in UTC)", s)
	}
	return t.UTC(), nil
}

// Airflow 3 (pydantic) writes UTC timestamps as Airflow 2 does but with "Z" for the offset:
// 2024-05-01T06:00:00Z, 2024-05-01T06:00:00.123456Z.

// FormatTimeV2 writes t in UTC the way Airflow 3's API does.
func FormatTimeV2(t time.Time) string { return TimeV2(FormatTime(t)) }

// TimeV2 turns a timestamp FormatTime wrote into Airflow 3's spelling.
func TimeV2(s string) string {
	if base, ok := strings.CutSuffix(s, "+00:00"); ok {
		return base + "Z"
	}
	return s
}

// TimeV2Ptr is TimeV2 for optional timestamps: nil stays nil.
func TimeV2Ptr(s *string) *string {
	if s == nil {
		return nil
	}
	v := TimeV2(*s)
	return &v
}
