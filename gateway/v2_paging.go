package gateway

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"airflow-prefect-gateway/translate"
)

// Airflow 3's list parameters (api_fastapi/common/parameters.py), read from a query the v2
// validator has already checked against the document (types, minimums):
//
//   - limit defaults to 50 and is capped silently at [api] maximum_page_limit (100); 0 is a
//     page of nothing (with total_entries), not the default as in v1; offset defaults to 0;
//   - order_by is repeated (order_by=-start_date&order_by=id), "-" for descending, at most 10
//     keys, each one of the endpoint's, else Airflow's 400s;
//   - ranges are <name>_gte, _gt, _lte and _lt;
//   - *_pattern values hold alternatives separated by '|', "~" meaning everything;
//   - list parameters are exploded (state=a&state=b), never comma-separated.

// defaultV2PageLimit is Airflow 3's fallback_page_limit as the v2 document declares it.
const defaultV2PageLimit = 50

// maxSortKeys is Airflow's SortParam.MAX_SORT_PARAMS.
const maxSortKeys = 10

// v2Page reads limit and offset.
func v2Page(q url.Values, maxLimit int) translate.Page {
	p := translate.Page{Limit: defaultV2PageLimit}
	if maxLimit <= 0 {
		maxLimit = translate.DefaultPageLimit
	}
	if v := q.Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			p.Limit = n
		}
	}
	p.Limit = min(p.Limit, maxLimit)
	if v := q.Get("offset"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			p.Offset = n
		}
	}
	return p
}

// v2OrderBy reads order_by against the endpoint's keys (allowed), with aliases mapping a
// key to the one it sorts by (Airflow's to_replace, e.g. dag_run_id → run_id); def is the
// order when none is given.
func v2OrderBy(q url.Values, def []string, allowed []string, aliases map[string]string) ([]translate.OrderBy, error) {
	values := q["order_by"]
	if len(values) == 0 {
		values = def
	}
	if len(values) > maxSortKeys {
		return nil, v2BadRequest(fmt.Sprintf("Ordering with more than %d parameters is not allowed. Provided: %s", maxSortKeys, pyRepr(anySlice(values))))
	}
	out := make([]translate.OrderBy, 0, len(values))
	for _, v := range values {
		field := strings.TrimLeft(v, "-")
		o := translate.OrderBy{Field: field, Desc: strings.HasPrefix(v, "-")}
		if alias, ok := aliases[field]; ok {
			o.Field = alias
		} else if !contains(allowed, field) {
			return nil, v2BadRequest(fmt.Sprintf("Ordering with '%s' is disallowed or the attribute does not exist on the model", field))
		}
		out = append(out, o)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// timeRange is a range filter of Airflow 3: any of its four bounds.
type timeRange struct {
	GTE, GT, LTE, LT *time.Time
}

func (r timeRange) set() bool { return r.GTE != nil || r.GT != nil || r.LTE != nil || r.LT != nil }

// Inclusive is the range as inclusive bounds (a strict bound moves in by a microsecond,
// the resolution of Airflow's and Prefect's timestamps).
func (r timeRange) Inclusive() translate.TimeBounds {
	b := translate.TimeBounds{GTE: r.GTE, LTE: r.LTE}
	if r.GT != nil {
		t := r.GT.Add(time.Microsecond)
		if b.GTE == nil || t.After(*b.GTE) {
			b.GTE = &t
		}
	}
	if r.LT != nil {
		t := r.LT.Add(-time.Microsecond)
		if b.LTE == nil || t.Before(*b.LTE) {
			b.LTE = &t
		}
	}
	return b
}

// v2TimeRange reads <name>_gte, _gt, _lte and _lt. The validator has checked they are
// date-times; one translate cannot read is a 422 at its location.
func v2TimeRange(q url.Values, name string) (timeRange, error) {
	var r timeRange
	for _, b := range []struct {
		suffix string
		dst    **time.Time
	}{{"_gte", &r.GTE}, {"_gt", &r.GT}, {"_lte", &r.LTE}, {"_lt", &r.LT}} {
		v := q.Get(name + b.suffix)
		if v == "" {
			continue
		}
		t, err := translate.ParseTime(v)
		if err != nil {
			return r, ValidationProblem(FieldError{Type: "datetime_from_date_parsing", Loc: []any{"query", name + b.suffix},
				Msg: "Input should be a valid datetime or date, " + err.Error(), Input: v})
		}
		*b.dst = &t
	}
	return r, nil
}

// v2Patterns reads a *_pattern parameter: its '|' alternatives, nil for "any".
func v2Patterns(q url.Values, name string) []string { return translate.SplitPatterns(q.Get(name)) }

// v2PrefixPatterns reads a *_prefix_pattern: alternatives as v2Patterns, each without its
// trailing non-alphanumeric characters, as Airflow strips them.
func v2PrefixPatterns(q url.Values, name string) []string {
	ps := translate.SplitPatterns(q.Get(name))
	for i, p := range ps {
		ps[i] = strings.TrimRightFunc(p, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		})
	}
	return ps
}

// v2List reads an exploded list parameter, leaving out empty values.
func v2List(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// v2Bool reads an optional boolean the validator has checked.
func v2Bool(q url.Values, name string) *bool {
	if _, ok := q[name]; !ok {
		return nil
	}
	switch strings.ToLower(q.Get(name)) {
	case "true", "1", "yes", "on", "t", "y":
		v := true
		return &v
	case "false", "0", "no", "off", "f", "n":
		v := false
		return &v
	}
	return nil
}

// v2BadRequest is Airflow 3's 400 with a plain detail.
func v2BadRequest(detail string) *Problem {
	return BadRequest("%s", detail).ForV2(detail)
}

// v2NotFound is Airflow 3's 404 with a plain detail.
func v2NotFound(detail string) *Problem {
	return NewProblem(404, "", detail).ForV2(detail)
}
