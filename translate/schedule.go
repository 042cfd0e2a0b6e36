package translate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Prefect deployment schedules → Airflow's schedule_interval, timetable_description and
// next_dagrun fields. Cron, interval and rrule schedules are evaluated here, from the
// schedule itself and the way Prefect's scheduler reads it, so a DAG costs no extra Prefect
// call for its next run and the answer does not depend on Prefect's scheduler service having
// materialised runs yet.

// CronExpression is Airflow's serialized cron schedule_interval.
type CronExpression struct {
	Type  string `json:"__type"` // always "CronExpression"
	Value string `json:"value"`
}

// TimeDelta is Airflow's serialized datetime.timedelta.
type TimeDelta struct {
	Type         string `json:"__type"` // always "TimeDelta"
	Days         int    `json:"days"`
	Seconds      int    `json:"seconds"`
	Microseconds int    `json:"microseconds"`
}

// TimeDeltaOf splits seconds the way Python's timedelta normalises them: whole days,
// seconds below a day, microseconds below a second (rounded). Negative and non-finite
// values count as zero.
func TimeDeltaOf(seconds float64) TimeDelta {
	if !(seconds > 0) || math.IsInf(seconds, 0) {
		return TimeDelta{Type: "TimeDelta"}
	}
	total := math.Round(seconds * 1e6) // microseconds
	const perDay = 86400 * 1e6
	days := math.Floor(total / perDay)
	if days > math.MaxInt32 {
		days = math.MaxInt32
	}
	rest := total - days*perDay
	return TimeDelta{
		Type:         "TimeDelta",
		Days:         int(days),
		Seconds:      int(rest / 1e6),
		Microseconds: int(math.Mod(rest, 1e6)),
	}
}

// NoScheduleDescription is what Airflow says of a DAG without a schedule.
const NoScheduleDescription = "Never, external triggers only"

// ZoneLoader finds a time zone by its IANA name. The gateway passes a cached
// time.LoadLocation (which reads the system's zone database, so it stays out of here).
type ZoneLoader func(name string) (*time.Location, error)

// NextRun is the next scheduled run of a DAG in Airflow's terms. Every field is nil when
// the gateway cannot compute it (no schedule, an rrule beyond what ParseRRule reads, a time
// zone it cannot load, a schedule that has ended).
type NextRun struct {
	// LogicalDate is when the run is due: the flow run's expected start time, which the
	// gateway reports as the DAG run's logical date.
	LogicalDate *time.Time
	// IntervalStart and IntervalEnd are the data interval, which ends at the run's time as
	// in Airflow's cron and interval timetables: a daily 06:00 run covers the 24 hours up to
	// that 06:00.
	IntervalStart, IntervalEnd *time.Time
	// CreateAfter is the earliest time the run is created: its due time.
	CreateAfter *time.Time
}

// ScheduleSummary is everything a DAG says about its schedules.
type ScheduleSummary struct {
	// Interval is nil, a CronExpression or a TimeDelta (Airflow has no rrule variant).
	Interval    any
	Description string
	Timezone    string
	Next        NextRun
	// StartDate is the interval schedule's anchor, when the first active schedule has one.
	StartDate *time.Time
}

// SummarizeSchedules reads a deployment's schedules. The first active schedule gives
// schedule_interval and the time zone; the description names every active schedule; the
// next run is the earliest next tick of all of them, since Prefect runs them all.
func SummarizeSchedules(schedules []wire.DeploymentSchedule, now time.Time, zones ZoneLoader) ScheduleSummary {
	out := ScheduleSummary{Description: NoScheduleDescription, Timezone: "UTC"}
	var descriptions []string
	first := true
	for _, ds := range schedules {
		if ds.Active != nil && !*ds.Active {
			continue
		}
		sch := ds.Schedule
		tz := "UTC"
		if sch.Timezone != nil && *sch.Timezone != "" {
			tz = *sch.Timezone
		}
		if first {
			first = false
			out.Timezone = tz
			switch {
			case sch.Cron != "":
				out.Interval = CronExpression{Type: "CronExpression", Value: sch.Cron}
			case sch.Interval != nil:
				out.Interval = TimeDeltaOf(*sch.Interval)
				if sch.AnchorDate != nil {
					a := sch.AnchorDate.UTC()
					out.StartDate = &a
				}
			}
		}
		descriptions = append(descriptions, describeSchedule(sch, tz))
		if next, ok := nextRunOf(sch, tz, now, zones); ok {
			if out.Next.LogicalDate == nil || next.LogicalDate.Before(*out.Next.LogicalDate) {
				out.Next = next
			}
		}
	}
	if len(descriptions) > 0 {
		out.Description = strings.Join(descriptions, "; ")
	}
	return out
}

