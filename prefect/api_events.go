package prefect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"airflow-prefect-gateway/prefect/wire"
)

// MaxEventPageSize is the most events one POST /events/filter answers
// (INTERACTIVE_PAGE_SIZE in prefect/server/events/storage).
const MaxEventPageSize = 50

// FilterEvents reads the first page of events matching filter (limit ≤ MaxEventPageSize;
// 0 answers only the total).
func (c *Client) FilterEvents(ctx context.Context, filter wire.EventFilter, limit int) (wire.EventPage, error) {
	var out wire.EventPage
	body := map[string]any{"filter": filter, "limit": limit}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/events/filter", body: body, out: &out, endpoint: "events/filter", retry: true})
	return out, err
}

// EventsPage reads the page a page token names (GET /events/filter/next).
func (c *Client) EventsPage(ctx context.Context, token string) (wire.EventPage, error) {
	var out wire.EventPage
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/events/filter/next", query: url.Values{"page-token": {token}},
		out: &out, endpoint: "events/filter/next", retry: true})
	return out, err
}

// EmitEvents records events (POST /events). Prefect keeps each event's id, so sending the
// same events again after a lost answer records nothing twice once they are persisted.
func (c *Client) EmitEvents(ctx context.Context, events []wire.EventCreate) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/events", body: events, endpoint: "events", retry: true})
	return err
}

// NextPageToken is the page-token of a page's next_page link; ok is false on the last page.
func NextPageToken(p wire.EventPage) (string, bool) {
	if p.NextPage == nil {
		return "", false
	}
	u, err := url.Parse(*p.NextPage)
	if err != nil {
		return "", false
	}
	tok := u.Query().Get("page-token")
	return tok, tok != ""
}

// PageTokenAt rewrites a page token of a self-hosted Prefect server so that it names the
// page of size events starting at offset of the same query. The server's tokens are the
// query itself (base64 JSON {filter, count, page_size, offset}, see to_page_token in
// prefect/server/events/storage), so any page of a query is one call away instead of
// offset/50 calls. ok is false for a token of another shape (Prefect Cloud's, or a future
// server's): the caller then walks the pages.
func PageTokenAt(token string, offset, size int) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", false
	}
	var parts map[string]json.RawMessage
	if json.Unmarshal(raw, &parts) != nil || len(parts) != 4 {
		return "", false
	}
	for _, k := range []string{"filter", "count", "page_size", "offset"} {
		if _, ok := parts[k]; !ok {
			return "", false
		}
	}
	parts["offset"], _ = json.Marshal(offset)
	parts["page_size"], _ = json.Marshal(size)
	out, err := json.Marshal(parts)
	if err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(out), true
}

// ErrEventWindowTooDeep is EventWindow's answer for an offset it would take more than
// MaxEventWalk pages to reach on a server whose page tokens cannot be rewritten.
var ErrEventWindowTooDeep = errors.New("the offset is deeper than Prefect's event pages can be walked in one request")

// MaxEventWalk bounds the pages EventWindow walks when it cannot jump to an offset.
const MaxEventWalk = 10

// EventWindow reads the events [offset, offset+limit) of a query and the total: one call
// when the window lies within the first page, else two (the first page for the total and a
// page token, then the window itself through a rewritten token, see PageTokenAt). On a server
// whose tokens cannot be rewritten it walks the pages, at most MaxEventWalk.
func (c *Client) EventWindow(ctx context.Context, filter wire.EventFilter, offset, limit int) ([]wire.Event, int, error) {
	first, err := c.FilterEvents(ctx, filter, min(MaxEventPageSize, offset+limit))
	if err != nil {
		return nil, 0, err
	}
	if offset+limit <= MaxEventPageSize || offset >= first.Total {
		return window(first.Events, offset, limit), first.Total, nil
	}
	token, more := NextPageToken(first)
	if !more {
		return window(first.Events, offset, limit), first.Total, nil
	}
	if jump, ok := PageTokenAt(token, offset, limit); ok {
		page, err := c.EventsPage(ctx, jump)
		if err != nil {
			return nil, 0, err
		}
		return window(page.Events, 0, limit), first.Total, nil
	}
	seen := first.Events
	for walked := 1; len(seen) < offset+limit; walked++ {
		if walked >= MaxEventWalk {
			return nil, 0, ErrEventWindowTooDeep
		}
		page, err := c.EventsPage(ctx, token)
		if err != nil {
			return nil, 0, err
		}
		seen = append(seen, page.Events...)
		if token, more = NextPageToken(page); !more {
			break
		}
	}
	return window(seen, offset, limit), first.Total, nil
}

func window(events []wire.Event, offset, limit int) []wire.Event {
	if offset >= len(events) {
		return nil
	}
	return events[offset:min(len(events), offset+limit)]
}

// MaxAutomations bounds the automations AllAutomations reads.
const MaxAutomations = 1000

// AllAutomations reads every automation, 200 a call, up to MaxAutomations.
func (c *Client) AllAutomations(ctx context.Context) ([]wire.Automation, error) {
	all := []wire.Automation{}
	for offset := 0; offset < MaxAutomations; offset += MaxLimit {
		var page []wire.Automation
		body := map[string]any{"limit": MaxLimit, "offset": offset}
		if _, err := c.do(ctx, call{method: http.MethodPost, path: "/automations/filter", body: body, out: &page,
			endpoint: "automations/filter", retry: true}); err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < MaxLimit {
			break
		}
	}
	return all, nil
}
