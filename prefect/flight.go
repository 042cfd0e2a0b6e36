package prefect

import (
	"context"
	"sync"
	"time"
)

// flightGroup collapses concurrent calls for one key into one, as singleflight does, with one
// difference that matters for bounded work: the shared call runs under its own context, which
// ends when the last caller waiting for it has given up (or after timeout). So a lookup that
// every requester abandoned stops at once instead of running on in the background, and one
// impatient requester does not cancel it for the others. golang.org/x/sync/singleflight has
// no such mode: its Do ties the call to the first caller's context, its DoChan (with
// context.WithoutCancel) detaches it from all of them; this wrapper is the reference count it
// lacks, around the same idea.
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flight
}

type flight struct {
	done    chan struct{}
	val     any
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Do runs fn once for every concurrent caller with the same key and hands each the result.
// fn's context keeps ctx's values (credential, call counter, caller) but not its
// cancellation; it is cancelled when no caller waits any longer, and after timeout.
func (g *flightGroup) Do(ctx context.Context, key string, timeout time.Duration, fn func(context.Context) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flight{}
	}
	f, ok := g.calls[key]
	if !ok {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = f
		go func() {
			defer close(f.done)
			defer cancel()
			f.val, f.err = fn(fctx)
			g.forget(key, f)
		}()
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody wants the answer any more: stop the work, and let the next caller start
			// afresh rather than join a cancelled call.
			f.cancel()
			if g.calls[key] == f {
				delete(g.calls, key)
			}
		}
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (g *flightGroup) forget(key string, f *flight) {
	g.mu.Lock()
	if g.calls[key] == f {
		delete(g.calls, key)
	}
	g.mu.Unlock()
}
