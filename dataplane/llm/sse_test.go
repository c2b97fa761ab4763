package llm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/sse"
)

func TestSSEWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewSSEWriter(rec)
	if err := w.Data([]byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Error("Data did not flush")
	}
	if err := w.Done(); err != nil {
		t.Fatal(err)
	}
	if got := rec.Body.String(); got != "data: {\"a\":1}\n\ndata: [DONE]\n\n" {
		t.Errorf("wire %q", got)
	}
}

// flushCounter is a ResponseWriter that records what was flushed and how often.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes int
	flushed string // the body as of the last flush
}

func (f *flushCounter) FlushError() error {
	f.flushes++
	f.flushed = f.Body.String()
	return nil
}

// stallReader hands out the chunks it receives on its channel, one per Read (a Read returns a
// whole burst), and blocks while the channel is empty: an upstream that is not sending.
type stallReader struct {
	chunks chan string
	reads  int
}

func (r *stallReader) Read(p []byte) (int, error) {
	r.reads++
	c, ok := <-r.chunks
	if !ok {
		return 0, io.EOF
	}
	return copy(p, c), nil
}

func TestSSEWriterCoalescesFlushes(t *testing.T) {
	cases := []struct {
		name    string
		chunks  []string // each arrives in one Read
		want    []string // data payloads the writer forwards
		flushes int      // flushes before the reader waits for the next chunk (after the last one: EOF)
	}{
		{"burst in one read", []string{"data: 1\n\ndata: 2\n\nevent: ping\ndata: {}\n\ndata: 3\n\n"}, []string{"1", "2", "{}", "3"}, 1},
		{"event split across reads", []string{"data: 1\n\nda", "ta: 2\n", "\n"}, []string{"1", "2"}, 2},
		{"nothing to write", []string{": comment\n\n"}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
			up := &stallReader{chunks: make(chan string, len(tc.chunks))}
			for _, c := range tc.chunks {
				up.chunks <- c
			}
			close(up.chunks)
			sw := NewSSEWriter(rec)
			rd := sse.NewReader(up, 0)
			sw.FlushWhenIdle(rd)
			var got []string
			for {
				ev, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(ev.Data))
				if err := sw.Data(ev.Data); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
			if rec.flushes != tc.flushes {
				t.Errorf("%d flushes for %d reads, want %d", rec.flushes, up.reads, tc.flushes)
			}
			var wire strings.Builder
			for _, d := range tc.want {
				wire.WriteString("data: " + d + "\n\n")
			}
			if rec.flushed != wire.String() {
				t.Errorf("flushed %q before the upstream EOF, want every event %q", rec.flushed, wire.String())
			}
			if err := sw.Done(); err != nil {
				t.Fatal(err)
			}
			if rec.flushes != tc.flushes+1 || !strings.HasSuffix(rec.flushed, "data: [DONE]\n\n") {
				t.Errorf("Done: %d flushes, flushed %q; want it flushed at once", rec.flushes, rec.flushed)
			}
		})
	}
}

