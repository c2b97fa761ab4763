package h1server

import (
	"sync"
	"sync/atomic"
	"time"
)

// sweeper looks at a Server's running handlers every bgDelay and starts the background read of
// those that have run that long. One goroutine per Server, running while requests come (it stops
// after a second without one in flight): a timer per request would be the runtime's earliest at
// each reset and wake a thread to re-arm the poller, every request.
type sweeper struct {
	running atomic.Bool
	mu      sync.Mutex
	active  []*conn // connections whose handler runs; conn.slot is the index
}

// sweepIdle is how long the sweeper looks with no request in flight before it stops.
const sweepIdle = time.Second

// add registers c's running handler, and makes sure the sweeper runs: either its last look
// sees c, or add sees it stopped.
func (w *sweeper) add(c *conn) {
	w.mu.Lock()
	c.slot = len(w.active)
	w.active = append(w.active, c)
	w.mu.Unlock()
	if w.running.Load() || !w.running.CompareAndSwap(false, true) {
		return
	}
	go w.run()
}

// remove ends c's registration.
func (w *sweeper) remove(c *conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.slot < 0 {
		return
	}
	last := w.active[len(w.active)-1]
	w.active[c.slot], last.slot = last, c.slot
	w.active[len(w.active)-1] = nil
	w.active = w.active[:len(w.active)-1]
	c.slot = -1
}

func (w *sweeper) run() {
	t := time.NewTicker(bgDelay)
	defer t.Stop()
	idle := 0
	for range t.C {
		if w.look() {
			idle = 0
			continue
		}
		if idle++; time.Duration(idle)*bgDelay < sweepIdle {
			continue
		}
		w.running.Store(false)
		if !w.look() || !w.running.CompareAndSwap(false, true) {
			return
		}
		idle = 0
	}
}

// look fires the watch of the requests that have run for bgDelay and reports whether any
// request is in flight.
func (w *sweeper) look() bool {
	due := time.Now().UnixNano() - int64(bgDelay)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.active {
		if since := c.since.Load(); since > 0 && since <= due && c.since.CompareAndSwap(since, -1) {
			c.bg.fire(c)
		}
	}
	return len(w.active) > 0
}
