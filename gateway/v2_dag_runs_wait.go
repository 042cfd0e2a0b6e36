package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"airflow-prefect-gateway/translate"
)

// GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/wait (Airflow 3's experimental endpoint):
// NDJSON, one line {"state": "..."} now and one after every `interval` seconds, until the run
// has finished (success or failed), as Airflow's DagRunWaiter writes them. Bounded as every
// request is: one flow-run read per line, lines at least minWaitInterval apart whatever the
// interval asked for (so that one waiter costs Prefect at most one call a second), the whole
// wait at most maxWaitDuration, and it stops the moment the client goes away. A wait cut
// short (that bound, or Prefect failing mid-stream) is a broken answer, never a last line
// that looks final. Task results (result=...) are not written: the gateway has no XCom yet.

const (
	minWaitInterval = time.Second
	maxWaitDuration = 6 * time.Hour
)

type waitLine struct {
	State string `json:"state"`
}

func (s *Server) waitDAGRunV2(c echo.Context) error {
	interval := time.Second
	if f, err := strconv.ParseFloat(c.QueryParam("interval"), 64); err == nil && f > 0 {
		interval = time.Duration(f * float64(time.Second))
	}
	interval = max(interval, minWaitInterval)
	dag, run, err := s.dagRunOfV2(c)
	if err != nil {
		return err
	}
	parent, ok := c.Get(requestParentKey).(context.Context)
	if !ok {
		parent = c.Request().Context()
	}
	ctx, cancel := context.WithTimeout(parent, maxWaitDuration)
	defer cancel()
	res := c.Response()
	rc := http.NewResponseController(res)
	res.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	res.WriteHeader(http.StatusOK)
	for {
		state := translate.DAGRunState(currentStateType(run))
		// Python's json.dumps spacing, as Airflow writes the line.
		line, _ := json.Marshal(waitLine{State: state})
		line = append([]byte(fmt.Sprintf(`{"state": %s}`, line[len(`{"state":`):len(line)-1])), '\n')
		_ = rc.SetWriteDeadline(time.Now().Add(interval + s.opts.RequestTimeout))
		if _, err := res.Write(line); err != nil {
			return nil // the client went away
		}
		res.Flush()
		if state == translate.DAGRunSuccess || state == translate.DAGRunFailed {
			return nil
		}
		select {
		case <-ctx.Done():
			s.log.Info("wait for a DAG run cut short", zap.String("request_id", requestID(c)), zap.String("dag_id", dag.DAGID), zap.Error(ctx.Err()))
			panic(http.ErrAbortHandler)
		case <-time.After(interval):
		}
		rctx, rcancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		next, err := s.prefect.ReadFlowRun(rctx, run.ID)
		rcancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil // the client went away while Prefect was asked
			}
			s.log.Warn("wait for a DAG run cut short", zap.String("request_id", requestID(c)), zap.String("flow_run_id", run.ID), zap.Error(err))
			panic(http.ErrAbortHandler)
		}
		run = next
	}
}