func describeSchedule(sch wire.Schedule, tz string) string {
	var d string
	switch {
	case sch.Cron != "":
		if c, err := ParseCron(sch.Cron); err == nil {
			d = c.Describe()
		} else {
			d = "Cron " + strings.TrimSpace(sch.Cron)
		}
	case sch.Interval != nil:
		d = DescribeInterval(*sch.Interval)
	case sch.RRule != "":
		// Airflow has no rrule timetable: the rule itself is the most faithful description.
		d = "RRule " + strings.Join(strings.Fields(sch.RRule), " ")
	default:
		d = "Unknown schedule"
	}
	if tz != "UTC" && sch.RRule == "" {
		d += " (" + tz + ")"
	}
	return d
}

func nextRunOf(sch wire.Schedule, tz string, now time.Time, zones ZoneLoader) (NextRun, bool) {
	switch {
	case sch.Cron != "":
		c, err := ParseCron(sch.Cron)
		if err != nil {
			return NextRun{}, false
		}
		if sch.DayOr != nil {
			c.DayOr = *sch.DayOr
		}
		loc, ok := loadZone(tz, zones)
		if !ok {
			return NextRun{}, false
		}
		at, ok := c.Next(now, loc)
		if !ok {
			return NextRun{}, false
		}
		start, ok := c.Prev(at, loc)
		if !ok {
			return NextRun{}, false
		}
		return newNextRun(start, at), true
	case sch.Interval != nil:
		every, ok := secondsToDuration(*sch.Interval)
		if !ok {
			return NextRun{}, false
		}
		anchor := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // Prefect's default anchor
		if sch.AnchorDate != nil {
			anchor = *sch.AnchorDate
		}
		at := NextIntervalTick(anchor, every, now)
		return newNextRun(at.Add(-every), at), true
	case sch.RRule != "":
		rule, err := ParseRRule(sch.RRule)
		if err != nil {
			return NextRun{}, false
		}
		loc, ok := loadZone(tz, zones)
		if !ok {
			return NextRun{}, false
		}
		at, ok := rule.Next(now, loc)
		if !ok {
			return NextRun{}, false
		}
		start, ok := rule.Prev(at, loc)
		if !ok {
			start = at // the first occurrence: nothing before it
		}
		return newNextRun(start, at), true
	}
	return NextRun{}, false
}

func newNextRun(start, at time.Time) NextRun {
	start, at = start.UTC(), at.UTC()
	end, create := at, at
	return NextRun{LogicalDate: &at, IntervalStart: &start, IntervalEnd: &end, CreateAfter: &create}
}

func loadZone(name string, zones ZoneLoader) (*time.Location, bool) {
	if name == "UTC" || name == "" {
		return time.UTC, true
	}
	if zones == nil {
		return nil, false
	}
	loc, err := zones(name)
	return loc, err == nil && loc != nil
}

// secondsToDuration converts a Prefect interval; intervals under a second or over a
// century are not evaluated.
func secondsToDuration(s float64) (time.Duration, bool) {
	if !(s >= 1) || s > 100*365*86400 {
		return 0, false
	}
	return time.Duration(s * float64(time.Second)), true
}

// NextIntervalTick is the first tick anchor + k·every strictly after after (the anchor
// itself when it is still ahead).
func NextIntervalTick(anchor time.Time, every time.Duration, after time.Time) time.Time {
	if every <= 0 {
		return anchor
	}
	if after.Before(anchor) {
		return anchor
	}
	k := after.Sub(anchor)/every + 1
	return anchor.Add(k * every)
}

