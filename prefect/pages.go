package prefect

import (
	"context"
	"fmt"
)

// readAll reads every row a paged Prefect filter returns, MaxLimit at a time, in the
// filter's order. Inserts and deletes between pages move rows across page boundaries: a row
// inserted meanwhile near the front pushes the rest down (a row is read twice and kept once,
// none is missed); one deleted meanwhile pulls the rest up, which could hide a row. So the
// pages overlap by one row, and when a page does not start with a row already seen, rows
// moved up and the read starts over (three times at most, then the union is returned).
// what names the rows in errors ("deployments").
func readAll[T any](ctx context.Context, what string, fetch func(ctx context.Context, offset, limit int) ([]T, error), id func(T) string) ([]T, error) {
	const stride = MaxLimit - 1
	for attempt := 1; ; attempt++ {
		var all []T
		seen := map[string]bool{}
		moved := false
		for offset := 0; ; offset += stride {
			rows, err := fetch(ctx, offset, MaxLimit)
			if err != nil {
				return nil, fmt.Errorf("list %s from %d: %w", what, offset, err)
			}
			if offset > 0 && len(rows) > 0 && !seen[id(rows[0])] {
				moved = true
			}
			for _, r := range rows {
				if k := id(r); !seen[k] {
					seen[k] = true
					all = append(all, r)
				}
			}
			if len(rows) < MaxLimit {
				break
			}
		}
		if !moved || attempt == 3 {
			return all, nil
		}
	}
}
