package server

import (
	"bytes"
	"fmt"
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
	// A Flush leaves the timer armed; a line after it is still written by the timer.
	_, _ = l.Write([]byte("d\n"))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	_, _ = l.Write([]byte("e\n"))
	for len(out.all()) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := out.all(); len(got) != 4 || got[2] != "d\n" || got[3] != "e\n" {
		t.Fatalf("a line after a Flush: writes %q", got)
	}
}

func lens(s []string) []int {
	var n []int
	for _, x := range s {
		n = append(n, len(x))
	}
	return n
}

// TestLineWriterFlushIdle: FlushIdle writes at once unless the last write is less than the
// idle gap ago; then the timer writes the lines when the gap has passed.
func TestLineWriterFlushIdle(t *testing.T) {
	var out writes
	l := NewLineWriter(&out, time.Hour)
	l.gap = time.Hour
	_, _ = l.Write([]byte("a\n"))
	if err := l.FlushIdle(); err != nil {
		t.Fatal(err)
	}
	_, _ = l.Write([]byte("b\n"))
	if err := l.FlushIdle(); err != nil {
		t.Fatal(err)
	}
	if got := out.all(); len(got) != 1 || got[0] != "a\n" {
		t.Fatalf("writes %q, want the first line at once and the second held", got)
	}

	var later writes
	l = NewLineWriter(&later, time.Hour)
	l.gap = 20 * time.Millisecond
	_, _ = l.Write([]byte("a\n"))
	_ = l.FlushIdle()
	_, _ = l.Write([]byte("b\n"))
	_ = l.FlushIdle()
	if got := waitWrites(&later, 2); len(got) != 2 || got[1] != "b\n" {
		t.Fatalf("writes %q, want the held line written after the gap", got)
	}
}

// TestLineWriterHoldsLinesWhileWriting: while a batch is being written (a log reader slow to
// read), lines are held in memory rather than making the requests that log them wait; they
// are written afterwards, whole, each writer's in its order. (The line whose Write started
// the batch is appended when that Write returns, after lines logged meanwhile.)
func TestLineWriterHoldsLinesWhileWriting(t *testing.T) {
	out := &blockingWriter{release: make(chan struct{})}
	l := NewLineWriter(out, time.Hour)
	line := func(i int) []byte { return []byte(fmt.Sprintf("%099d\n", i)) }
	first := lineBatch/100 + 1 // one more line than a batch holds: the last Write writes
	var batch []byte
	for i := range first - 1 {
		_, _ = l.Write(line(i))
		batch = append(batch, line(i)...)
	}
	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		_, _ = l.Write(line(first - 1)) // writes the batch, and waits for the reader
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		writing := l.writing
		l.mu.Unlock()
		if writing || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond) // polling for the writer to start, bounded by the deadline
	}
	held := make(chan struct{})
	go func() {
		defer close(held)
		for i := first; i < 3*first; i++ { // two batches more, under maxHeld
			_, _ = l.Write(line(i))
		}
	}()
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("Write waited for the blocked batch")
	}
	var heldLines []byte
	for i := first; i < 3*first; i++ {
		heldLines = append(heldLines, line(i)...)
	}
	close(out.release)
	<-blocked
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	got := out.all()
	for _, w := range got {
		if !strings.HasSuffix(w, "\n") {
			t.Fatalf("a write that is not whole lines: %.40q…", w)
		}
	}
	if len(got) == 0 || got[0] != string(batch) {
		t.Fatalf("first write: %d bytes, want the %d of the first batch", len(strings.Join(got[:min(len(got), 1)], "")), len(batch))
	}
	rest := strings.Join(got[1:], "")
	if i := strings.Index(rest, string(line(first-1))); i < 0 || i%100 != 0 || rest[:i]+rest[i+100:] != string(heldLines) {
		t.Fatalf("after the batch: %d bytes, want the held lines in order and the batch's last line once", len(rest))
	}
}
