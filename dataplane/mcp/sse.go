package mcp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxEventBytes bounds one server-sent event read from a target.
const maxEventBytes = 32 << 20

// event is one server-sent event. Data holds the joined data lines.
type event struct {
	ID    string
	Name  string
	Retry string
	Data  []byte
	// hasID distinguishes "id:" with an empty value (which resets the last event id) from no id.
	hasID bool
}

// eventReader parses a text/event-stream body (WHATWG HTML §9.2.6).
type eventReader struct {
	r *bufio.Reader
}

func newEventReader(r io.Reader) *eventReader { return &eventReader{r: bufio.NewReaderSize(r, 4<<10)} }

var errEventTooLarge = errors.New("server-sent event too large")

// next returns the next event, or io.EOF at the end of the stream.
func (er *eventReader) next() (event, error) {
	var ev event
	var data bytes.Buffer
	seen := false
	for {
		line, err := er.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it whole.
			buf := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				if len(buf) > maxEventBytes {
					return event{}, errEventTooLarge
				}
				line, err = er.r.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err != nil && len(line) == 0 {
			if errors.Is(err, io.EOF) && seen {
				ev.Data = data.Bytes()
				return ev, nil
			}
			return event{}, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if !seen {
				if err != nil {
					return event{}, err
				}
				continue
			}
			ev.Data = data.Bytes()
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		seen = true
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			if data.Len()+len(value) > maxEventBytes {
				return event{}, errEventTooLarge
			}
			data.Write(value)
		case "id":
			if !bytes.ContainsRune(value, 0) {
				ev.ID, ev.hasID = string(value), true
			}
		case "event":
			ev.Name = string(value)
		case "retry":
			ev.Retry = string(value)
		}
		if err != nil {
			ev.Data = data.Bytes()
			return ev, nil
		}
	}
}

// writeEvent writes ev in text/event-stream form.
func writeEvent(w io.Writer, ev event) error {
	var b bytes.Buffer
	if ev.Name != "" {
		fmt.Fprintf(&b, "event: %s\n", ev.Name)
	}
	if ev.hasID || ev.ID != "" {
		fmt.Fprintf(&b, "id: %s\n", ev.ID)
	}
	if ev.Retry != "" {
		fmt.Fprintf(&b, "retry: %s\n", ev.Retry)
	}
	if len(ev.Data) == 0 {
		b.WriteString("data: \n")
	}
	for line := range strings.SplitSeq(string(ev.Data), "\n") {
		if len(ev.Data) == 0 {
			break
		}
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
