package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"airflow-prefect-gateway/prefect/wire"
)

// addLogs adds n log lines of task run tr, one every step from start on ("line <i>").
func (f *fakePrefect) addLogs(tr wire.TaskRun, n int, start time.Time, step time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * step)
		id := tr.ID
		f.taskAPI.logs = append(f.taskAPI.logs, wire.Log{ID: f.nextID(), Name: "prefect.task_runs", Level: 20,
			Message: fmt.Sprintf("line %d", i), Timestamp: &ts, TaskRunID: &id, FlowRunID: tr.FlowRunID})
	}
}

func (e *runsEnv) get(path, accept string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestLogs(t *testing.T) {
	e := newTIEnv(t)
	var extract wire.TaskRun
	for _, tr := range e.fake.taskRuns {
		if tr.TaskKey == "extract-1a2b3c4d" {
			extract = tr
		}
	}
	e.fake.addLogs(extract, 450, *extract.StartTime, time.Millisecond)
	// load ran twice: its second try started 1.5 s after the first.
	e.fake.addLogs(e.load, 3, *e.load.StartTime, 100*time.Millisecond)
	e.fake.addLogs(e.load, 2, e.load.StartTime.Add(1600*time.Millisecond), 100*time.Millisecond)
	base := "/dags/etl.daily/dagRuns/r0/taskInstances/"

	// JSON pages of 200 lines, chained by their tokens, two calls each.
	var lines []string
	token := ""
	for page := 0; page < 4; page++ {
		e.fake.takeCalls()
		path := base + "extract-1a2b3c4d/logs/1"
		if token != "" {
			path += "?token=" + url.QueryEscape(token)
		}
		status, hdr, body := e.get(path, "application/json")
		var lr logResponse
		if status != 200 || json.Unmarshal([]byte(body), &lr) != nil || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("page %d: %d %s", page, status, body)
		}
		if calls := normalizeCalls(e.fake.takeCalls()); !sameMultiset(calls, []string{"POST /task_runs/filter", "POST /logs/filter"}) {
			t.Errorf("page %d: calls %v", page, calls)
		}
		if !strings.HasPrefix(lr.Content, "[('', '") || !strings.HasSuffix(lr.Content, "')]") {
			t.Fatalf("page %d content is not Airflow's: %.80s", page, lr.Content)
		}
		text := strings.TrimSuffix(strings.TrimPrefix(lr.Content, "[('', '"), "')]")
		for _, l := range strings.Split(text, `\n`) {
			if l != "" {
				lines = append(lines, l)
			}
		}
		token = lr.ContinuationToken
	}
	if len(lines) != 450 || !strings.HasSuffix(lines[449], "INFO - line 449") ||
		!strings.HasPrefix(lines[0], "["+extract.StartTime.UTC().Format("2006-01-02T15:04:05.000")+"+0000] {prefect.task_runs} INFO - line 0") {
		t.Errorf("%d lines over the pages; first %q last %q", len(lines), lines[0], lines[len(lines)-1])
	}

	// text/plain: the whole log, streamed, one Prefect page after the other.
	e.fake.takeCalls()
	status, hdr, body := e.get(base+"extract-1a2b3c4d/logs/1", "text/plain")
	if status != 200 || hdr.Get("Content-Type") != "text/plain" || strings.Count(body, "\n") != 451 || !strings.HasPrefix(body, "\n[") ||
		!strings.HasSuffix(body, "INFO - line 449\n") {
		t.Errorf("text: %d %q, %d lines", status, hdr.Get("Content-Type"), strings.Count(body, "\n"))
	}
	if calls := normalizeCalls(e.fake.takeCalls()); len(calls) != 4 {
		t.Errorf("text: calls %v, want the task runs and three log pages", calls)
	}
	// full_content: one JSON answer with the whole log.
	status, _, body = e.get(base+"extract-1a2b3c4d/logs/1?full_content=true", "")
	var full logResponse
	if status != 200 || json.Unmarshal([]byte(body), &full) != nil || strings.Count(full.Content, `\n`) != 450 || full.ContinuationToken == "" {
		t.Errorf("full content: %d %.200s", status, body)
	}

	// Tries: each try's lines, by the times Prefect recorded each try's start.
	for try, want := range map[int][]string{1: {"line 0", "line 1", "line 2"}, 2: {"line 0", "line 1"}} {
		e.fake.takeCalls()
		_, _, body := e.get(fmt.Sprintf("%sload-9f8e7d6c/logs/%d", base, try), "text/plain")
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
			_, msg, _ := strings.Cut(l, "INFO - ")
			got = append(got, msg)
		}
		if !equalStrings(got, want) {
			t.Errorf("try %d: %v, want %v", try, got, want)
		}
		if calls := normalizeCalls(e.fake.takeCalls()); !sameMultiset(calls, []string{"POST /task_runs/filter", "GET /task_run_states/", "POST /logs/filter"}) {
			t.Errorf("try %d: calls %v", try, calls)
		}
	}

	cases := []struct {
		path, title string
		status      int
	}{
		{base + "extract-1a2b3c4d/logs/2", "TaskInstance not found", 404},
		{base + "nope/logs/1", "TaskInstance not found", 404},
		{base + "transform-5e6f7a8b/logs/1", "TaskInstance not found", 404}, // mapped: needs map_index
		{base + "transform-5e6f7a8b/logs/1?map_index=1", "", 200},
		{"/dags/etl.daily/dagRuns/nope/taskInstances/extract-1a2b3c4d/logs/1", "TaskInstance not found", 404},
		{base + "extract-1a2b3c4d/logs/1?token=garbage", "Bad Signature. Please use only the tokens provided by the API.", 400},
		{base + "load-9f8e7d6c/logs/2?token=" + url.QueryEscape(token), "Bad Signature. Please use only the tokens provided by the API.", 400},
	}
	for _, tc := range cases {
		status, _, body := e.get(tc.path, "application/json")
		var p Problem
		_ = json.Unmarshal([]byte(body), &p)
		if status != tc.status || status != 200 && p.Title != tc.title {
			t.Errorf("%s: %d %s, want %d %q", tc.path, status, body, tc.status, tc.title)
		}
	}
}

func TestPrefersText(t *testing.T) {
	for accept, want := range map[string]bool{"": false, "*/*": true, "text/plain": true, "application/json": false,
		"application/json, text/plain": true, "application/json, */*": false, "text/plain;q=0.5, application/json": false,
		"text/*": true, "image/png": false} {
		if got := prefersText(accept); got != want {
			t.Errorf("Accept %q: text %v, want %v", accept, got, want)
		}
	}
}
