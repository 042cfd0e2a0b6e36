package translate

import (
	"cmp"
	"slices"
	"time"
)

// ListedTI is a task instance in a listing, with the entry it came from.
type ListedTI struct {
	TI    TaskInstance
	Entry TIEntry
}

// SortMapped orders mapped task instances as Airflow's listMapped does: by the order_by
// field, map_index breaking ties; -map_index is map_index descending. Missing values sort
// first ascending and last descending.
func SortMapped(items []ListedTI, o OrderBy) {
	slices.SortStableFunc(items, func(a, b ListedTI) int {
		var c int
		switch o.Field {
		case "state":
			c = nullsFirst(a.TI.State, b.TI.State, cmp.Compare[string])
		case "duration":
			c = nullsFirst(a.TI.Duration, b.TI.Duration, cmp.Compare[float64])
		case "start_date":
			c = nullsFirst(parsedTime(a.TI.StartDate), parsedTime(b.TI.StartDate), time.Time.Compare)
		case "end_date":
			c = nullsFirst(parsedTime(a.TI.EndDate), parsedTime(b.TI.EndDate), time.Time.Compare)
		}
		if o.Field == "map_index" {
			c = cmp.Compare(a.TI.MapIndex, b.TI.MapIndex)
		}
		if o.Desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a.TI.MapIndex, b.TI.MapIndex)
		}
		return c
	})
}

func nullsFirst[T any](a, b *T, compare func(x, y T) int) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return compare(*a, *b)
}

// PageItems is the page p of items.
func PageItems[T any](items []T, p Page) []T {
	if p.Offset >= len(items) {
		return []T{}
	}
	items = items[p.Offset:]
	if p.Limit < len(items) {
		items = items[:p.Limit]
	}
	return items
}
