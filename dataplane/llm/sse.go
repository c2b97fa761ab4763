package llm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// ErrEventTooLarge is returned by SSEReader.Next when one event exceeds the reader's limit.
var ErrEventTooLarge = errors.New("sse: event too large")

// ErrClientWrite wraps failures to write or flush to the client (usually: it went away).
var ErrClientWrite = errors.New("sse: client write failed")

// DefaultMaxEventBytes bounds one SSE event (all its data lines) when no limit is given.
const DefaultMaxEventBytes = 8 << 20

// SSEEvent is one server-sent event. Data is the payload with multiple data lines joined by
// "\n" and trailing spaces of each line removed; it is valid until the next call to Next.
type SSEEvent struct {
	Event string
	Data  []byte
}

// SSEReader parses a text/event-stream body with bounded memory. Comment lines and fields
// other than event and data are ignored; the space after "data:" is optional.
type SSEReader struct {
	r     *bufio.Reader
	src   idleReader
	max   int
	line  []byte
	data  []byte
	event []byte
	name  string // last event name, reused while it repeats
}

// sseReadBufferSize is the read buffer of an SSEReader; longer lines are assembled in
// SSEReader.line.
const sseReadBufferSize = 16 << 10

// sseBuffers recycles the read buffers of released readers: a stream's buffer is otherwise
// most of the memory a streamed request allocates.
var sseBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, sseReadBufferSize) }}

// ErrReaderReleased is returned by SSEReader.Next after Release.
var ErrReaderReleased = errors.New("sse: reader released")

// NewSSEReader reads events from r; maxEventBytes <= 0 means DefaultMaxEventBytes. Call
// Release when done with it so its buffer is reused.
func NewSSEReader(r io.Reader, maxEventBytes int) *SSEReader {
	if maxEventBytes <= 0 {
		maxEventBytes = DefaultMaxEventBytes
	}
	s := &SSEReader{src: idleReader{r: r}, max: maxEventBytes}
	s.r = sseBuffers.Get().(*bufio.Reader)
	s.r.Reset(&s.src)
	return s
}

// Release returns the reader's buffer for reuse; Next then fails with ErrReaderReleased. The
// Data of the last event stays valid. Release is idempotent.
func (s *SSEReader) Release() {
	if s.r == nil {
		return
	}
	s.r.Reset(nil)
	sseBuffers.Put(s.r)
	s.r = nil
}

// OnIdle sets f to run whenever Next has consumed everything already received and is about
// to read from the underlying reader, which may block waiting for the upstream. A writer
// that holds output back while events are still buffered flushes it there (see
// SSEWriter.FlushWhenIdle). Nil removes the hook.
func (s *SSEReader) OnIdle(f func()) { s.src.idle = f }

// idleReader calls idle before each read of r: the bufio.Reader above it reads only when it
// holds no complete line, so that is the moment the SSE reader may wait for more data.
type idleReader struct {
	r    io.Reader
	idle func()
}

func (r *idleReader) Read(p []byte) (int, error) {
	if r.idle != nil {
		r.idle()
	}
	return r.r.Read(p)
}

// Next returns the next event with data. It returns io.EOF at the end of the stream; a final
// event not followed by a blank line is still returned first.
func (s *SSEReader) Next() (SSEEvent, error) {
	if s.r == nil {
		return SSEEvent{}, ErrReaderReleased
	}
	s.data = s.data[:0]
	s.event = s.event[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && hasData {
				return SSEEvent{Event: s.eventName(), Data: s.data}, nil
			}
			return SSEEvent{}, err
		}
		if len(line) == 0 {
			if hasData {
				return SSEEvent{Event: s.eventName(), Data: s.data}, nil
			}
			s.event = s.event[:0]
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			value = bytes.TrimRight(value, " \t")
			if hasData {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > s.max {
				return SSEEvent{}, fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, s.max)
			}
			s.data = append(s.data, value...)
			hasData = true
		case "event":
			s.event = append(s.event[:0], bytes.TrimSpace(value)...)
		}
	}
}

func (s *SSEReader) eventName() string {
	if string(s.event) != s.name {
		s.name = string(s.event)
	}
	return s.name
}

// readLine returns one line without its terminator (\n or \r\n), bounded by the event limit.
func (s *SSEReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(s.line)+len(frag) > s.max {
				return nil, fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, s.max)
			}
			s.line = append(s.line, frag...)
			continue
		}
		if err != nil {
			if len(frag) == 0 && len(s.line) == 0 {
				return nil, err
			}
			s.line = append(s.line, frag...)
			if len(s.line) > s.max {
				return nil, fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, s.max)
			}
			// A last line without a newline: hand it out now, the next call reports EOF.
			return bytes.TrimRight(s.line, "\r"), nil
		}
		var line []byte
		if len(s.line) == 0 {
			line = frag
		} else {
			if len(s.line)+len(frag) > s.max {
				return nil, fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, s.max)
			}
			s.line = append(s.line, frag...)
			line = s.line
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
}

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
func (s *SSEWriter) FlushWhenIdle(rd *SSEReader) {
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