// DescribeInterval says "Every 1 day, 2 hours" for an interval in seconds.
func DescribeInterval(seconds float64) string {
	d := TimeDeltaOf(seconds)
	if d.Days == 0 && d.Seconds == 0 && d.Microseconds == 0 {
		return "Every 0 seconds"
	}
	var parts []string
	unit := func(n int, name string) {
		if n == 0 {
			return
		}
		if n != 1 {
			name += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
	}
	unit(d.Days, "day")
	unit(d.Seconds/3600, "hour")
	unit(d.Seconds%3600/60, "minute")
	unit(d.Seconds%60, "second")
	unit(d.Microseconds, "microsecond")
	return "Every " + strings.Join(parts, ", ")
}

// --- cron ---

// Cron is a parsed cron expression as Prefect (croniter) reads it: five fields (minute,
// hour, day of month, month, day of week) or six with seconds last; names for months and
// weekdays; "*", "?", lists, ranges and steps; "L" for the last day of the month; "d#n"
// for the n-th weekday d of the month; the @yearly/@monthly/@weekly/@daily/@hourly
// aliases.
type Cron struct {
	Expr string
	// DayOr: when both day fields are restricted, a day matches either (croniter's default,
	// as in classic cron); false needs both.
	DayOr bool

	fields      [6]cronField // second, minute, hour, day of month, month, day of week
	withSeconds bool
	lastDOM     bool // "L" in the day of month
	nthDOW      []nthWeekday
}

type cronField struct {
	raw  string
	bits uint64
	star bool // "*" or "?": no restriction
}

type nthWeekday struct {
	weekday time.Weekday
	n       int // 1..5
}

const (
	fSecond = iota
	fMinute
	fHour
	fDOM
	fMonth
	fDOW
)

var cronBounds = [6][2]int{{0, 59}, {0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}

var cronAliases = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

var monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}

var weekdayNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// ParseCron reads a cron expression. DayOr starts true, as in Prefect.
func ParseCron(expr string) (*Cron, error) {
	src := strings.TrimSpace(expr)
	if alias, ok := cronAliases[strings.ToLower(src)]; ok {
		src = alias
	}
	parts := strings.Fields(src)
	c := &Cron{Expr: strings.TrimSpace(expr), DayOr: true}
	switch len(parts) {
	case 5:
		parts = append([]string{"0"}, parts...)
	case 6:
		// croniter puts the seconds last.
		c.withSeconds = true
		parts = append([]string{parts[5]}, parts[:5]...)
	default:
		return nil, fmt.Errorf("cron %q: want 5 or 6 fields, got %d", expr, len(parts))
	}
	for i, raw := range parts {
		f, err := c.parseField(i, raw)
		if err != nil {
			return nil, fmt.Errorf("cron %q: %w", expr, err)
		}
		c.fields[i] = f
	}
	// Day of week 7 is Sunday, as 0.
	if c.fields[fDOW].bits&(1<<7) != 0 {
		c.fields[fDOW].bits = c.fields[fDOW].bits&^(1<<7) | 1
	}
	if c.fields[fDOM].bits == 0 && !c.lastDOM {
		return nil, fmt.Errorf("cron %q: empty day of month", expr)
	}
	if c.fields[fDOW].bits == 0 && len(c.nthDOW) == 0 {
		return nil, fmt.Errorf("cron %q: empty day of week", expr)
	}
	return c, nil
}

func (c *Cron) parseField(i int, raw string) (cronField, error) {
	f := cronField{raw: raw}
	lo, hi := cronBounds[i][0], cronBounds[i][1]
	if raw == "*" || raw == "?" {
		f.star = true
		f.bits = rangeBits(lo, hi, 1)
		return f, nil
	}
	for _, tok := range strings.Split(raw, ",") {
		switch {
		case tok == "":
			return f, fmt.Errorf("empty list item in %q", raw)
		case i == fDOM && strings.EqualFold(tok, "L"):
			c.lastDOM = true
			continue
		case i == fDOW && strings.Contains(tok, "#"):
			d, n, _ := strings.Cut(tok, "#")
			wd, err := cronValue(d, fDOW)
			if err != nil {
				return f, err
			}
			k, err := strconv.Atoi(n)
			if err != nil || k < 1 || k > 5 || wd > 7 {
				return f, fmt.Errorf("bad nth weekday %q", tok)
			}
			c.nthDOW = append(c.nthDOW, nthWeekday{weekday: time.Weekday(wd % 7), n: k})
			continue
		}
		rng, stepText, hasStep := strings.Cut(tok, "/")
		step := 1
		if hasStep {
			s, err := strconv.Atoi(stepText)
			if err != nil || s < 1 || s > hi+1 {
				return f, fmt.Errorf("bad step in %q", tok)
			}
			step = s
		}
		var a, b int
		switch {
		case rng == "*" || rng == "?":
			a, b = lo, hi
			if i == fDOW {
				b = 6
			}
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err error
			if a, err = cronValue(x, i); err != nil {
				return f, err
			}
			if b, err = cronValue(y, i); err != nil {
				return f, err
			}
			if a > b {
				return f, fmt.Errorf("backwards range %q", rng)
			}
		default:
			v, err := cronValue(rng, i)
			if err != nil {
				return f, err
			}
			a, b = v, v
			if hasStep { // "5/15" runs from 5 to the end of the range
				b = hi
				if i == fDOW {
					b = 6
				}
			}
		}
		if a < lo || b > hi {
			return f, fmt.Errorf("%q is out of range %d-%d", tok, lo, hi)
		}
		f.bits |= rangeBits(a, b, step)
	}
	return f, nil
}

func cronValue(s string, field int) (int, error) {
	l := strings.ToLower(s)
	if field == fMonth {
		if v, ok := monthNames[l]; ok {
			return v, nil
		}
	}
	if field == fDOW {
		if v, ok := weekdayNames[l]; ok {
			return v, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 59 {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

func rangeBits(a, b, step int) uint64 {
	var bits uint64
	for v := a; v <= b; v += step {
		bits |= 1 << uint(v)
	}
	return bits
}

func (f cronField) has(v int) bool { return f.bits&(1<<uint(v)) != 0 }

func (c *Cron) dayMatches(t time.Time) bool {
	dom := c.fields[fDOM].has(t.Day())
	if c.lastDOM && t.AddDate(0, 0, 1).Month() != t.Month() {
		dom = true
	}
	dow := c.fields[fDOW].has(int(t.Weekday()))
	for _, nth := range c.nthDOW {
		if t.Weekday() == nth.weekday && (t.Day()-1)/7+1 == nth.n {
			dow = true
		}
	}
	domStar, dowStar := c.fields[fDOM].star, c.fields[fDOW].star
	if c.DayOr && !domStar && !dowStar {
		return dom || dow
	}
	return dom && dow
}

func (c *Cron) unit() time.Duration {
	if c.withSeconds {
		return time.Second
	}
	return time.Minute
}

// cronHorizon bounds the search: "0 0 29 2 1" with day_or=false can be decades away, and an
// impossible expression ("0 0 31 2 *") has no tick at all.
const cronHorizon = 30

// Next is the first tick strictly after after. As in Prefect, the expression is evaluated on
// loc's wall clock: across a daylight-saving change a daily 06:00 stays at 06:00 local, an
// hour that repeats is run once (its first pass), and a wall time that does not exist is
// read with the offset after the change (see instantOf).
func (c *Cron) Next(after time.Time, loc *time.Location) (time.Time, bool) {
	w := wallClock(after, loc)
	limit := w.AddDate(cronHorizon, 0, 0)
	for {
		var ok bool
		if w, ok = c.nextWall(w, limit); !ok {
			return time.Time{}, false
		}
		// A wall time that means an instant already past (a gap read backwards, the
		// first pass of a repeated hour) is not next: the search goes on.
		if t := instantOf(w, loc); t.After(after) {
			return t, true
		}
	}
}

// Prev is the last tick strictly before before.
func (c *Cron) Prev(before time.Time, loc *time.Location) (time.Time, bool) {
	w := wallClock(before, loc)
	if w.Nanosecond() != 0 || (!c.withSeconds && w.Second() != 0) {
		// A tick at the truncated wall time is still before before.
		w = w.Truncate(c.unit()).Add(c.unit())
	}
	limit := w.AddDate(-cronHorizon, 0, 0)
	for {
		var ok bool
		if w, ok = c.prevWall(w, limit); !ok {
			return time.Time{}, false
		}
		if t := instantOf(w, loc); t.Before(before) {
			return t, true
		}
	}
}

// wallClock is t's wall-clock reading in loc, as a UTC time, so that the search below
// never meets a daylight-saving change.
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// instantOf is the instant a wall-clock time w means in loc, as Prefect (dateutil, pendulum)
// reads it: in an hour that repeats, its first pass; in a gap, w with the offset in force
// after the change (02:30 in a 02:00→03:00 gap is 01:30 before it).
func instantOf(w time.Time, loc *time.Location) time.Time {
	for _, probe := range []time.Time{w.Add(-24 * time.Hour), w.Add(24 * time.Hour)} {
		_, offset := probe.In(loc).Zone()
		t := w.Add(-time.Duration(offset) * time.Second).In(loc)
		if wallClock(t, loc).Equal(w) {
			return t // the offset before the change first: the earlier of two passes
		}
	}
	_, after := w.Add(24 * time.Hour).In(loc).Zone()
	return w.Add(-time.Duration(after) * time.Second).In(loc)
}

// nextWall is the first matching wall time strictly after w (a UTC-encoded wall clock).
func (c *Cron) nextWall(w, limit time.Time) (time.Time, bool) {
	unit := c.unit()
	t := w.Truncate(unit).Add(unit)
	for t.Before(limit) {
		switch {
		case !c.fields[fMonth].has(int(t.Month())):
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !c.fields[fHour].has(t.Hour()):
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !c.fields[fMinute].has(t.Minute()):
			t = t.Truncate(time.Minute).Add(time.Minute)
		case !c.fields[fSecond].has(t.Second()):
			t = t.Add(time.Second)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}

// prevWall is the last matching wall time strictly before w (w is on a unit boundary).
func (c *Cron) prevWall(w, limit time.Time) (time.Time, bool) {
	unit := c.unit()
	t := w.Add(-unit)
	for t.After(limit) {
		switch {
		case !c.fields[fMonth].has(int(t.Month())):
			t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Add(-unit)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Add(-unit)
		case !c.fields[fHour].has(t.Hour()):
			t = t.Truncate(time.Hour).Add(-unit)
		case !c.fields[fMinute].has(t.Minute()):
			t = t.Truncate(time.Minute).Add(-unit)
		case !c.fields[fSecond].has(t.Second()):
			t = t.Add(-time.Second)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}

// Describe says in English what the expression does, in the manner of the cron-descriptor
// text Airflow shows ("At 06:00", "Every 5 minutes", "At 06:00, Monday through Friday").
func (c *Cron) Describe() string {
	sec, min, hour := c.fields[fSecond], c.fields[fMinute], c.fields[fHour]
	var b strings.Builder
	minV, minOne := singleValue(min.raw)
	hourV, hourOne := singleValue(hour.raw)
	hourList, hourIsList := valueList(hour.raw)
	switch {
	case minOne && hourOne:
		fmt.Fprintf(&b, "At %02d:%02d", hourV, minV)
	case minOne && hourIsList:
		times := make([]string, len(hourList))
		for i, h := range hourList {
			times[i] = fmt.Sprintf("%02d:%02d", h, minV)
		}
		b.WriteString("At " + joinAnd(times))
	case min.star && hour.star:
		b.WriteString("Every minute")
	case hour.star:
		if minOne && minV == 0 {
			b.WriteString("Every hour")
		} else if step, ok := everyStep(min.raw); ok {
			fmt.Fprintf(&b, "Every %d minutes", step)
		} else {
			b.WriteString(describeMinutes(min))
		}
	default:
		if min.star {
			b.WriteString("Every minute")
		} else if step, ok := everyStep(min.raw); ok {
			fmt.Fprintf(&b, "Every %d minutes", step)
		} else {
			b.WriteString(describeMinutes(min))
		}
		b.WriteString(", " + describeHours(hour))
	}
	if c.withSeconds && sec.raw != "0" {
		rest := b.String()
		b.Reset()
		b.WriteString(describeSeconds(sec) + ", " + strings.ToLower(rest[:1]) + rest[1:])
	}
	if dom := c.fields[fDOM]; !dom.star || c.lastDOM {
		b.WriteString(", " + c.describeDOM())
	}
	if month := c.fields[fMonth]; !month.star {
		b.WriteString(", " + describeNamed(month, "month", monthTitle))
	}
	if dow := c.fields[fDOW]; !dow.star || len(c.nthDOW) > 0 {
		b.WriteString(", " + c.describeDOW())
	}
	return b.String()
}

func describeMinutes(f cronField) string {
	if v, ok := singleValue(f.raw); ok {
		return fmt.Sprintf("At %d minutes past the hour", v)
	}
	if vs, ok := valueList(f.raw); ok {
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = strconv.Itoa(v)
		}
		return "At " + joinAnd(s) + " minutes past the hour"
	}
	if a, b, ok := plainRange(f.raw); ok {
		return fmt.Sprintf("Every minute from %d through %d past the hour", a, b)
	}
	return "At minutes " + f.raw + " past the hour"
}

func describeSeconds(f cronField) string {
	if v, ok := singleValue(f.raw); ok {
		return fmt.Sprintf("At %d seconds past the minute", v)
	}
	if step, ok := everyStep(f.raw); ok {
		return fmt.Sprintf("Every %d seconds", step)
	}
	if f.star {
		return "Every second"
	}
	return "At seconds " + f.raw + " past the minute"
}

func describeHours(f cronField) string {
	if step, ok := everyStep(f.raw); ok {
		return fmt.Sprintf("every %d hours", step)
	}
	if a, b, ok := plainRange(f.raw); ok {
		return fmt.Sprintf("between %02d:00 and %02d:59", a, b)
	}
	if v, ok := singleValue(f.raw); ok {
		return fmt.Sprintf("between %02d:00 and %02d:59", v, v)
	}
	return "at hours " + f.raw
}

func (c *Cron) describeDOM() string {
	f := c.fields[fDOM]
	var items []string
	if !f.star {
		if step, ok := everyStep(f.raw); ok {
			return fmt.Sprintf("every %d days", step)
		}
		for _, tok := range strings.Split(f.raw, ",") {
			if strings.EqualFold(tok, "L") {
				continue
			}
			if a, b, ok := plainRange(tok); ok {
				items = append(items, fmt.Sprintf("%d through %d", a, b))
			} else {
				items = append(items, tok)
			}
		}
	}
	switch {
	case c.lastDOM && len(items) == 0:
		return "on the last day of the month"
	case c.lastDOM:
		return "on day " + joinAnd(items) + " and the last day of the month"
	case len(items) == 1 && isNumber(items[0]):
		return "on day " + items[0] + " of the month"
	}
	return "on days " + joinAnd(items) + " of the month"
}

var ordinals = []string{"", "first", "second", "third", "fourth", "fifth"}

func (c *Cron) describeDOW() string {
	var parts []string
	if f := c.fields[fDOW]; !f.star && f.raw != "" && f.bits != 0 {
		parts = append(parts, describeNamed(cronField{raw: withoutNth(f.raw), bits: f.bits}, "week", weekdayTitle))
	}
	for _, nth := range c.nthDOW {
		parts = append(parts, fmt.Sprintf("on the %s %s of the month", ordinals[nth.n], nth.weekday))
	}
	return strings.Join(parts, " and ")
}

func withoutNth(raw string) string {
	var keep []string
	for _, tok := range strings.Split(raw, ",") {
		if !strings.Contains(tok, "#") {
			keep = append(keep, tok)
		}
	}
	return strings.Join(keep, ",")
}

func monthTitle(v int) string { return time.Month(v).String() }

func weekdayTitle(v int) string { return time.Weekday(v % 7).String() }

// describeNamed describes a month or weekday field: "only in January", "Monday through
// Friday", "only on Monday and Friday", "every 3 months".
func describeNamed(f cronField, unit string, title func(int) string) string {
	if step, ok := everyStep(f.raw); ok {
		return fmt.Sprintf("every %d %ss", step, map[string]string{"month": "month", "week": "day"}[unit])
	}
	var items []string
	single := true
	for _, tok := range strings.Split(f.raw, ",") {
		if x, y, ok := strings.Cut(tok, "-"); ok && !strings.Contains(tok, "/") {
			a, errA := cronValue(x, fieldOfUnit(unit))
			b, errB := cronValue(y, fieldOfUnit(unit))
			if errA == nil && errB == nil {
				items = append(items, title(a)+" through "+title(b))
				single = false
				continue
			}
		}
		if v, err := cronValue(tok, fieldOfUnit(unit)); err == nil {
			items = append(items, title(v))
			continue
		}
		items = append(items, tok)
	}
	if !single && len(items) == 1 {
		return items[0]
	}
	if unit == "month" {
		return "only in " + joinAnd(items)
	}
	return "only on " + joinAnd(items)
}

func fieldOfUnit(unit string) int {
	if unit == "month" {
		return fMonth
	}
	return fDOW
}

func isNumber(s string) bool {
	_, ok := singleValue(s)
	return ok
}

func singleValue(raw string) (int, bool) {
	v, err := strconv.Atoi(raw)
	return v, err == nil
}

func valueList(raw string) ([]int, bool) {
	if !strings.Contains(raw, ",") {
		return nil, false
	}
	var out []int
	for _, tok := range strings.Split(raw, ",") {
		v, err := strconv.Atoi(tok)
		if err != nil {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

func plainRange(raw string) (int, int, bool) {
	x, y, ok := strings.Cut(raw, "-")
	if !ok {
		return 0, 0, false
	}
	a, errA := strconv.Atoi(x)
	b, errB := strconv.Atoi(y)
	return a, b, errA == nil && errB == nil
}

// everyStep recognises "*/n" (and "0/n", which croniter reads the same way).
func everyStep(raw string) (int, bool) {
	r, s, ok := strings.Cut(raw, "/")
	if !ok || (r != "*" && r != "0") {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// --- rrule ---

// RRule is the part of RFC 5545 recurrence rules the gateway evaluates: one rule with FREQ
// from YEARLY to MINUTELY, INTERVAL, COUNT, UNTIL, BYMONTH, BYMONTHDAY, BYDAY (weekdays
// without an ordinal), BYHOUR, BYMINUTE, BYSECOND and WKST, with an optional DTSTART. Rules
// beyond that (BYSETPOS, BYWEEKNO, BYYEARDAY, "1MO", RDATE, EXDATE, several rules) do not
// parse, and their DAGs report no next run rather than a wrong one.
//
// As in Prefect, DTSTART (default 2020-01-01 00:00) and UNTIL are wall-clock times in the
// schedule's time zone, whatever zone the rule text names.
type RRule struct {
	freq     rruleFreq
	interval int
	count    int        // 0: no limit
	until    *time.Time // wall clock
	dtstart  time.Time  // wall clock
	wkst     time.Weekday

	months, monthDays, weekdays, hours, minutes, seconds []int
}

type rruleFreq int

const (
	freqYearly rruleFreq = iota
	freqMonthly
	freqWeekly
	freqDaily
	freqHourly
	freqMinutely
)

var rruleFreqs = map[string]rruleFreq{"YEARLY": freqYearly, "MONTHLY": freqMonthly, "WEEKLY": freqWeekly,
	"DAILY": freqDaily, "HOURLY": freqHourly, "MINUTELY": freqMinutely}

var rruleWeekdays = map[string]time.Weekday{"MO": time.Monday, "TU": time.Tuesday, "WE": time.Wednesday,
	"TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday, "SU": time.Sunday}

// ParseRRule reads an rrule string as Prefect stores it.
func ParseRRule(text string) (*RRule, error) {
	r := &RRule{interval: 1, wkst: time.Monday, dtstart: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	rules := 0
	for _, line := range strings.Fields(strings.ToUpper(text)) {
		switch {
		case strings.HasPrefix(line, "DTSTART"):
			_, value, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("rrule: bad DTSTART %q", line)
			}
			t, err := parseRRuleTime(value)
			if err != nil {
				return nil, err
			}
			r.dtstart = t
		case strings.HasPrefix(line, "RRULE:"), strings.HasPrefix(line, "FREQ="):
			rules++
			if err := r.parseRule(strings.TrimPrefix(line, "RRULE:")); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("rrule: %q is not supported", line)
		}
	}
	if rules != 1 {
		return nil, fmt.Errorf("rrule: want exactly one rule, got %d", rules)
	}
	r.applyDefaults()
	return r, nil
}

func (r *RRule) parseRule(rule string) error {
	hasFreq := false
	for _, part := range strings.Split(rule, ";") {
		if part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("rrule: bad part %q", part)
		}
		var err error
		switch key {
		case "FREQ":
			f, ok := rruleFreqs[value]
			if !ok {
				return fmt.Errorf("rrule: FREQ=%s is not supported", value)
			}
			r.freq, hasFreq = f, true
		case "INTERVAL":
			r.interval, err = strconv.Atoi(value)
			if err == nil && r.interval < 1 {
				err = fmt.Errorf("INTERVAL must be positive")
			}
		case "COUNT":
			r.count, err = strconv.Atoi(value)
			if err == nil && (r.count < 1 || r.count > maxRRuleCount) {
				err = fmt.Errorf("COUNT must be between 1 and %d", maxRRuleCount)
			}
		case "UNTIL":
			var t time.Time
			if t, err = parseRRuleTime(value); err == nil {
				r.until = &t
			}
		case "WKST":
			wd, ok := rruleWeekdays[value]
			if !ok {
				err = fmt.Errorf("bad WKST")
			}
			r.wkst = wd
		case "BYDAY":
			for _, v := range strings.Split(value, ",") {
				wd, ok := rruleWeekdays[v]
				if !ok {
					return fmt.Errorf("rrule: BYDAY=%s is not supported", v)
				}
				r.weekdays = append(r.weekdays, int(wd))
			}
		case "BYMONTH":
			r.months, err = rruleInts(value, 1, 12, false)
		case "BYMONTHDAY":
			r.monthDays, err = rruleInts(value, 1, 31, true)
		case "BYHOUR":
			r.hours, err = rruleInts(value, 0, 23, false)
		case "BYMINUTE":
			r.minutes, err = rruleInts(value, 0, 59, false)
		case "BYSECOND":
			r.seconds, err = rruleInts(value, 0, 59, false)
		default:
			return fmt.Errorf("rrule: %s is not supported", key)
		}
		if err != nil {
			return fmt.Errorf("rrule: %s=%s: %w", key, value, err)
		}
	}
	if !hasFreq {
		return fmt.Errorf("rrule: no FREQ")
	}
	return nil
}

func rruleInts(value string, lo, hi int, negative bool) ([]int, error) {
	var out []int
	for _, v := range strings.Split(value, ",") {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, err
		}
		abs := n
		if negative && n < 0 {
			abs = -n
		}
		if abs < lo || abs > hi {
			return nil, fmt.Errorf("%d is out of range", n)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseRRuleTime(v string) (time.Time, error) {
	v = strings.TrimSuffix(v, "Z")
	for _, layout := range []string{"20060102T150405", "20060102"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("rrule: bad date-time %q", v)
}

// applyDefaults fills the finer fields from DTSTART, as RFC 5545 (and dateutil) do.
func (r *RRule) applyDefaults() {
	ds := r.dtstart
	if len(r.monthDays) == 0 && len(r.weekdays) == 0 {
		switch r.freq {
		case freqYearly:
			if len(r.months) == 0 {
				r.months = []int{int(ds.Month())}
			}
			r.monthDays = []int{ds.Day()}
		case freqMonthly:
			r.monthDays = []int{ds.Day()}
		case freqWeekly:
			r.weekdays = []int{int(ds.Weekday())}
		}
	}
	if len(r.hours) == 0 && r.freq < freqHourly {
		r.hours = []int{ds.Hour()}
	}
	if len(r.minutes) == 0 && r.freq < freqMinutely {
		r.minutes = []int{ds.Minute()}
	}
	if len(r.seconds) == 0 {
		r.seconds = []int{ds.Second()}
	}
}

func intIn(list []int, v int) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// civilDays counts days since 0001-01-01 for a wall-clock date.
func civilDays(t time.Time) int {
	return int(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix()/86400) + 719162
}

// dayMatches checks a wall date against the date parts of the rule and, for rules whose
// period is a day or longer, the INTERVAL.
func (r *RRule) dayMatches(d time.Time) bool {
	if !intIn(r.months, int(d.Month())) || !intIn(r.weekdays, int(d.Weekday())) {
		return false
	}
	if len(r.monthDays) > 0 {
		last := time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		hit := false
		for _, md := range r.monthDays {
			if md == d.Day() || (md < 0 && last+1+md == d.Day()) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	ds := r.dtstart
	var period int
	switch r.freq {
	case freqYearly:
		period = d.Year() - ds.Year()
	case freqMonthly:
		period = (d.Year()-ds.Year())*12 + int(d.Month()) - int(ds.Month())
	case freqWeekly:
		startOfWeek := func(t time.Time) int { return civilDays(t) - (int(t.Weekday())-int(r.wkst)+7)%7 }
		period = (startOfWeek(d) - startOfWeek(ds)) / 7
	case freqDaily:
		period = civilDays(d) - civilDays(ds)
	default:
		return true // hourly and minutely: checked per time of day
	}
	return period >= 0 && period%r.interval == 0
}

// times lists the wall times of day d that the rule allows, in order.
func (r *RRule) times(d time.Time) []time.Time {
	hours, minutes := r.hours, r.minutes
	if len(hours) == 0 {
		hours = seq(0, 23)
	}
	if len(minutes) == 0 {
		minutes = seq(0, 59)
	}
	var out []time.Time
	for _, h := range sortedInts(hours) {
		for _, m := range sortedInts(minutes) {
			for _, s := range sortedInts(r.seconds) {
				t := time.Date(d.Year(), d.Month(), d.Day(), h, m, s, 0, time.UTC)
				if r.freq >= freqHourly {
					ds := r.dtstart
					idx := (civilDays(t)-civilDays(ds))*24 + t.Hour() - ds.Hour()
					if r.freq == freqMinutely {
						idx = idx*60 + t.Minute() - ds.Minute()
					}
					if idx < 0 || idx%r.interval != 0 {
						continue
					}
				}
				out = append(out, t)
			}
		}
	}
	return out
}

func seq(a, b int) []int {
	out := make([]int, 0, b-a+1)
	for v := a; v <= b; v++ {
		out = append(out, v)
	}
	return out
}

func sortedInts(v []int) []int {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}

// maxRRuleCount bounds COUNT: counting occurrences from DTSTART is a walk that long.
const maxRRuleCount = 100000

// rruleHorizonDays bounds a search (a Feb 29 rule every 4 years still fits).
const rruleHorizonDays = 366 * 30

// occurrences walks the rule's wall times day by day from DTSTART's day or from, whichever
// is later (from COUNT's start when the rule counts), calling yield until it returns false.
func (r *RRule) occurrences(from time.Time, yield func(w time.Time) bool) {
	day := time.Date(r.dtstart.Year(), r.dtstart.Month(), r.dtstart.Day(), 0, 0, 0, 0, time.UTC)
	if r.count == 0 && from.After(day) {
		day = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	}
	n := 0
	for i := 0; i < rruleHorizonDays; i++ {
		if r.dayMatches(day) {
			for _, w := range r.times(day) {
				if w.Before(r.dtstart) {
					continue
				}
				if r.until != nil && w.After(*r.until) {
					return
				}
				n++
				if r.count > 0 && n > r.count {
					return
				}
				if !yield(w) {
					return
				}
			}
		} else if r.until != nil && day.After(*r.until) {
			return
		}
		day = day.AddDate(0, 0, 1)
	}
}

// Next is the first occurrence strictly after after, in loc.
func (r *RRule) Next(after time.Time, loc *time.Location) (time.Time, bool) {
	var found time.Time
	r.occurrences(wallClock(after, loc).AddDate(0, 0, -1), func(w time.Time) bool {
		if t := instantOf(w, loc); t.After(after) {
			found = t
			return false
		}
		return true
	})
	return found, !found.IsZero()
}

// Prev is the last occurrence strictly before before.
func (r *RRule) Prev(before time.Time, loc *time.Location) (time.Time, bool) {
	if r.count > 0 {
		// Which occurrences exist depends on counting from DTSTART.
		var last time.Time
		r.occurrences(r.dtstart, func(w time.Time) bool {
			t := instantOf(w, loc)
			if !t.Before(before) {
				return false
			}
			last = t
			return true
		})
		return last, !last.IsZero()
	}
	// As dateutil does: the occurrence that precedes, in wall-clock order, the first one
	// that is not before before (a wall time read across a daylight-saving change can mean
	// an instant out of that order).
	var stop time.Time
	r.occurrences(wallClock(before, loc).AddDate(0, 0, -1), func(w time.Time) bool {
		if !instantOf(w, loc).Before(before) {
			stop = w
			return false
		}
		return true
	})
	if stop.IsZero() {
		stop = wallClock(before, loc).AddDate(0, 0, 1) // the rule ended before before
	}
	day := time.Date(stop.Year(), stop.Month(), stop.Day(), 0, 0, 0, 0, time.UTC)
	first := time.Date(r.dtstart.Year(), r.dtstart.Month(), r.dtstart.Day(), 0, 0, 0, 0, time.UTC)
	for i := 0; i < rruleHorizonDays && !day.Before(first); i++ {
		if r.dayMatches(day) {
			ts := r.times(day)
			for j := len(ts) - 1; j >= 0; j-- {
				if !ts[j].Before(stop) || ts[j].Before(r.dtstart) || (r.until != nil && ts[j].After(*r.until)) {
					continue
				}
				if t := instantOf(ts[j], loc); t.Before(before) {
					return t, true
				}
			}
		}
		day = day.AddDate(0, 0, -1)
	}
	return time.Time{}, false
}
