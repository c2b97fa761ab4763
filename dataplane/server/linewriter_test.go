package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// writes records each Write the LineWriter makes.
type writes struct {
	mu  sync.Mutex
	got []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, string(p))
	return len(p), nil
}

func (w *writes) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

// TestLineWriterBatchesWholeLines: lines are written together, never split across writes, on
// overflow, after the interval without more logging, and on Flush.
func TestLineWriterBatchesWholeLines(t *testing.T) {
	var out writes
	l := NewLineWriter(&out, time.Hour)
	line := strings.Repeat("x", 299) + "\n"
	n := lineBatch/len(line) + 1 // one more than fits
	for range n {
		if _, err := l.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	got := out.all()
	if len(got) != 1 || len(got[0]) != (n-1)*len(line) {
		t.Fatalf("after overflow: %d writes (first %d bytes), want 1 of %d", len(got), len(got[0]), (n-1)*len(line))
	}
	big := strings.Repeat("y", lineBatch) + "\n"
	_, _ = l.Write([]byte(big))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	got = out.all()
	if len(got) != 3 || got[1] != line || got[2] != big {
		t.Fatalf("a line over the batch size: writes of %v bytes", lens(got))
	}
	for _, w := range got {
		if !strings.HasSuffix(w, "\n") || bytes.Count([]byte(w), []byte("\n"))*len(line) != len(w) && w != big {
			t.Errorf("a write that is not whole lines: %.40q…", w)
		}
	}
}

func TestLineWriterFlushesAfterInterval(t *testing.T) {
	var out writes
	l := NewLineWriter(&out, 20*time.Millisecond)
	_, _ = l.Write([]byte("a\n"))
	_, _ = l.Write([]byte("b\n"))
	deadline := time.Now().Add(5 * time.Second)
	for len(out.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling for the timer's write, bounded by the deadline
	}
	if got := out.all(); len(got) != 1 || got[0] != "a\nb\n" {
		t.Fatalf("writes %q, want one of both lines", got)
	}
	_, _ = l.Write([]byte("c\n"))
	for len(out.all()) == 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := out.all(); len(got) != 2 || got[1] != "c\n" {
		t.Fatalf("a line after the first batch: writes %q", got)
	}
}

func lens(s []string) []int {
	var n []int
	for _, x := range s {
		n = append(n, len(x))
	}
	return n
}

// TestAccessLinesFlushWhenIdle: with Options.AccessLogBuffer, a request's line is written as
// soon as no other request is in flight, and held while one is.
func TestAccessLinesFlushWhenIdle(t *testing.T) {
	var out writes
	lw := NewLineWriter(&out, time.Hour)
	s := New(Options{AccessLog: slog.New(slog.NewJSONHandler(lw, nil)), AccessLogBuffer: lw})
	entered, release := make(chan struct{}), make(chan struct{})
	s.Swap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
	}), nil)
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/alone", nil))
	if got := out.all(); len(got) != 1 || !strings.Contains(got[0], `"path":"/alone"`) {
		t.Fatalf("a request on an idle server: writes %q, want its line at once", got)
	}
	done := make(chan struct{})
	go func() {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
		close(done)
	}()
	<-entered
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/beside", nil))
	if got := out.all(); len(got) != 1 {
		t.Fatalf("a line written while another request is in flight: %q", got)
	}
	close(release)
	<-done
	if got := out.all(); len(got) != 2 || !strings.Contains(got[1], `"path":"/beside"`) || !strings.Contains(got[1], `"path":"/slow"`) {
		t.Fatalf("after the last request: writes %q, want both lines in one", got)
	}
}
