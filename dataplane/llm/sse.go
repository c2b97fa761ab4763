package llm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/infergw/gwctl/dataplane/sse"
)

// ErrClientWrite wraps failures to write or flush to the client (usually: it went away).
var ErrClientWrite = errors.New("sse: client write failed")

// SSEWriter writes data events to a client. By default it flushes each one at once; after
// FlushWhenIdle it flushes only when its upstream reader is about to wait, so a burst of events
// that arrived together leaves in one write while no event is ever held back. A burst is
// gathered in the writer's own buffer and handed to the ResponseWriter in one Write (at most
// maxPending bytes at a time): one pass through the server's response writer per burst rather
// than one per event.
type SSEWriter struct {
	w   io.Writer
	rc  *http.ResponseController
	buf *[]byte // events not yet written to w

	coalesce bool  // flush on the reader's idle hook (and on Done), not after every write
	pending  bool  // written since the last flush
	err      error // a failed write or idle flush, returned by the next write
}

// maxPending bounds the events an SSEWriter gathers before writing them to the client (still
// unflushed): a long burst costs no more memory than this.
const maxPending = 8 << 10

var sseBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// NewSSEWriter writes to w, flushing through http.ResponseController (which sees through
// middleware that implements Unwrap). Release returns its buffer when the stream is over.
func NewSSEWriter(w http.ResponseWriter) *SSEWriter {
	return &SSEWriter{w: w, rc: http.NewResponseController(w), buf: sseBuffers.Get().(*[]byte)}
}

// Release recycles the writer's buffer; the writer must not be used afterwards. Whatever was
// not flushed is dropped.
func (s *SSEWriter) Release() {
	if s.buf == nil {
		return
	}
	if cap(*s.buf) <= 2*maxPending {
		*s.buf = (*s.buf)[:0]
		sseBuffers.Put(s.buf)
	}
	s.buf = nil
}

// SetStreamHeaders sets the response headers of an OpenAI event stream.
func SetStreamHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
}

// FlushWhenIdle coalesces flushes: from now on events are written without flushing while rd
// still holds complete events it has received, and flushed together just before rd reads from
// the upstream again (so nothing is held while the gateway waits for upstream data). Done
// still flushes at once, and so does Flush. rd's OnIdle hook is replaced.
func (s *SSEWriter) FlushWhenIdle(rd *sse.Reader) {
	s.coalesce = true
	rd.OnIdle(s.idle)
}

func (s *SSEWriter) idle() {
	if s.pending && s.err == nil {
		s.err = s.Flush()
	}
}

// Data writes "data: <payload>\n\n" and flushes (unless flushes are coalesced).
func (s *SSEWriter) Data(payload []byte) error {
	if s.err != nil {
		return s.err
	}
	b := append(*s.buf, "data: "...)
	b = append(b, payload...)
	*s.buf = append(b, '\n', '\n')
	return s.wrote(false)
}

// Raw writes b unchanged and flushes (for passthrough of already-framed events) unless flushes
// are coalesced.
func (s *SSEWriter) Raw(b []byte) error {
	if s.err != nil {
		return s.err
	}
	*s.buf = append(*s.buf, b...)
	return s.wrote(false)
}

// Done writes the OpenAI end-of-stream marker "data: [DONE]" and flushes.
func (s *SSEWriter) Done() error {
	if s.err != nil {
		return s.err
	}
	*s.buf = append(*s.buf, doneEvent...)
	return s.wrote(true)
}

var doneEvent = []byte("data: [DONE]\n\n")

// Flush sends everything written so far to the client.
func (s *SSEWriter) Flush() error {
	s.pending = false
	if err := s.writeOut(); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("%w: flush: %w", ErrClientWrite, err)
	}
	return nil
}

// writeOut hands the gathered events to the ResponseWriter.
func (s *SSEWriter) writeOut() error {
	b := *s.buf
	if len(b) == 0 {
		return nil
	}
	*s.buf = b[:0]
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("%w: %w", ErrClientWrite, err)
	}
	return nil
}

// wrote follows an event appended to the buffer: flush it, or keep gathering.
func (s *SSEWriter) wrote(flush bool) error {
	s.pending = true
	var err error
	switch {
	case !s.coalesce || flush:
		err = s.Flush()
	case len(*s.buf) >= maxPending:
		err = s.writeOut()
	}
	s.err = err
	return err
}
