package llm

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/infergw/gwctl/dataplane/sse"
)

// ErrClientWrite wraps failures to write or flush to the client (usually: it went away).
var ErrClientWrite = errors.New("sse: client write failed")

// SSEWriter writes data events to a client. By default it flushes each one at once; after
// FlushWhenIdle it flushes only when its upstream reader is about to wait, so a burst of events
// that arrived together leaves in one write while no event is ever held back.
type SSEWriter struct {
	w   io.Writer
	rc  *http.ResponseController
	buf []byte

	coalesce bool  // flush on the reader's idle hook (and on Done), not after every write
	pending  bool  // written since the last flush
	err      error // a failed idle flush, returned by the next write
}

// NewSSEWriter writes to w, flushing through http.ResponseController (which sees through
// middleware that implements Unwrap).
func NewSSEWriter(w http.ResponseWriter) *SSEWriter {
	return &SSEWriter{w: w, rc: http.NewResponseController(w), buf: make([]byte, 0, 1024)}
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
	s.buf = append(s.buf[:0], "data: "...)
	s.buf = append(s.buf, payload...)
	s.buf = append(s.buf, '\n', '\n')
	return s.write(s.buf, false)
}

// Raw writes b unchanged and flushes (for passthrough of already-framed events) unless flushes
// are coalesced.
func (s *SSEWriter) Raw(b []byte) error { return s.write(b, false) }

// Done writes the OpenAI end-of-stream marker "data: [DONE]" and flushes.
func (s *SSEWriter) Done() error { return s.write(doneEvent, true) }

var doneEvent = []byte("data: [DONE]\n\n")

// Flush sends everything written so far to the client.
func (s *SSEWriter) Flush() error {
	s.pending = false
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("%w: flush: %w", ErrClientWrite, err)
	}
	return nil
}

func (s *SSEWriter) write(b []byte, flush bool) error {
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = fmt.Errorf("%w: %w", ErrClientWrite, err)
		return s.err
	}
	s.pending = true
	if s.coalesce && !flush {
		return nil
	}
	if err := s.Flush(); err != nil {
		s.err = err
		return err
	}
	return nil
}
