package translate

import (
	"net/url"
	"testing"
	"time"
)

func TestEventLogIDRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		at time.Time
		id string
	}{
		{time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC), "0190f000-0000-7000-8000-000000000abc"},
		{time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), "ffffffff-ffff-ffff-ffff-ffffffffffff"},
		{time.Unix(0, 0), "x"},
	} {
		id := EventLogID(tc.at, tc.id)
		if id >= 1<<53 && tc.at.Year() < 2200 {
			t.Errorf("%v: id %d is not exact in JavaScript", tc.at, id)
		}
		ms, low, ok := DecodeEventLogID(id)
		if id == 0 {
			if ok {
				t.Errorf("id 0 decodes")
			}
			continue
		}
		if !ok || !ms.Equal(tc.at.Truncate(time.Millisecond)) || low != eventIDLowBits(tc.id) {
			t.Errorf("%v %s: id %d decodes to %v %x %v", tc.at, tc.id, id, ms, low, ok)
		}
	}
	a := EventLogID(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), "ffffffff-ffff-ffff-ffff-ffffffffffff")
	b := EventLogID(time.Date(2024, 5, 1, 0, 0, 0, int(time.Millisecond), time.UTC), "00000000-0000-0000-0000-000000000000")
	if a >= b {
		t.Errorf("ids are not in time order: %d ≥ %d", a, b)
	}
}

func TestParseEventLogQuery(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	q, err := ParseEventLogQuery(url.Values{"after": {"2024-05-01T00:00:00Z"}, "before": {"2024-05-02T00:00:00Z"},
		"order_by": {"-event_log_id"}, "event": {"e1"}, "included_events": {"e1,e2"}}, 100, now)
	if err != nil || !q.Desc || q.Nothing || len(q.Names) != 1 || q.Names[0] != "e1" ||
		!q.Since.Equal(time.Date(2024, 5, 1, 0, 0, 0, 1000, time.UTC)) || !q.Until.Equal(time.Date(2024, 5, 1, 23, 59, 59, 999999000, time.UTC)) {
		t.Errorf("%+v %v", q, err)
	}
	for _, bad := range []url.Values{
		{"order_by": {"owner"}}, {"try_number": {"x"}}, {"map_index": {"1.5"}}, {"after": {"2024-05-01"}},
		{"task_id": {"t"}}, {"run_id": {"!r"}}, {"limit": {"-1"}},
	} {
		if _, err := ParseEventLogQuery(bad, 100, now); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	for _, nothing := range []url.Values{{"owner": {"a"}}, {"map_index": {"3"}}, {"after": {"2030-01-01T00:00:00Z"}},
		{"event": {"a"}, "included_events": {"b"}}} {
		if q, err := ParseEventLogQuery(nothing, 100, now); err != nil || !q.Nothing {
			t.Errorf("%v: %+v %v, want a query that matches nothing", nothing, q, err)
		}
	}
}

func FuzzEventLogQuery(f *testing.F) {
	f.Add("2024-05-01T00:00:00Z", "2024-05-02T00:00:00+02:00", "r1", "t1", "3", "-when", "a,b")
	f.Add("", "", "", "", "", "", "")
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, after, before, run, task, try, order, events string) {
		v := url.Values{}
		for k, s := range map[string]string{"after": after, "before": before, "run_id": run, "task_id": task,
			"try_number": try, "order_by": order, "included_events": events} {
			if s != "" {
				v.Set(k, s)
			}
		}
		q, err := ParseEventLogQuery(v, 100, now)
		if err != nil {
			return
		}
		if !q.Nothing && q.Until.Before(q.Since) {
			t.Fatalf("an empty time range is not marked as matching nothing: %+v", q)
		}
		f := q.PrefectFilter(EventLogScope{})
		if f.Order != "ASC" && f.Order != "DESC" {
			t.Fatalf("order %q", f.Order)
		}
	})
}
