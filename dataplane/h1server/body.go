package h1server

import (
	"io"
	"net/http"
	"sync"
)

// reqBody is a request's body as http.ReadRequest returns it, with what net/http's server
// adds to its own: a Close that discards at most maxPostHandlerReadBytes (ReadRequest's body
// would read all of it), reads after the handler has returned refused, and the end of the
// body reported to the background read (bgread.go).
type reqBody struct {
	mu         sync.Mutex
	c          *conn
	rc         io.ReadCloser
	remain     int64 // of a declared length; -1 when chunked
	sawEOF     bool
	closed     bool
	earlyClose bool
}

func (b *reqBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readLocked(p)
}

func (b *reqBody) readLocked(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.sawEOF {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if b.remain > 0 {
		b.remain -= int64(n)
	}
	if err == io.EOF {
		b.sawEOF = true
		b.c.bg.bodyDone(b.c)
	}
	return n, err
}

type lockedBody struct{ b *reqBody }

func (l lockedBody) Read(p []byte) (int, error) { return l.b.readLocked(p) }

// Close ends the body as net/http's server does: what is left is discarded up to
// maxPostHandlerReadBytes; a longer rest marks the connection to be closed instead.
func (b *reqBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	var err error
	if !b.sawEOF {
		if b.remain > maxPostHandlerReadBytes {
			b.earlyClose = true
		} else {
			var n int64
			n, err = io.CopyN(io.Discard, lockedBody{b}, maxPostHandlerReadBytes)
			if err == io.EOF {
				err = nil
			}
			if n == maxPostHandlerReadBytes {
				b.earlyClose = true
			}
		}
	}
	b.closed = true
	return err
}

func (b *reqBody) earlyClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.earlyClose
}
