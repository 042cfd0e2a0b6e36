package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"airflow-prefect-gateway/translate"
)

// Logs of a task instance's try: the Prefect log lines of its task run, within the try's
// window (DESIGN §3). Prefect calls on a warm DAG cache:
//
//	first JSON page of a try      2: the run's task runs, one /logs/filter (200 lines); +1 for a task run that ran more than once (its state history)
//	each later JSON page          2: the task runs again (the token holds a position, no id to trust), one /logs/filter
//	text/plain, full_content      2, then one /logs/filter per 200 lines, written as they come
//
// A log is never held whole: a page is at most 200 lines, and a stream writes each page
// before it reads the next.

// logPageLines is one Prefect page, the most a /logs/filter call returns.
const logPageLines = 200

// maxLogStreamFactor bounds a streamed log: it may take this many request timeouts in all,
// each page at most one.
const maxLogStreamFactor = 10

func (s *Server) registerLogRoutes(g *echo.Group) {
	s.route(g, http.MethodGet, "/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/logs/:task_try_number", s.getLog, RoleViewer)
}

// logResponse is Airflow's JSON log answer.
type logResponse struct {
	Content           string `json:"content"`
	ContinuationToken string `json:"continuation_token"`
}

// logRequest is a validated get_log request.
type logRequest struct {
	path  tiPath
	try   int
	full  bool
	token string
	text  bool // Accept prefers text/plain
}

func parseLogRequest(c echo.Context) (logRequest, error) {
	r := logRequest{path: tiPath{DAGID: decodedPathParam(c, "dag_id"), RunID: decodedPathParam(c, "dag_run_id"),
		TaskID: decodedPathParam(c, "task_id"), MapIndex: -1, Mapped: true}}
	var err error
	if r.try, err = strconv.Atoi(c.Param("task_try_number")); err != nil {
		return r, BadRequest("Wrong type, expected 'integer' for path parameter 'task_try_number'")
	}
	q := c.QueryParams()
	if v := q.Get("full_content"); v != "" {
		if r.full, err = strconv.ParseBool(v); err != nil {
			return r, BadRequest("Wrong type, expected 'boolean' for query parameter 'full_content'")
		}
	}
	if v := q.Get("map_index"); v != "" {
		if r.path.MapIndex, err = strconv.Atoi(v); err != nil {
			return r, BadRequest("Wrong type, expected 'integer' for query parameter 'map_index'")
		}
	}
	r.token = q.Get("token")
	r.text = prefersText(c.Request().Header.Get(echo.HeaderAccept))
	return r, nil
}

// getLog is GET .../taskInstances/{task_id}/logs/{task_try_number}.
func (s *Server) getLog(c echo.Context) error {
	req, err := parseLogRequest(c)
	if err != nil {
		return err
	}
	var pos translate.LogPosition
	if req.token != "" {
		if pos, err = translate.ParseLogToken(req.token); err != nil {
			return badInputProblem(err)
		}
	}
	ctx := c.Request().Context()
	notFound := func() *Problem { return NotFound("TaskInstance not found", "") }
	dag, err := s.resolveTIDAG(ctx, principalOf(c), req.path.DAGID, notFound)
	if err != nil {
		return err
	}
	entries, err := s.readRunEntries(ctx, dag, req.path.RunID)
	if err != nil {
		return asNotFound(err, notFound)
	}
	e, ok := findEntry(entries, req.path.TaskID, req.path.MapIndex)
	if !ok {
		return notFound()
	}
	tr, k, ok := translate.TryOf(e, req.try)
	if !ok {
		return NotFound("TaskInstance not found", "Try %d of this task instance has not run: it has run %d time(s)", req.try, e.TryNumber())
	}
	if req.token != "" {
		if pos.TaskRunID != tr.Run.ID || pos.Try != req.try {
			return badInputProblem(translate.ErrBadToken)
		}
	} else {
		w := translate.TryWindow{}
		if tr.Run.RunCount > 1 {
			history, err := s.prefect.ReadTaskRunStates(ctx, tr.Run.ID)
			if err != nil {
				return FromUpstream(fmt.Errorf("state history of task run %s: %w", tr.Run.ID, err))
			}
			w = translate.LogWindow(translate.TryWindows(history, tr.Run.RunCount), k)
		}
		pos = translate.StartPosition(tr.Run.ID, req.try, w)
		pos.Full = req.full
	}
	if !req.text && !pos.Full {
		return s.writeLogPage(c, pos)
	}
	return s.streamLog(c, pos, req.text)
}

