package h1

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// body is a response body read from the connection on the reader's goroutine. At its end the
// connection goes back to the pool (when both sides keep it alive); closed before, it closes
// the connection, unless all that was left is framing already received (the last chunk).
type body struct {
	mu     sync.Mutex // held by Read; Close takes it to know no Read is in progress
	c      *conn
	rc     io.ReadCloser // http.ReadResponse's body
	ctx    context.Context
	alive  bool
	done   bool  // the connection is released or closed
	rerr   error // what Read returns once done
	closed atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errReadOnClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return 0, b.rerr
	}
	n, err := b.rc.Read(p)
	if err != nil {
		b.done = true
		if err == io.EOF {
			b.c.release(b.alive)
		} else {
			b.c.stop()
			b.c.close()
			err = b.c.mapErr(b.ctx, err)
		}
		b.rerr = err
	}
	return n, err
}

func (b *body) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if !b.mu.TryLock() {
		// A Read is blocked on another goroutine: closing the connection ends it.
		b.c.close()
		return nil
	}
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	if b.drained() {
		b.c.release(b.alive)
		return nil
	}
	b.c.stop()
	b.c.close()
	return nil
}

// drained reports whether the body ends with what is already buffered, without another byte of
// content: a read that cannot wait (the deadline is in the past) returns EOF at once.
func (b *body) drained() bool {
	if b.c.br.Buffered() == 0 {
		return false
	}
	if b.c.nc.SetReadDeadline(aLongTimeAgo) != nil {
		return false
	}
	var one [1]byte
	n, err := b.rc.Read(one[:])
	if n != 0 || err != io.EOF {
		return false
	}
	return b.c.nc.SetReadDeadline(time.Time{}) == nil
}
