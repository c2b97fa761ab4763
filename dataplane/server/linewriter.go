package server

import (
	"io"
	"sync"
	"time"
)

// lineBatch is the most a LineWriter holds before it writes.
const lineBatch = 32 << 10

// maxHeld is the most a LineWriter holds while its previous batch is still being written (a
// log reader that is slow to read, on a busy node): requests go on logging into memory, and
// wait for the writer only beyond it.
const maxHeld = 1 << 20

// idleGap is the least time between two writes of FlushIdle.
const idleGap = 10 * time.Millisecond

// LineWriter batches log lines into few writes: each Write (one slog record, a whole line) is
// appended to a buffer, written out when the next line would overflow lineBatch or at most
// Interval after the first buffered line, whichever comes first, by FlushIdle when the server
// has no request in flight (Options.AccessLogBuffer), and by Flush. The access log goes
// through it: one write system call per request, to a pipe that wakes the log collector,
// cost as much as the rest of the request's I/O (Envoy buffers its access logs the same way,
// flushing every second). Lines are never split, so writers sharing the file with it (the
// server's other logs on the same *os.File) only interleave whole lines with it.
type LineWriter struct {
	w        io.Writer
	interval time.Duration
	gap      time.Duration // idleGap; tests shorten or lengthen it

	mu  sync.Mutex
	buf []byte
	// writing: a batch is being written to w, outside mu, so lines logged meanwhile go into buf
	// (spare is the other batch's array); one write at a time, in order (written signals the
	// end of one).
	writing bool
	written sync.Cond
	spare   []byte
	// due is when the timer fires (zero: not armed). A write leaves it armed, so a line
	// buffered later is written sooner than Interval after it, never later: arming a timer for
	// every request's line would wake the runtime's network poller, whose sleep it shortens,
	// once per request.
	due   time.Time
	last  time.Time // the last write to w
	timer *time.Timer
}

// NewLineWriter returns a LineWriter on w that writes buffered lines at most interval after
// they were logged (interval <= 0: 100 ms). Call Flush before the program ends.
func NewLineWriter(w io.Writer, interval time.Duration) *LineWriter {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	l := &LineWriter{w: w, interval: interval, gap: idleGap, buf: make([]byte, 0, lineBatch)}
	l.written.L = &l.mu
	l.timer = time.AfterFunc(time.Hour, l.expire)
	l.timer.Stop()
	return l
}

// expire writes what the timer has waited for; the next line arms it again.
func (l *LineWriter) expire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.due = time.Time{}
	_ = l.flushLocked()
}

// armLocked makes the timer fire at or before at.
func (l *LineWriter) armLocked(at time.Time) {
	if !l.due.IsZero() && !at.Before(l.due) {
		return
	}
	l.due = at
	l.timer.Reset(time.Until(at))
}

// Write buffers p (one whole line). Errors of the underlying writer are reported by a later
// Write or Flush that writes.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if n := len(l.buf) + len(p); n > lineBatch && (!l.writing || n > maxHeld) {
		err = l.flushLocked()
	}
	l.buf = append(l.buf, p...)
	if len(l.buf) >= lineBatch && !l.writing {
		// A line of lineBatch or more (rare) leaves at once, whole.
		if werr := l.flushLocked(); err == nil {
			err = werr
		}
	}
	if l.due.IsZero() {
		l.armLocked(time.Now().Add(l.interval))
	}
	return len(p), err
}

// FlushIdle writes the buffered lines now, or, when the last write was less than idleGap ago,
// idleGap after it: a server with no request in flight calls it after each response, so a
// quiet gateway's lines are not late, while a gateway answering one request after another
// writes a batch every idleGap, not one line per request (each write wakes the log
// collector, on the same CPUs as the requests).
func (l *LineWriter) FlushIdle() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		return nil
	}
	now := time.Now()
	if next := l.last.Add(l.gap); now.Before(next) {
		l.armLocked(next)
		return nil
	}
	if l.writing {
		// The caller is a connection between requests: it does not wait for a slow reader.
		l.armLocked(now.Add(l.gap))
		return nil
	}
	return l.flushLocked()
}

// Flush writes the buffered lines.
func (l *LineWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

// flushLocked writes the buffered lines, after the batch being written if there is one; it
// releases mu while it writes.
func (l *LineWriter) flushLocked() error {
	for l.writing {
		l.written.Wait()
	}
	if len(l.buf) == 0 {
		return nil
	}
	out := l.buf
	l.buf, l.spare = l.spare[:0], nil
	l.writing = true
	l.mu.Unlock()
	_, err := l.w.Write(out)
	l.mu.Lock()
	l.writing = false
	l.spare = out[:0]
	l.last = time.Now()
	l.written.Broadcast()
	return err
}
