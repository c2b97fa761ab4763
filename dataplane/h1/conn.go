package h1

import (
	"bufio"
	"bytes"
	"container/list"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// conn is one upstream connection: owned by one round trip at a time (from get or dial until
// its response body ends), or idle in the pool.
type conn struct {
	t      *Transport
	key    string
	nc     net.Conn
	raw    syscall.RawConn // for the liveness check of an idle connection; nil when nc has none
	peekFn func(uintptr) bool
	peekOK bool
	lim    limitReader
	br     *bufio.Reader
	bw     *bufio.Writer
	reused bool
	closed atomic.Bool

	// Of the round trip in progress.
	stop   func() bool // stops the context's interrupt; false: it ran
	nwrite int64       // bytes written to nc
	werr   error       // nc's write error
	wdone  chan error  // the body writer's result, when a goroutine writes the request
	wfail  atomic.Bool // the writer failed (and closed nc)

	timer *time.Timer // the idle timeout's (pool.watch); nil without one

	// Under t.idle.mu.
	elem   *list.Element // in the pool's LRU list while idle
	idleAt time.Time
}

func newConn(t *Transport, key string, nc net.Conn) *conn {
	c := &conn{t: t, key: key, nc: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.lim.c = c
	c.br = bufio.NewReaderSize(&c.lim, t.readBuf)
	c.bw = bufio.NewWriterSize(connWriter{c}, t.writeBuf)
	t.idle.watch(c)
	return c
}

func (c *conn) close() {
	if c.closed.Swap(true) {
		return
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	c.nc.Close()
}

// aLongTimeAgo is a deadline in the past: it fails a blocked read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// interrupt fails the connection's blocked I/O; an error means it is closed already.
func (c *conn) interrupt() { _ = c.nc.SetDeadline(aLongTimeAgo) }

func never() bool { return true }

// limitReader reads nc for the bufio.Reader, bounding the bytes of a response's head as
// net/http's persistConn.Read does (MaxResponseHeaderBytes, counted from the conn).
type limitReader struct {
	c      *conn
	n      int64
	sawEOF bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("read limit of %d bytes exhausted", l.c.t.maxHeaderBytes)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.c.nc.Read(p)
	if err == io.EOF {
		l.sawEOF = true
	}
	l.n -= int64(n)
	return n, err
}

// connWriter writes to nc for the bufio.Writer and counts what got there.
type connWriter struct{ c *conn }

func (w connWriter) Write(p []byte) (int, error) {
	n, err := w.c.nc.Write(p)
	w.c.nwrite += int64(n)
	if err != nil {
		w.c.werr = err
	}
	return n, err
}

// syncMax is the largest in-memory request body written before the response is read, on the
// caller's goroutine: it fits in the socket buffers, so the write cannot wait on the server.
const syncMax = 64 << 10

// roundTrip writes req and reads its response head. Errors before the first response byte
// are *retryable.
func (c *conn) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	c.stop = never
	if ctx.Done() != nil {
		c.stop = context.AfterFunc(ctx, c.interrupt)
	}
	c.lim.n = c.t.maxHeaderBytes
	c.nwrite, c.werr, c.wdone = 0, nil, nil
	c.wfail.Store(false)
	if req.Body == nil || req.Body == http.NoBody || (req.ContentLength > 0 && req.ContentLength <= syncMax && inMemory(req.Body)) {
		err := req.Write(c.bw)
		if err == nil {
			err = c.bw.Flush()
		}
		if err != nil {
			c.stop()
			c.close()
			return nil, c.mapErr(ctx, c.writeErr(err))
		}
	} else {
		// A body that may be long or slow is written by a goroutine of its own while this one
		// reads the response, as net/http does: a server may answer before reading it all.
		c.wdone = make(chan error, 1)
		go c.write(req, c.wdone)
	}

	trace := httptrace.ContextClientTrace(ctx)
	if _, err := c.br.Peek(1); err != nil {
		return nil, c.fail(ctx, &retryable{err: err, readFirstByte: true})
	}
	if trace != nil && trace.GotFirstResponseByte != nil {
		trace.GotFirstResponseByte()
	}
	var res *http.Response
	for {
		var err error
		res, err = http.ReadResponse(c.br, req)
		if err != nil {
			if c.lim.n <= 0 {
				err = fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", c.t.maxHeaderBytes)
			}
			return nil, c.fail(ctx, broken(err))
		}
		// 100, 102 and 103 are followed by the final response; 101 is final (net/http).
		if code := res.StatusCode; code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			break
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(res.StatusCode, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, c.fail(ctx, broken(err))
			}
			c.lim.n = c.t.maxHeaderBytes // the caller saw this head: the bound starts again
		}
	}
	c.lim.n = math.MaxInt64
	alive := !res.Close && !req.Close && res.StatusCode > 199
	if req.Method == http.MethodHead || res.ContentLength == 0 {
		c.release(alive)
		return res, nil
	}
	res.Body = &body{c: c, rc: res.Body, ctx: ctx, alive: alive}
	return res, nil
}

// write is the goroutine that writes a request with a streamed or large body.
func (c *conn) write(req *http.Request, done chan<- error) {
	err := req.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		c.wfail.Store(true)
		c.nc.Close() // the request is cut short: the server must not wait for the rest
	}
	done <- err
}

