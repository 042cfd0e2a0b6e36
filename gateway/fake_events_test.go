package gateway

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// Prefect's events API in fakePrefect, as prefect/server 3.8.8 has it: POST /events/filter
// answers at most 50 events (422 above), ordered by occurred (DESC unless ASC), with the
// total and a next_page link whose page-token is base64 JSON {filter, count, page_size,
// offset}; GET /events/filter/next serves any such token; POST /events records events.
// Label values are match expressions ('*' and '?' wildcards, a leading '!' negates).

type fakeEventQuery struct {
	Filter wire.EventFilter `json:"filter"`
	Limit  *int             `json:"limit"`
}

// addEvent records an event as if Prefect had received it.
func (f *fakePrefect) addEvent(ev wire.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
}

func (f *fakePrefect) handleEvents(w http.ResponseWriter, r *http.Request, p string, _ []string) bool {
	switch {
	case r.Method == http.MethodPost && p == "/events/filter":
		var q fakeEventQuery
		if !fakeDecodeStrict(w, r, []string{"filter", "limit"}, &q) {
			return true
		}
		limit := 50
		if q.Limit != nil {
			limit = *q.Limit
		}
		if limit < 0 || limit > 50 {
			fakeDetail(w, 422, "Input should be less than or equal to 50")
			return true
		}
		f.eventPage(w, r, q.Filter, limit, 0)
	case r.Method == http.MethodGet && p == "/events/filter/next":
		raw, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("page-token"))
		var tok struct {
			Filter   wire.EventFilter `json:"filter"`
			Count    int              `json:"count"`
			PageSize int              `json:"page_size"`
			Offset   int              `json:"offset"`
		}
		if err != nil || json.Unmarshal(raw, &tok) != nil {
			fakeDetail(w, 403, "Forbidden")
			return true
		}
		f.eventPage(w, r, tok.Filter, tok.PageSize, tok.Offset)
	case r.Method == http.MethodPost && p == "/events":
		raw, _ := io.ReadAll(r.Body)
		var evs []wire.Event
		if err := json.Unmarshal(raw, &evs); err != nil {
			fakeDetail(w, 422, err.Error())
			return true
		}
		f.events = append(f.events, evs...)
		w.WriteHeader(http.StatusNoContent)
	default:
		return false
	}
	return true
}

func (f *fakePrefect) eventPage(w http.ResponseWriter, r *http.Request, flt wire.EventFilter, size, offset int) {
	var match []wire.Event
	for _, ev := range f.events {
		if fakeEventMatches(ev, flt) {
			match = append(match, ev)
		}
	}
	sort.SliceStable(match, func(i, j int) bool {
		if flt.Order == "ASC" {
			return match[i].Occurred.Before(match[j].Occurred)
		}
		return match[i].Occurred.After(match[j].Occurred)
	})
	if flt.Resource != nil && flt.Resource.Distinct {
		seen := map[string]bool{}
		match = slices.DeleteFunc(match, func(ev wire.Event) bool {
			dup := seen[ev.Resource.ID()]
			seen[ev.Resource.ID()] = true
			return dup
		})
	}
	total := len(match)
	page := fakePage(match, offset, &size)
	out := map[string]any{"events": page, "total": total, "next_page": nil}
	if offset+size < total {
		tok, _ := json.Marshal(map[string]any{"filter": flt, "count": total, "page_size": size, "offset": offset + size})
		out["next_page"] = "http://" + r.Host + "/api/events/filter/next?page-token=" + base64.StdEncoding.EncodeToString(tok)
	}
	fakeJSON(w, 200, out)
}

func fakeEventMatches(ev wire.Event, flt wire.EventFilter) bool {
	if ev.Occurred.Before(flt.Occurred.Since) || ev.Occurred.After(flt.Occurred.Until) {
		return false
	}
	if n := flt.Event; n != nil {
		if n.Prefix != nil && !slices.ContainsFunc(n.Prefix, func(p string) bool { return strings.HasPrefix(ev.Event, p) }) {
			return false
		}
		if n.Name != nil && !slices.Contains(n.Name, ev.Event) {
			return false
		}
		if slices.Contains(n.ExcludeName, ev.Event) {
			return false
		}
	}
	if rf := flt.Resource; rf != nil {
		if rf.ID != nil && !slices.Contains(rf.ID, ev.Resource.ID()) {
			return false
		}
		if !fakeLabelsMatch(ev.Resource, rf.Labels) {
			return false
		}
	}
	if flt.ID != nil && flt.ID.ID != nil && !slices.Contains(flt.ID.ID, ev.ID) {
		return false
	}
	for _, ar := range flt.AnyResource {
		all := append([]wire.Resource{ev.Resource}, ev.Related...)
		if !slices.ContainsFunc(all, func(res wire.Resource) bool {
			return (ar.ID == nil || slices.Contains(ar.ID, res.ID())) &&
				(ar.IDPrefix == nil || slices.ContainsFunc(ar.IDPrefix, func(p string) bool { return strings.HasPrefix(res.ID(), p) })) &&
				fakeLabelsMatch(res, ar.Labels)
		}) {
			return false
		}
	}
	return true
}

func fakeLabelsMatch(res wire.Resource, labels map[string][]string) bool {
	for label, exprs := range labels {
		v, ok := res[label]
		if !ok || !slices.ContainsFunc(exprs, func(e string) bool {
			neg := strings.HasPrefix(e, "!")
			m, _ := path.Match(strings.TrimPrefix(e, "!"), v)
			return m != neg
		}) {
			return false
		}
	}
	return true
}

// flowRunEvent is a state-change event of a run of dep, as Prefect's server emits it.
func flowRunEvent(dep *fakeDeployment, flow string, run *wire.FlowRun, state string, at time.Time, id string) wire.Event {
	return wire.Event{ID: id, Occurred: at, Event: "prefect.flow-run." + state,
		Resource: wire.Resource{"prefect.resource.id": "prefect.flow-run." + run.ID, "prefect.resource.name": run.Name,
			"prefect.run-count": "1", "prefect.state-name": state},
		Related: []wire.Resource{
			{"prefect.resource.id": "prefect.flow." + dep.FlowID, "prefect.resource.role": "flow", "prefect.resource.name": flow},
			{"prefect.resource.id": "prefect.deployment." + dep.ID, "prefect.resource.role": "deployment", "prefect.resource.name": dep.Name},
		},
		Payload: json.RawMessage(`{"intended":{"to":"` + strings.ToUpper(state) + `"}}`)}
}

// taskRunEvent is a state-change event of a task run of run, as Prefect's client emits it.
func taskRunEvent(dep *fakeDeployment, run *wire.FlowRun, taskRunID, taskKey, state string, runCount string, at time.Time, id string) wire.Event {
	return wire.Event{ID: id, Occurred: at, Event: "prefect.task-run." + state,
		Resource: wire.Resource{"prefect.resource.id": "prefect.task-run." + taskRunID, "prefect.resource.name": taskKey + "-x",
			"prefect.run-count": runCount},
		Related: []wire.Resource{
			{"prefect.resource.id": "prefect.flow-run." + run.ID, "prefect.resource.role": "flow-run", "prefect.resource.name": run.Name},
			{"prefect.resource.id": "prefect.deployment." + dep.ID, "prefect.resource.role": "deployment", "prefect.resource.name": dep.Name},
		},
		Payload: json.RawMessage(`{"task_run":{"task_key":"` + taskKey + `","dynamic_key":"0"}}`)}
}
