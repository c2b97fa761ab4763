package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// flushes records what a handler wrote between flushes.
type flushes struct {
	*httptest.ResponseRecorder
	pieces [][]byte
	last   int
}

func (f *flushes) Flush() {
	b := f.Body.Bytes()
	if len(b) == f.last {
		return
	}
	f.pieces = append(f.pieces, bytes.Clone(b[f.last:]))
	f.last = len(b)
}

// TestWriteSSESegments checks the fake's write pattern: every write is whole events, no write
// passes the segment size unless one event does, and the bytes are the recorded stream's.
func TestWriteSSESegments(t *testing.T) {
	events := splitEvents(anthropicStream())
	if len(events) != 68 {
		t.Fatalf("the recorded stream has %d events, want 68", len(events))
	}
	for _, tc := range []struct {
		segment, writes int
	}{
		{segment: 0, writes: 68},
		{segment: 1400, writes: 6},
		{segment: 1 << 20, writes: 1},
	} {
		f := &flushes{ResponseRecorder: httptest.NewRecorder()}
		writeSSE(f, events, tc.segment)
		f.Flush() // what the server does when the handler returns
		if !bytes.Equal(f.Body.Bytes(), anthropicStream()) {
			t.Errorf("segment %d: the bytes differ from the recorded stream", tc.segment)
		}
		if got := len(f.pieces); got != tc.writes || segments(events, tc.segment) != tc.writes {
			t.Errorf("segment %d: %d writes (segments() says %d), want %d", tc.segment, got, segments(events, tc.segment), tc.writes)
		}
		for i, p := range f.pieces {
			if !bytes.HasSuffix(p, []byte("\n\n")) {
				t.Errorf("segment %d: write %d does not end with an event: %q", tc.segment, i, p[max(len(p)-40, 0):])
			}
			if n := len(splitEvents(p)); tc.segment > 0 && len(p) > tc.segment && n > 1 {
				t.Errorf("segment %d: write %d is %d bytes of %d events", tc.segment, i, len(p), n)
			}
		}
	}
}

// TestUpstreamSegmentQuery checks that ?segment=N overrides the upstream's default and that the
// client receives the same bytes either way.
func TestUpstreamSegmentQuery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := serveUpstream(ctx, 1400)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "?segment=0", "?segment=4000"} {
		resp, err := http.Post("http://"+addr+"/v1/messages"+q, "application/json", bytes.NewReader(streamRequest()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(b, anthropicStream()) {
			t.Errorf("%q: status %d, err %v, %d bytes (want the recorded %d)", q, resp.StatusCode, err, len(b), len(anthropicStream()))
		}
	}
}
