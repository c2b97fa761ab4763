package mcp

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/infergw/gwctl/dataplane/sse"
)

// maxEventBytes bounds one server-sent event read from a target.
const maxEventBytes = 32 << 20

// writeEvent writes ev in text/event-stream form.
func writeEvent(w io.Writer, ev sse.Event) error {
	var b bytes.Buffer
	if ev.Name != "" {
		fmt.Fprintf(&b, "event: %s\n", ev.Name)
	}
	if ev.HasID || ev.ID != "" {
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