func findEntry(entries []translate.TIEntry, taskID string, mapIndex int) (translate.TIEntry, bool) {
	return runTIs{Entries: entries}.find(taskID, mapIndex)
}

// writeLogPage answers one JSON page: up to 200 lines from pos, and the token after them.
func (s *Server) writeLogPage(c echo.Context, pos translate.LogPosition) error {
	logs, err := s.prefect.FilterLogs(c.Request().Context(), pos.Query(logPageLines))
	if err != nil {
		return FromUpstream(fmt.Errorf("logs of task run %s: %w", pos.TaskRunID, err))
	}
	var text []byte
	for _, l := range logs {
		text = translate.AppendLogLine(text, l)
	}
	return c.JSON(http.StatusOK, logResponse{Content: translate.LogContent("", string(text)),
		ContinuationToken: pos.Advance(logs).Token()})
}

// streamLog writes the whole log from pos on, page by page as Prefect answers: as text
// (Airflow's stream: the host on the first line, then the log), or as one JSON answer whose
// content is streamed. Once the first byte is out the status cannot change: a later failure
// is logged and the connection cut, so that the client sees a broken answer, never a
// complete-looking partial log.
func (s *Server) streamLog(c echo.Context, pos translate.LogPosition, text bool) error {
	ctx, cancel := s.streamContext(c)
	defer cancel()
	res := c.Response()
	rc := http.NewResponseController(res)
	buf := make([]byte, 0, 64<<10)
	if text {
		res.Header().Set(echo.HeaderContentType, "text/plain")
		buf = append(buf, '\n') // the host line: Prefect records none
	} else {
		res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		buf = append(buf, `{"content": `...)
		buf = appendJSONStringStart(buf)
		buf = appendJSONStringBody(buf, translate.LogContentHead(""))
	}
	res.WriteHeader(http.StatusOK)
	var line []byte
	for {
		pctx, pcancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		logs, err := s.prefect.FilterLogs(pctx, pos.Query(logPageLines))
		pcancel()
		if err != nil {
			s.log.Warn("log stream cut short", zap.String("request_id", requestID(c)), zap.String("task_run_id", pos.TaskRunID), zap.Error(err))
			panic(http.ErrAbortHandler)
		}
		for _, l := range logs {
			line = translate.AppendLogLine(line[:0], l)
			if text {
				buf = append(buf, line...)
			} else {
				buf = appendJSONStringBody(buf, string(translate.AppendPyStrBody(nil, string(line), '\'')))
			}
		}
		pos = pos.Advance(logs)
		last := len(logs) < logPageLines
		if last && !text {
			buf = appendJSONStringBody(buf, translate.LogContentTail)
			buf = append(buf, `", "continuation_token": `...)
			buf = appendJSONString(buf, pos.Token())
			buf = append(buf, "}\n"...)
		}
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.RequestTimeout))
		if _, err := res.Write(buf); err != nil {
			return nil // the client went away: nothing more to do
		}
		res.Flush()
		buf = buf[:0]
		if last {
			return nil
		}
	}
}

// streamContext is the context of a streamed answer: the request's own (so that it ends
// when the client goes away), with room for maxLogStreamFactor request timeouts instead of
// one.
func (s *Server) streamContext(c echo.Context) (context.Context, context.CancelFunc) {
	parent, ok := c.Get(requestParentKey).(context.Context)
	if !ok {
		parent = c.Request().Context()
	}
	return context.WithTimeout(parent, maxLogStreamFactor*s.opts.RequestTimeout)
}
