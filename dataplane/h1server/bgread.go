package h1server

import (
	"context"
	"sync"
	"time"
)

// bgDelay is how long a handler runs before its connection is watched for the client going
// away (give or take one more bgDelay: the watcher looks every bgDelay). net/http watches from
// the start of every request, with a goroutine of its own and two hand-offs per request to stop
// it; a request answered within bgDelay pays two atomic stores. It is long enough that a
// proxied request on a busy gateway (milliseconds at c=32 on two cores) is not watched, and
// short beside what a client that leaves saves: a model's answer takes seconds. With 2 ms the
// 1 KB proxy benchmark at c=32 started background reads for much of its traffic and used more
// CPU per request than net/http's server.
var bgDelay = 50 * time.Millisecond

// bgRead is a connection's background read: once the handler has run for bgDelay (sweep.go)
// and the request body has been read, a goroutine reads the connection, so that the client
// closing it cancels the request's context, as net/http's background read does. A byte it reads
// (the next pipelined request's) is kept for the next request.
type bgRead struct {
	mu      sync.Mutex
	active  bool // a handler runs
	want    bool // bgDelay has passed
	ready   bool // the body is read and nothing is buffered after it
	started bool
	abort   bool
	done    chan struct{}
	cancel  context.CancelFunc
	b       [1]byte
	n       int
}

// begin arms the watch for a request; ready says it has no body to read first.
func (g *bgRead) begin(c *conn, ready bool, cancel context.CancelFunc) {
	g.mu.Lock()
	g.active, g.want, g.ready, g.started, g.abort, g.cancel = true, false, ready, false, false, cancel
	g.mu.Unlock()
	c.since.Store(time.Now().UnixNano())
	c.s.sweep.add(c)
}

// fire is the sweeper's: the handler has run for bgDelay.
func (g *bgRead) fire(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.active {
		return
	}
	g.want = true
	if g.ready {
		g.startLocked(c)
	}
}

// bodyDone is called by the body reader when the request body has ended.
func (g *bgRead) bodyDone(c *conn) {
	buffered := c.br.Buffered()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ready = buffered == 0
	if g.active && g.want && g.ready {
		g.startLocked(c)
	}
}

func (g *bgRead) startLocked(c *conn) {
	if g.started {
		return
	}
	g.started = true
	g.done = make(chan struct{})
	if testHookBGRead != nil {
		testHookBGRead()
	}
	go func() {
		defer close(g.done)
		n, err := c.nc.Read(g.b[:])
		g.mu.Lock()
		defer g.mu.Unlock()
		g.n = n
		if err != nil && !g.abort {
			g.cancel() // the client went away (or sent more than it may)
		}
	}()
}

// stop ends the watch once the response is written and waits for the read to give up.
func (g *bgRead) stop(c *conn) {
	c.since.Store(0)
	c.s.sweep.remove(c)
	g.mu.Lock()
	started := g.started
	g.active, g.abort = false, true
	g.mu.Unlock()
	if !started {
		return
	}
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
	<-g.done
	_ = c.nc.SetReadDeadline(time.Time{})
	if g.n == 1 {
		c.cr.pending = g.b[0]
		c.cr.hasPending = true
		g.n = 0
	}
}

// testHookBGRead, when set by a test, runs as a background read starts.
var testHookBGRead func()

// aLongTimeAgo is a deadline in the past: it fails a blocked read at once.
var aLongTimeAgo = time.Unix(1, 0)
