package server

import (
	"io"
	"sync"
	"time"
)

// lineBatch is the most a LineWriter holds before it writes.
const lineBatch = 32 << 10

// LineWriter batches log lines into few writes: each Write (one slog record, a whole line) is
// appended to a buffer, written out when the next line would overflow lineBatch or at most
// Interval after the first buffered line, whichever comes first, and by Flush. The access log
// goes through it: one write system call per request, to a pipe that wakes the log collector,
// cost as much as the rest of the request's I/O (Envoy buffers its access logs the same way,
// flushing every second). Lines are never split, so writers sharing the file with it (the
// server's other logs on the same *os.File) only interleave whole lines with it.
type LineWriter struct {
	w        io.Writer
	interval time.Duration

	mu    sync.Mutex
	buf   []byte
	armed bool
	timer *time.Timer
}

// NewLineWriter returns a LineWriter on w that writes buffered lines at most interval after
// they were logged (interval <= 0: 100 ms). Call Flush before the program ends.
func NewLineWriter(w io.Writer, interval time.Duration) *LineWriter {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	l := &LineWriter{w: w, interval: interval, buf: make([]byte, 0, lineBatch)}
	l.timer = time.AfterFunc(time.Hour, func() { _ = l.Flush() })
	l.timer.Stop()
	return l
}

// Write buffers p (one whole line). Errors of the underlying writer are reported by a later
// Write or Flush that writes.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if len(l.buf)+len(p) > lineBatch {
		err = l.flushLocked()
	}
	if len(p) >= lineBatch {
		if _, werr := l.w.Write(p); werr != nil && err == nil {
			err = werr
		}
		return len(p), err
	}
	l.buf = append(l.buf, p...)
	if !l.armed {
		l.armed = true
		l.timer.Reset(l.interval)
	}
	return len(p), err
}

// Flush writes the buffered lines.
func (l *LineWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *LineWriter) flushLocked() error {
	if l.armed {
		l.timer.Stop()
		l.armed = false
	}
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}
