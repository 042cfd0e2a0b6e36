package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"airflow-prefect-gateway/prefect/wire"
	"airflow-prefect-gateway/translate"
)

// Logs under /api/v2: the Prefect log lines of a try's task run, as v1's logs.go reads them
// (same windows, same continuation tokens), written as Airflow 3's structured messages
// {"timestamp", "event", "level", "logger"}: Accept application/json (or anything else
// Airflow takes: */*, none) is one page of up to 200 messages and the token after them,
// or the whole log with full_content; application/x-ndjson streams every message, one per
// line, page by page as Prefect answers.

func (s *Server) registerV2LogRoutes(g *echo.Group) {
	s.routeV2(g, http.MethodGet, "/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/logs/:try_number", s.getLogV2, RoleViewer)
}

type v2LogMessage struct {
	Timestamp *string `json:"timestamp,omitempty"`
	Event     string  `json:"event"`
	Level     string  `json:"level"`
	Logger    string  `json:"logger"`
}

type v2LogResponse struct {
	Content           []v2LogMessage `json:"content"`
	ContinuationToken *string        `json:"continuation_token"`
}

func v2LogMessageOf(l wire.Log) v2LogMessage {
	m := v2LogMessage{Event: l.Message, Level: strings.ToLower(translate.LogLevelName(l.Level)), Logger: l.Name}
	if l.Timestamp != nil {
		ts := translate.FormatTimeV2(*l.Timestamp)
		m.Timestamp = &ts
	}
	return m
}

func (s *Server) getLogV2(c echo.Context) error {
	accept := c.Request().Header.Get(echo.HeaderAccept)
	ndjson := strings.HasPrefix(accept, "application/x-ndjson")
	if accept != "" && !ndjson && !strings.HasPrefix(accept, "application/json") && !strings.HasPrefix(accept, "*/*") {
		return NewProblem(http.StatusNotAcceptable, "", "Only application/json or application/x-ndjson is supported").
			ForV2("Only application/json or application/x-ndjson is supported")
	}
	path := tiPath{DAGID: decodedPathParam(c, "dag_id"), RunID: decodedPathParam(c, "dag_run_id"),
		TaskID: decodedPathParam(c, "task_id"), MapIndex: -1, Mapped: true}
	try, _ := strconv.Atoi(c.Param("try_number"))
	q := c.QueryParams()
	if v := q.Get("map_index"); v != "" {
		path.MapIndex, _ = strconv.Atoi(v)
	}
	full := v2Bool(q, "full_content")
	token := q.Get("token")
	var pos translate.LogPosition
	var err error
	if token != "" {
		if pos, err = translate.ParseLogToken(token); err != nil {
			return v2Input(err)
		}
	}
	ctx := c.Request().Context()
	notFound := func() *Problem {
		return v2NotFound(fmt.Sprintf("TaskInstance not found: dag_id `%s`, run_id `%s`, task_id `%s`, map_index `%d`", path.DAGID, path.RunID, path.TaskID, path.MapIndex))
	}
	dag, err := s.resolveTIDAG(ctx, principalOf(c), path.DAGID, notFound)
	if err != nil {
		return err
	}
	entries, err := s.readRunEntries(ctx, dag, path.RunID)
	if err != nil {
		return asNotFound(err, notFound)
	}
	e, ok := findEntry(entries, path.TaskID, path.MapIndex)
	if !ok {
		return notFound()
	}
	tr, k, ok := translate.TryOf(e, try)
	if !ok {
		// A try that has not run has no log yet: Airflow answers an empty one.
		if ndjson {
			c.Response().Header().Set(echo.HeaderContentType, "application/x-ndjson")
			return c.NoContent(http.StatusOK)
		}
		return c.JSON(http.StatusOK, v2LogResponse{Content: []v2LogMessage{}})
	}
	if token != "" {
		if pos.TaskRunID != tr.Run.ID || pos.Try != try {
			return v2Input(translate.ErrBadToken)
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
		pos = translate.StartPosition(tr.Run.ID, try, w)
	}
	if ndjson || (full != nil && *full) {
		return s.streamLogV2(c, pos, ndjson)
	}
	logs, err := s.prefect.FilterLogs(ctx, pos.Query(logPageLines))
	if err != nil {
		return FromUpstream(fmt.Errorf("logs of task run %s: %w", pos.TaskRunID, err))
	}
	out := v2LogResponse{Content: make([]v2LogMessage, 0, len(logs))}
	for _, l := range logs {
		out.Content = append(out.Content, v2LogMessageOf(l))
	}
	next := pos.Advance(logs).Token()
	out.ContinuationToken = &next
	return c.JSON(http.StatusOK, out)
}

// streamLogV2 writes the log from pos on, page by page: NDJSON lines, or one JSON answer
// whose content array is streamed. As v1's stream: bounded by maxLogStreamFactor request
// timeouts, ended with the client, cut (never completed falsely) when Prefect fails midway.
func (s *Server) streamLogV2(c echo.Context, pos translate.LogPosition, ndjson bool) error {
	ctx, cancel := s.streamContext(c)
	defer cancel()
	res := c.Response()
	rc := http.NewResponseController(res)
	buf := make([]byte, 0, 64<<10)
	if ndjson {
		res.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	} else {
		res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		buf = append(buf, `{"content":[`...)
	}
	res.WriteHeader(http.StatusOK)
	first := true
	for {
		pctx, pcancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		logs, err := s.prefect.FilterLogs(pctx, pos.Query(logPageLines))
		pcancel()
		if err != nil {
			s.log.Warn("log stream cut short", zap.String("request_id", requestID(c)), zap.String("task_run_id", pos.TaskRunID), zap.Error(err))
			panic(http.ErrAbortHandler)
		}
		for _, l := range logs {
			b, _ := json.Marshal(v2LogMessageOf(l))
			if ndjson {
				buf = append(append(buf, b...), '\n')
				continue
			}
			if !first {
				buf = append(buf, ',')
			}
			buf, first = append(buf, b...), false
		}
		pos = pos.Advance(logs)
		last := len(logs) < logPageLines
		if last && !ndjson {
			tok, _ := json.Marshal(pos.Token())
			buf = append(append(append(buf, `],"continuation_token":`...), tok...), '}')
		}
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.RequestTimeout))
		if _, err := res.Write(buf); err != nil {
			return nil
		}
		res.Flush()
		buf = buf[:0]
		if last {
			return nil
		}
	}
}
