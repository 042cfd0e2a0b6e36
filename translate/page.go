package translate

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultPageLimit is Airflow's default and fallback page size ([api] fallback_page_limit).
const DefaultPageLimit = 100

// Page is a validated Airflow page request.
type Page struct {
	Limit  int
	Offset int
}

// ParsePage reads Airflow's `limit` and `offset` query values. As Airflow does, an absent or
// zero limit means the default, a limit over maxLimit is silently capped, a negative limit
// is a 400 ("Page limit must be a positive integer"), and offset must be ≥ 0.
func ParsePage(limit, offset string, maxLimit int) (Page, error) {
	p := Page{Limit: DefaultPageLimit}
	if maxLimit <= 0 {
		maxLimit = DefaultPageLimit
	}
	if limit != "" {
		n, err := strconv.Atoi(strings.TrimSpace(limit))
		if err != nil {
			return Page{}, fmt.Errorf("limit %q is not an integer", limit)
		}
		if n < 0 {
			return Page{}, fmt.Errorf("Page limit must be a positive integer")
		}
		if n > 0 {
			p.Limit = n
		}
	}
	if p.Limit > maxLimit {
		p.Limit = maxLimit
	}
	if p.Limit == DefaultPageLimit && maxLimit < DefaultPageLimit {
		p.Limit = maxLimit
	}
	if offset != "" {
		n, err := strconv.Atoi(strings.TrimSpace(offset))
		if err != nil {
			return Page{}, fmt.Errorf("offset %q is not an integer", offset)
		}
		if n < 0 {
			return Page{}, fmt.Errorf("offset %d must be 0 or more", n)
		}
		p.Offset = n
	}
	return p, nil
}

// OrderBy is a parsed Airflow order_by: a field name and a direction.
type OrderBy struct {
	Field string
	Desc  bool
}

// ParseOrderBy reads Airflow's order_by ("field" or "-field") against the endpoint's
// allow-list; empty means def. A field outside the list gets Airflow's own message.
func ParseOrderBy(v, def string, allowed []string) (OrderBy, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		v = def
	}
	o := OrderBy{Field: v}
	if f, ok := strings.CutPrefix(v, "-"); ok {
		o = OrderBy{Field: f, Desc: true}
	}
	for _, a := range allowed {
		if a == o.Field {
			return o, nil
		}
	}
	return OrderBy{}, fmt.Errorf("Ordering with '%s' is disallowed or the attribute does not exist on the model", o.Field)
}

// ListQuery is the limit, offset and order_by of a plain Airflow listing.
type ListQuery struct {
	Page    Page
	OrderBy OrderBy
}

// ParseListQuery reads limit, offset and order_by (default def, one of allowed).
func ParseListQuery(limit, offset, orderBy, def string, allowed []string, maxLimit int) (ListQuery, error) {
	p, err := ParsePage(limit, offset, maxLimit)
	if err != nil {
		return ListQuery{}, err
	}
	o, err := ParseOrderBy(orderBy, def, allowed)
	if err != nil {
		return ListQuery{}, err
	}
	return ListQuery{Page: p, OrderBy: o}, nil
}
