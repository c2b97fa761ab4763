package openai

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm"
)

// reads returns the parts of b one Read at a time.
type reads struct{ parts [][]byte }

func (r *reads) Read(p []byte) (int, error) {
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.parts[0])
	if r.parts[0] = r.parts[0][n:]; len(r.parts[0]) == 0 {
		r.parts = r.parts[1:]
	}
	return n, nil
}

// countingWriter counts what reaches the client: writes and flushes.
type countingWriter struct {
	*httptest.ResponseRecorder
	writes, flushes int
}

func (w *countingWriter) Write(b []byte) (int, error) { w.writes++; return w.ResponseRecorder.Write(b) }
func (w *countingWriter) Flush()                      { w.flushes++; w.ResponseRecorder.Flush() }

func relay(t *testing.T, parts ...[]byte) (*countingWriter, llm.Result) {
	t.Helper()
	w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
	sw := llm.NewSSEWriter(w)
	defer sw.Release()
	p := &passthrough{passUsage: true, first: true}
	if err := llm.RelayStream(context.Background(), &reads{parts: parts}, sw, p); err != nil {
		t.Fatalf("relay: %v", err)
	}
	var res llm.Result
	p.StreamResult(&res)
	return w, res
}

// TestRelaySplitReads relays a stream whose bytes arrive in two reads split at every offset:
// the client receives it byte for byte, and the result has the id, model, finish reason and
// usage of the chunks that carry them.
func TestRelaySplitReads(t *testing.T) {
	in := benchChatStream()
	for k := range len(in) + 1 {
		w, res := relay(t, bytes.Clone(in[:k]), bytes.Clone(in[k:]))
		if got := w.Body.Bytes(); !bytes.Equal(got, in) {
			t.Fatalf("split at %d: the client got %d bytes, not the %d sent: %.200q", k, len(got), len(in), got)
		}
		if res.ResponseID != "chatcmpl-bench" || res.ResponseModel != "gpt-4.1-2025-04-14" || res.FinishReason != "stop" ||
			!res.HasUsage || res.Usage.Input != 1836-1024 || res.Usage.CacheRead != 1024 || res.Usage.Output != 160 {
			t.Fatalf("split at %d: result %+v", k, res)
		}
	}
}

// TestRelayWritesPerRead checks that the events of one upstream read reach the client in one
// write and one flush, whatever their number.
func TestRelayWritesPerRead(t *testing.T) {
	events := bytes.SplitAfter(benchChatStream(), []byte("\n\n"))
	events = events[:len(events)-1] // the empty remainder after the last event
	for _, per := range []int{1, 3, 8, 20} {
		var parts [][]byte
		for i := 0; i < len(events); i += per {
			parts = append(parts, bytes.Join(events[i:min(i+per, len(events))], nil))
		}
		w, _ := relay(t, parts...)
		if w.writes > len(parts) || w.flushes > len(parts)+1 {
			t.Errorf("%d events per read: %d reads made %d writes and %d flushes", per, len(parts), w.writes, w.flushes)
		}
	}
}
