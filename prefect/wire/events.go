package wire

import (
	"encoding/json"
	"time"
)

// Prefect's events API (prefect/server/api/events.py, events/filters.py): POST
// /events/filter answers the first page of events matching a filter, newest first unless
// ordered otherwise, at most 50 a page, with the total and a link to the next page.

// Resource is an event's resource or related resource: a flat map of labels, among them
// prefect.resource.id, prefect.resource.name and, for related ones, prefect.resource.role.
type Resource map[string]string

// ID is the resource's prefect.resource.id.
func (r Resource) ID() string { return r["prefect.resource.id"] }

// Name is the resource's prefect.resource.name.
func (r Resource) Name() string { return r["prefect.resource.name"] }

// Role is a related resource's prefect.resource.role.
func (r Resource) Role() string { return r["prefect.resource.role"] }

// Event is a ReceivedEvent.
type Event struct {
	ID       string          `json:"id"`
	Occurred time.Time       `json:"occurred"`
	Event    string          `json:"event"`
	Resource Resource        `json:"resource"`
	Related  []Resource      `json:"related"`
	Payload  json.RawMessage `json:"payload"`
	Received *time.Time      `json:"received,omitempty"`
}

// EventCreate is an event the gateway emits (POST /events); Prefect keeps the id it is given,
// so a repeat of the same event is recognisable.
type EventCreate struct {
	ID       string         `json:"id"`
	Occurred time.Time      `json:"occurred"`
	Event    string         `json:"event"`
	Resource Resource       `json:"resource"`
	Related  []Resource     `json:"related,omitempty"`
	Payload  map[string]any `json:"payload,omitempty"`
}

// EventPage is Prefect's EventPage.
type EventPage struct {
	Events   []Event `json:"events"`
	Total    int     `json:"total"`
	NextPage *string `json:"next_page"`
}

// EventFilter is Prefect's EventFilter (the "filter" key of /events/filter).
type EventFilter struct {
	Occurred    EventOccurred        `json:"occurred"`
	Event       *EventNameFilter     `json:"event,omitempty"`
	Resource    *EventResourceFilter `json:"resource,omitempty"`
	AnyResource []EventAnyResource   `json:"any_resource,omitempty"`
	ID          *EventIDFilter       `json:"id,omitempty"`
	Order       string               `json:"order,omitempty"` // ASC or DESC (the default)
}

// EventOccurred bounds when events occurred; both ends inclusive. Prefect's defaults are
// 180 days back and now, so the gateway always sends both.
type EventOccurred struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// EventNameFilter matches event names by prefix or exactly.
type EventNameFilter struct {
	Prefix        []string `json:"prefix,omitempty"`
	ExcludePrefix []string `json:"exclude_prefix,omitempty"`
	Name          []string `json:"name,omitempty"`
	ExcludeName   []string `json:"exclude_name,omitempty"`
}

// EventResourceFilter matches an event's primary resource. Label values are match
// expressions: '*' and '?' are wildcards and a leading '!' negates.
type EventResourceFilter struct {
	ID       []string            `json:"id,omitempty"`
	IDPrefix []string            `json:"id_prefix,omitempty"`
	Labels   map[string][]string `json:"labels,omitempty"`
	Distinct bool                `json:"distinct,omitempty"`
}

// EventAnyResource matches when the primary or a related resource passes every criterion.
type EventAnyResource struct {
	ID       []string            `json:"id,omitempty"`
	IDPrefix []string            `json:"id_prefix,omitempty"`
	Labels   map[string][]string `json:"labels,omitempty"`
}

// EventIDFilter matches event ids.
type EventIDFilter struct {
	ID []string `json:"id,omitempty"`
}
