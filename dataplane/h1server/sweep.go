package h1server

import (
	"sync/atomic"
	"time"
)

// sweeper looks at a Server's connections every bgDelay and starts the background read of
// those whose handler has run that long. One goroutine per Server, running while requests
// come (it stops after a second without one in flight): a timer per request would be the
// runtime's earliest at each reset and wake a thread to re-arm the poller, every request.
type sweeper struct {
	running atomic.Bool
}

// sweepIdleTicks is how many looks in a row with no request in flight stop the sweeper.
const sweepIdleTicks = 500

// watch makes sure the sweeper runs; c.since is stored before, so either the sweeper's last
// look sees it or watch sees the sweeper stopped.
func (w *sweeper) watch(s *Server) {
	if w.running.Load() || !w.running.CompareAndSwap(false, true) {
		return
	}
	go w.run(s)
}

func (w *sweeper) run(s *Server) {
	t := time.NewTicker(bgDelay)
	defer t.Stop()
	idle := 0
	for range t.C {
		if w.look(s) {
			idle = 0
			continue
		}
		if idle++; idle < sweepIdleTicks {
			continue
		}
		w.running.Store(false)
		if !w.look(s) || !w.running.CompareAndSwap(false, true) {
			return
		}
		idle = 0
	}
}

// look fires the watch of the requests that have run for bgDelay and reports whether any
// request is in flight.
func (w *sweeper) look(s *Server) bool {
	due := time.Now().UnixNano() - int64(bgDelay)
	busy := false
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		since := c.since.Load()
		if since == 0 {
			continue
		}
		busy = true
		if since > 0 && since <= due && c.since.CompareAndSwap(since, -1) {
			c.bg.fire(c)
		}
	}
	return busy
}
