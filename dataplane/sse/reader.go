// Package sse reads text/event-stream bodies (WHATWG HTML §9.2.6) with bounded memory and no
// allocation per event: the one reader of the LLM translators and of the MCP relay.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrEventTooLarge is returned when one event exceeds the reader's limit.
var ErrEventTooLarge = errors.New("sse: event too large")

// ErrReaderReleased is returned by Next and NextBlock after Release.
var ErrReaderReleased = errors.New("sse: reader released")

// DefaultMaxEventBytes bounds one event (all its data lines) when no limit is given.
const DefaultMaxEventBytes = 8 << 20

// Event is one server-sent event. Data is the payload with multiple data lines joined by "\n"; it
// stays valid until the next call to Next or NextBlock (copy it to keep it longer). ID, HasID and
// Retry are read by NextBlock only.
type Event struct {
	Name  string // the event field; "" when absent
	Data  []byte
	ID    string
	HasID bool // an id field was present: an empty one resets the client's last event id
	Retry string
}

// Reader parses a text/event-stream body. Comment lines and unknown fields are ignored; the
// space after the colon is optional.
type Reader struct {
	r     *bufio.Reader
	src   idleReader
	max   int
	line  []byte
	data  []byte
	event []byte
	name  string // last event name, reused while it repeats
}

// readBufferSize is the read buffer of a Reader; longer lines are assembled in Reader.line.
const readBufferSize = 16 << 10

// buffers recycles the read buffers of released readers: a stream's buffer is otherwise most of
// the memory a streamed request allocates.
var buffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// NewReader reads events from r; maxEventBytes <= 0 means DefaultMaxEventBytes. Call Release
// when done with it so its buffer is reused.
func NewReader(r io.Reader, maxEventBytes int) *Reader {
	if maxEventBytes <= 0 {
		maxEventBytes = DefaultMaxEventBytes
	}
	s := &Reader{src: idleReader{r: r}, max: maxEventBytes}
	s.r = buffers.Get().(*bufio.Reader)
	s.r.Reset(&s.src)
	return s
}

// Release returns the reader's buffer for reuse; Next then fails with ErrReaderReleased. The
// Data of the last event stays valid. Release is idempotent; it must not run concurrently with
// Next.
func (s *Reader) Release() {
	if s.r == nil {
		return
	}
	s.r.Reset(nil)
	buffers.Put(s.r)
	s.r = nil
}

// OnIdle sets f to run whenever the reader has consumed everything already received and is
// about to read from the underlying reader, which may block waiting for the upstream. A writer
// that holds output back while events are still buffered flushes it there. Nil removes the hook.
func (s *Reader) OnIdle(f func()) { s.src.idle = f }

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

// Next returns the next event with data, for a consumer of the payloads: blanks at the end of
// each data line are dropped, id and retry are not read, and a block without a data line is
// skipped (as a browser does). It returns io.EOF at the end of the stream; a final event not
// followed by a blank line is still returned first.
func (s *Reader) Next() (Event, error) { return s.next(false) }

// NextBlock returns the next block of fields, for a relay that forwards events as they came:
// data is kept byte for byte, id and retry are read, and a block with no data line (only an id,
// a retry or an event name: a client's reconnection state) is returned too.
func (s *Reader) NextBlock() (Event, error) { return s.next(true) }

func (s *Reader) next(block bool) (Event, error) {
	if s.r == nil {
		return Event{}, ErrReaderReleased
	}
	s.data = s.data[:0]
	s.event = s.event[:0]
	var ev Event
	hasData, seen := false, false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (hasData || block && seen) {
				return s.dispatch(ev), nil
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if hasData || block && seen {
				return s.dispatch(ev), nil
			}
			s.event = s.event[:0]
			continue
		}
		if line[0] == ':' {
			continue
		}
		seen = true
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if !block {
				value = bytes.TrimRight(value, " \t")
			}
			if hasData {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > s.max {
				return Event{}, s.tooLarge()
			}
			s.data = append(s.data, value...)
			hasData = true
		case "event":
			s.event = append(s.event[:0], value...)
		case "id":
			if block && bytes.IndexByte(value, 0) < 0 { // an id with NUL is ignored (WHATWG)
				ev.ID, ev.HasID = string(value), true
			}
		case "retry":
			if block {
				ev.Retry = string(value)
			}
		}
	}
}

func (s *Reader) dispatch(ev Event) Event {
	if string(s.event) != s.name {
		s.name = string(s.event)
	}
	ev.Name, ev.Data = s.name, s.data
	return ev
}

func (s *Reader) tooLarge() error { return fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, s.max) }

// readLine returns one line without its terminator (\n or \r\n), bounded by the event limit.
func (s *Reader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(s.line)+len(frag) > s.max {
				return nil, s.tooLarge()
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
				return nil, s.tooLarge()
			}
			// A last line without a newline: hand it out now, the next call reports EOF.
			return bytes.TrimRight(s.line, "\r"), nil
		}
		var line []byte
		if len(s.line) == 0 {
			line = frag
		} else {
			if len(s.line)+len(frag) > s.max {
				return nil, s.tooLarge()
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
