package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
)

// ServeOptions are the http.Server's limits.
type ServeOptions struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout is how long in-flight requests may take to finish after ctx ends.
	ShutdownTimeout time.Duration
	// IdleGrace is how long, once ctx ends, an idle keep-alive connection may still bring
	// one last request (answered with Connection: close) before it is closed. Default 2 s.
	IdleGrace time.Duration
}

// Serve answers on ln until ctx is done, then drains (DESIGN §8): it stops accepting, answers
// every further request with Connection: close, gives idle keep-alive connections IdleGrace to
// bring a last request (a client that sends one just as an idle connection is closed sees it
// reset, Python's RemoteDisconnected), then waits for in-flight requests to finish (at most
// ShutdownTimeout). It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener, so ServeOptions) error {
	if so.ReadHeaderTimeout <= 0 {
		so.ReadHeaderTimeout = 10 * time.Second
	}
	if so.ReadTimeout <= 0 {
		so.ReadTimeout = 60 * time.Second
	}
	if so.WriteTimeout <= 0 {
		// A response must be allowed to outlive the slowest upstream answer.
		so.WriteTimeout = s.opts.RequestTimeout + 15*time.Second
	}
	if so.IdleTimeout <= 0 {
		so.IdleTimeout = 120 * time.Second
	}
	if so.ShutdownTimeout <= 0 {
		so.ShutdownTimeout = s.opts.RequestTimeout + 5*time.Second
	}
	if so.IdleGrace <= 0 {
		so.IdleGrace = 2 * time.Second
	}
	conns := &connStates{states: map[net.Conn]http.ConnState{}}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: so.ReadHeaderTimeout,
		ReadTimeout:       so.ReadTimeout,
		WriteTimeout:      so.WriteTimeout,
		IdleTimeout:       so.IdleTimeout,
		ConnState:         conns.track,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(&problemListener{Listener: ln, airflowJSON: s.airflowJSON()}) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining in-flight requests", zap.Duration("timeout", so.ShutdownTimeout))
	s.draining.Store(true)
	_ = ln.Close() // no new connections; the open ones are still served
	grace := time.Now().Add(min(so.IdleGrace, so.ShutdownTimeout))
	for conns.idle() > 0 && time.Now().Before(grace) {
		time.Sleep(10 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(context.Background(), so.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// connStates follows the server's connections, to know when no idle one is left.
type connStates struct {
	mu     sync.Mutex
	states map[net.Conn]http.ConnState
}

func (cs *connStates) track(c net.Conn, st http.ConnState) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if st == http.StateClosed || st == http.StateHijacked {
		delete(cs.states, c)
		return
	}
	cs.states[c] = st
}

func (cs *connStates) idle() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := 0
	for _, st := range cs.states {
		if st == http.StateIdle || st == http.StateNew {
			n++
		}
	}
	return n
}

// closeWhenDone marks the answers after which the connection must close: every answer while
// the server drains (so that no keep-alive connection is left idle to be cut under a
// client), and the answer to a request with a Transfer-Encoding. Go reads such a body as
// chunked and drops a Content-Length beside it; a proxy in front that went by the
// Content-Length would read the rest as another request, so the connection must not carry
// one (RFC 9112 §6.1, §6.3: request smuggling).
func (s *Server) closeWhenDone(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.draining.Load() || len(c.Request().TransferEncoding) > 0 {
			c.Response().Header().Set(echo.HeaderConnection, "close")
		}
		return next(c)
	}
}
