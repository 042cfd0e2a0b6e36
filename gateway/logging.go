package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"airflow-prefect-gateway/prefect"
)

const requestIDKey = "request_id"

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// accessLog writes one line per request: id, user, route, status, latency and the number of
// Prefect calls the request cost. It also attaches the call counter that prefect.Client
// increments.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		ctx, calls := prefect.WithCallCounter(c.Request().Context())
		// Until authentication names a user, the caller is the client address (fair shares).
		ctx = prefect.WithCaller(ctx, "client|"+c.RealIP())
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if err != nil {
			// Render here so that the logged status is the one the client gets.
			c.Error(err)
		}
		res := c.Response()
		route := c.Path()
		if route == "" {
			route = "(unmatched)"
		}
		fields := []zap.Field{
			zap.String("request_id", requestID(c)),
			zap.String("method", c.Request().Method),
			zap.String("route", route),
			zap.String("path", c.Request().URL.Path),
			zap.Int("status", res.Status),
			zap.Duration("latency", time.Since(start)),
			zap.Int64("upstream_calls", calls.Load()),
			zap.Int64("bytes_out", res.Size),
			zap.String("remote", c.RealIP()),
		}
		if p := principalOf(c); p != nil && p.User != "" {
			fields = append(fields, zap.String("user", p.User))
		}
		var alert *Problem
		if rendered, ok := c.Get(renderedErrorKey).(error); ok {
			err = rendered // rendered further in (observeRequest), or here above
		}
		if err != nil {
			// The error (its cause included, never rendered to the client) is on this line:
			// a failed request is one log line, like every other.
			fields = append(fields, zap.String("error", err.Error()))
			if p := asProblem(err); p.alert != "" {
				alert = p
				fields = append(append(fields, zap.String("alert", p.alert)), p.logFields...)
			}
		}
		switch {
		case alert != nil:
			s.log.Error("request", fields...)
		case res.Status >= 500:
			s.log.Warn("request", fields...)
		default:
			s.log.Info("request", fields...)
		}
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500 problem whose log line carries the stack.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = NewProblem(http.StatusInternalServerError, "", "The gateway failed to handle the request.").
					WithCause(fmt.Errorf("panic: %v", r)).
					WithAlert("panic in handler", zap.ByteString("stack", debug.Stack()))
			}
		}()
		return next(c)
	}
}