// TestSSEWriterNothingHeldWhileStalled streams over a real connection: while the upstream
// stalls, the client must already have every complete event it sent.
func TestSSEWriterNothingHeldWhileStalled(t *testing.T) {
	up := &stallReader{chunks: make(chan string, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetStreamHeaders(w.Header())
		sw := NewSSEWriter(w)
		rd := sse.NewReader(up, 0)
		sw.FlushWhenIdle(rd)
		for {
			ev, err := rd.Next()
			if err != nil {
				return
			}
			if string(ev.Data) == "[DONE]" {
				_ = sw.Done()
				return
			}
			if err := sw.Data(ev.Data); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	stalled := true
	defer func() {
		if stalled {
			close(up.chunks) // unblock the handler so the server can close
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	// A burst, then the upstream stalls in the middle of event 3.
	up.chunks <- "data: 1\n\ndata: 2\n\ndata: 3"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	readEvent := func() string {
		t.Helper()
		var ev strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v (after %q)", err, ev.String())
			}
			if line == "\n" {
				return ev.String()
			}
			ev.WriteString(line)
		}
	}
	// Events 1 and 2 must arrive while the upstream stalls (a held event would leave the
	// client waiting until the context's deadline).
	for _, want := range []string{"data: 1\n", "data: 2\n"} {
		if got := readEvent(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	up.chunks <- "\n\n"
	if got := readEvent(); got != "data: 3\n" {
		t.Fatalf("got %q, want event 3", got)
	}
	up.chunks <- "data: [DONE]\n\n"
	if got := readEvent(); got != "data: [DONE]\n" {
		t.Fatalf("got %q, want [DONE]", got)
	}
	stalled = false
}

func TestSSEWriterErrorIsSticky(t *testing.T) {
	rec := &failingFlusher{ResponseRecorder: httptest.NewRecorder()}
	sw := NewSSEWriter(rec)
	rd := sse.NewReader(strings.NewReader("data: 1\n\ndata: 2\n\n"), 0)
	sw.FlushWhenIdle(rd)
	ev, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Data(ev.Data); err != nil {
		t.Fatalf("coalesced write failed before any flush: %v", err)
	}
	if _, err := rd.Next(); err != nil { // the reader goes idle after event 2: the flush fails
		t.Fatal(err)
	}
	if _, err := rd.Next(); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if err := sw.Data([]byte("3")); !errors.Is(err, ErrClientWrite) {
		t.Errorf("write after a failed idle flush: %v, want ErrClientWrite", err)
	}
}

type failingFlusher struct{ *httptest.ResponseRecorder }

func (failingFlusher) FlushError() error { return errors.New("broken pipe") }

// discardFlusher is a ResponseWriter that drops the body and counts flushes.
type discardFlusher struct {
	h       http.Header
	flushes int
}

func (d *discardFlusher) Header() http.Header         { return d.h }
func (d *discardFlusher) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardFlusher) WriteHeader(int)             {}
func (d *discardFlusher) FlushError() error           { d.flushes++; return nil }

// BenchmarkSSERelay relays a 64-event stream that arrives in reads of 4 events, per-event
// flushing against coalesced flushing; it reports flushes per stream.
func BenchmarkSSERelay(b *testing.B) {
	var stream bytes.Buffer
	for i := range 64 {
		fmt.Fprintf(&stream, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word %d \"},\"finish_reason\":null}]}\n\n", i)
	}
	event := stream.Len() / 64
	for _, coalesce := range []bool{false, true} {
		b.Run(fmt.Sprintf("coalesce=%v", coalesce), func(b *testing.B) {
			w := &discardFlusher{h: http.Header{}}
			b.SetBytes(int64(stream.Len()))
			b.ReportAllocs()
			for b.Loop() {
				sw := NewSSEWriter(w)
				rd := sse.NewReader(&chunkedReader{b: stream.Bytes(), n: 4 * event}, 0)
				if coalesce {
					sw.FlushWhenIdle(rd)
				}
				for {
					ev, err := rd.Next()
					if err != nil {
						break
					}
					if err := sw.Data(ev.Data); err != nil {
						b.Fatal(err)
					}
				}
				rd.Release()
			}
			b.ReportMetric(float64(w.flushes)/float64(b.N), "flushes/op")
		})
	}
}

// chunkedReader returns at most n bytes per Read.
type chunkedReader struct {
	b []byte
	n int
}

func (r *chunkedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// writeCounter is a ResponseWriter that records the size of every Write.
type writeCounter struct {
	*httptest.ResponseRecorder
	writes []int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.ResponseRecorder.Write(p)
}

// TestSSEWriterGathersABurst: the events of one upstream read reach the ResponseWriter in one
// Write (a pass through the server's writer per burst, not per event), and a burst longer
// than maxPending in Writes of about maxPending, so a long burst holds no more memory.
func TestSSEWriterGathersABurst(t *testing.T) {
	event := "data: " + strings.Repeat("x", 100) + "\n\n"
	cases := []struct {
		name      string
		events    int
		maxWrites int
	}{
		{"short burst", 4, 1},
		{"long burst", 300, 300*len(event)/maxPending + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &writeCounter{ResponseRecorder: httptest.NewRecorder()}
			sw := NewSSEWriter(rec)
			defer sw.Release()
			burst := strings.Repeat(event, tc.events)
			if err := RelayStream(t.Context(), strings.NewReader(burst), sw, relayAll{}); err != nil {
				t.Fatal(err)
			}
			if rec.Body.String() != burst {
				t.Fatalf("wire differs from the upstream's events (%d vs %d bytes)", rec.Body.Len(), len(burst))
			}
			if len(rec.writes) > tc.maxWrites {
				t.Errorf("%d Writes %v for one burst of %d events, want at most %d", len(rec.writes), rec.writes, tc.events, tc.maxWrites)
			}
			for _, n := range rec.writes {
				if n > maxPending+len(event) {
					t.Errorf("a Write of %d bytes: more than maxPending (%d) and one event gathered", n, maxPending)
				}
			}
		})
	}
}

// relayAll forwards every event's data unchanged and ends cleanly at EOF.
type relayAll struct{}

func (relayAll) StreamEvent(_ context.Context, data []byte, w ChunkWriter) (bool, error) {
	return false, w.Data(data)
}

func (relayAll) StreamEnd(_ context.Context, err error, _ ChunkWriter) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