// fail ends a round trip that got no response: the connection is closed, the writer (if any)
// waited for, and the error is the one net/http would return.
func (c *conn) fail(ctx context.Context, err error) error {
	c.stop()
	failed := c.wfail.Load() // before this close, which fails the writer too
	c.close()
	if c.wdone != nil {
		if werr := <-c.wdone; werr != nil && failed {
			err = c.writeErr(werr) // a failed write comes first, as in net/http
		}
		c.wdone = nil
	}
	if re, ok := err.(*retryable); ok && re.readFirstByte && c.nwrite == 0 {
		re.readFirstByte, re.nothingSent = false, true
	}
	return c.mapErr(ctx, err)
}

// writeErr maps an error of req.Write as net/http does: the body copy's error as it is, a
// connection that took no byte as retryable, a broken one as net/http says it.
func (c *conn) writeErr(err error) error {
	if inner, ok := bodyError(err); ok {
		return inner
	}
	if c.werr == nil {
		return err
	}
	if c.nwrite == 0 {
		return &retryable{err: c.werr, nothingSent: true}
	}
	return broken(err)
}

// broken is net/http's error of a round trip on a connection it closed.
func broken(err error) error {
	return fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", err)
}

// mapErr: a canceled request's error is the context's, as net/http's.
func (c *conn) mapErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// release ends c's round trip: back to the pool when alive and the request was written whole
// (a writer still busy gets net/http's 50 ms), closed otherwise.
func (c *conn) release(alive bool) {
	if !c.stop() {
		alive = false // the context's interrupt ran: the deadline is in the past
	}
	if c.wdone != nil {
		select {
		case err := <-c.wdone:
			alive = alive && err == nil
		default:
			t := time.NewTimer(50 * time.Millisecond)
			select {
			case err := <-c.wdone:
				alive = alive && err == nil
			case <-t.C:
				alive = false
			}
			t.Stop()
		}
		c.wdone = nil
	}
	if !alive || c.lim.sawEOF || c.br.Buffered() > 0 || c.closed.Load() {
		c.close()
		return
	}
	c.t.idle.put(c)
}

// bodyError is the error of req.Write's copy of the body (a read, or a write to the connection)
// as net/http's Transport returns it: unwrapped from the unexported net/http type that marks it
// (its one field is the embedded, unexported error, read through a copy).
func bodyError(err error) (error, bool) {
	t := reflect.TypeOf(err)
	if t == nil || t.Kind() != reflect.Struct || t.Name() != "requestBodyReadError" || t.PkgPath() != "net/http" ||
		t.NumField() != 1 || t.Field(0).Type != errorType {
		return err, false
	}
	cp := reflect.New(t).Elem()
	cp.Set(reflect.ValueOf(err))
	f := cp.Field(0)
	inner, _ := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(error)
	if inner == nil {
		return err, false
	}
	return inner, true
}

var errorType = reflect.TypeFor[error]()

var (
	nopCloserType         = reflect.TypeOf(io.NopCloser(nil))
	nopCloserWriterToType = reflect.TypeOf(io.NopCloser(strings.NewReader("")))
)

// inMemory is net/http's isKnownInMemoryReader: a body that never blocks, which net/http
// writes with the head (the head is not flushed on its own first).
func inMemory(r io.Reader) bool {
	switch r.(type) {
	case *bytes.Reader, *bytes.Buffer, *strings.Reader:
		return true
	}
	if t := reflect.TypeOf(r); t == nopCloserType || t == nopCloserWriterToType {
		if in, ok := reflect.ValueOf(r).Field(0).Interface().(io.Reader); ok {
			return inMemory(in)
		}
	}
	return false
}
