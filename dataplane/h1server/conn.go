package h1server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// readBufSize is the connection's read buffer: a request head that does not fit is handed to
// net/http, which enforces MaxHeaderBytes on it.
const readBufSize = 4 << 10

// rstAvoidanceDelay is how long net/http waits after closing the write side of a connection
// with unread request bytes before closing it, so the client reads the response before a RST.
const rstAvoidanceDelay = 500 * time.Millisecond

// conn is one client connection served by the fast loop.
type conn struct {
	s      *Server
	nc     net.Conn
	ctx    context.Context
	remote string
	cr     connReader
	br     *bufio.Reader
	bw     *bufio.Writer
	werr   error
	// idle: waiting for a request (Shutdown closes it).
	idle          atomic.Bool
	writeDeadline bool
	handedOff     bool
	lastPOST      bool // the last request was a POST (a CRLF after its body is skipped)
	bg            bgRead
	// since is when the running handler started (unix ns), -1 once the sweeper has fired its
	// watch, 0 between requests.
	since atomic.Int64
	slot  int           // in the sweeper's active list, -1 if not
	w     *bufio.Writer // the response's buffer, reused by each response
}

// connReader reads nc for br, returning first a byte the background read kept.
type connReader struct {
	nc         net.Conn
	pending    byte
	hasPending bool
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.hasPending && len(p) > 0 {
		p[0] = r.pending
		r.hasPending = false
		return 1, nil
	}
	return r.nc.Read(p)
}

// connWriter writes nc for bw and keeps the first error.
type connWriter struct{ c *conn }

func (w connWriter) Write(p []byte) (int, error) {
	n, err := w.c.nc.Write(p)
	if err != nil && w.c.werr == nil {
		w.c.werr = err
	}
	return n, err
}

func (s *Server) newConn(nc net.Conn, base context.Context) *conn {
	c := &conn{s: s, nc: nc, slot: -1}
	c.cr.nc = nc
	if !s.track(c, true) {
		return nil
	}
	c.idle.Store(true)
	if ra := nc.RemoteAddr(); ra != nil {
		c.remote = ra.String()
	}
	ctx := context.WithValue(base, http.LocalAddrContextKey, nc.LocalAddr())
	if cc := s.HTTP.ConnContext; cc != nil {
		if ctx = cc(ctx, nc); ctx == nil {
			panic("ConnContext returned nil")
		}
	}
	c.ctx = context.WithValue(ctx, servedKey{}, true)
	c.br = bufio.NewReaderSize(&c.cr, readBufSize)
	c.bw = bufio.NewWriterSize(connWriter{c}, connWriterSize)
	return c
}

type servedKey struct{}

// Served reports whether ctx is that of a request the fast loop serves: no goroutine of the
// server's reads its connection while the handler runs (for its first bgDelay at least).
func Served(ctx context.Context) bool {
	v, _ := ctx.Value(servedKey{}).(bool)
	return v
}

func (c *conn) flush() error { return c.bw.Flush() }

func (c *conn) serve() {
	var inFlight *response
	defer func() {
		if err := recover(); err != nil && err != http.ErrAbortHandler {
			const size = 64 << 10
			buf := make([]byte, size)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.logf("http: panic serving %v: %v\n%s", c.remote, err, buf)
		}
		if inFlight != nil {
			inFlight.cancel()
			c.bg.stop(c)
			if inFlight.body != nil {
				_ = inFlight.body.Close()
			}
		}
		c.s.track(c, false)
		if c.handedOff {
			return
		}
		_ = c.flush()
		c.nc.Close()
		c.s.connState(c.nc, http.StateClosed)
	}()
	c.s.connState(c.nc, http.StateNew)
	first := true
	for {
		req, w, ok := c.readRequest(first)
		if !ok {
			return
		}
		first = false
		inFlight = w
		h := c.s.HTTP.Handler
		if h == nil {
			h = http.DefaultServeMux
		}
		h.ServeHTTP(w, req)
		inFlight = nil
		w.cancel()
		w.finishRequest()
		if c.writeDeadline {
			_ = c.nc.SetWriteDeadline(time.Time{})
			c.writeDeadline = false
		}
		if !w.shouldReuseConnection() {
			if w.requestBodyLimitHit || w.closedRequestBodyEarly() {
				c.closeWriteAndWait()
			}
			return
		}
		c.idle.Store(true)
		c.s.connState(c.nc, http.StateIdle)
		if c.s.shutdown.Load() {
			return
		}
	}
}

// readRequest reads the next request for the fast loop, or hands the connection to net/http,
// or answers a request net/http would refuse as net/http does; ok false ends the loop.
func (c *conn) readRequest(first bool) (*http.Request, *response, bool) {
	s := c.s.HTTP
	if !first && c.br.Buffered() == 0 && !c.cr.hasPending {
		if d := s.IdleTimeout; d > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(d))
		} else if d := s.ReadTimeout; d > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(d))
		}
		if _, err := c.br.Peek(1); err != nil {
			return nil, nil, false
		}
	}
	// The head's deadline only while it is not all here: usually it came in one read.
	deadline := false
	for {
		if c.lastPOST && c.br.Buffered() >= 4 {
			// net/http's tolerance of a CRLF some clients send after a POST body: CR and LF
			// among the next request's first 4 bytes are skipped.
			peek, _ := c.br.Peek(4)
			n := 0
			for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
				n++
			}
			_, _ = c.br.Discard(n)
			c.lastPOST = false
		}
		b, _ := c.br.Peek(c.br.Buffered())
		verdict := headIncomplete
		if !c.lastPOST {
			verdict = scanHead(b)
		}
		switch verdict {
		case headFast:
			if deadline || !first {
				_ = c.nc.SetReadDeadline(time.Time{})
			}
			return c.parse()
		case headHandOff:
			c.handOff(first)
			return nil, nil, false
		}
		if c.br.Buffered() == c.br.Size() {
			c.handOff(first)
			return nil, nil, false
		}
		if !deadline {
			deadline = true
			if d := s.ReadHeaderTimeout; d > 0 {
				_ = c.nc.SetReadDeadline(time.Now().Add(d))
			} else if d := s.ReadTimeout; d > 0 {
				_ = c.nc.SetReadDeadline(time.Now().Add(d))
			} else {
				_ = c.nc.SetReadDeadline(time.Time{})
			}
		}
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			var ne net.Error
			if c.br.Buffered() == 0 || errors.As(err, &ne) && ne.Timeout() || c.lastPOST && onlyCRLF(b) {
				return nil, nil, false // as net/http: no reply
			}
			c.handOff(first) // net/http answers a cut head
			return nil, nil, false
		}
	}
}

func onlyCRLF(b []byte) bool {
	for _, x := range b {
		if x != '\r' && x != '\n' {
			return false
		}
	}
	return true
}

// handOff gives the connection, and the bytes read from it, to net/http. net/http serves it as
// a new connection: after a first request, a head starting as the HTTP/2 preface would switch
// it to HTTP/2, which net/http does only at a connection's start; such a connection is closed.
func (c *conn) handOff(first bool) {
	_ = c.nc.SetReadDeadline(time.Time{})
	b, _ := c.br.Peek(c.br.Buffered())
	if !first && bytes.HasPrefix(b, []byte("PRI ")) {
		return
	}
	c.handedOff = true
	c.s.track(c, false)
	c.s.hand.give(&replayConn{Conn: c.nc, buf: append([]byte(nil), b...)})
}

// parse reads the whole head in the buffer with http.ReadRequest and applies the checks
// net/http's server applies after it.
func (c *conn) parse() (*http.Request, *response, bool) {
	c.idle.Store(false)
	c.s.connState(c.nc, http.StateActive)
	if c.s.shutdown.Load() {
		return nil, nil, false
	}
	req, err := http.ReadRequest(c.br)
	if err != nil {
		// scanHead let through no transfer coding but chunked and no head that is not all
		// buffered: what is left is net/http's plain 400.
		c.replyError("400 Bad Request")
		return nil, nil, false
	}
	if !httpguts.ValidHostHeader(req.Host) {
		c.replyError("400 Bad Request: malformed Host header")
		return nil, nil, false
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			c.replyError("400 Bad Request: invalid header name")
			return nil, nil, false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				c.replyError("400 Bad Request: invalid header value")
				return nil, nil, false
			}
		}
	}
	c.lastPOST = req.Method == "POST"
	ctx, cancel := context.WithCancel(c.ctx)
	// In place: a chunked body sets its trailers on the request ReadRequest returned.
	*req = *req.WithContext(ctx)
	req.RemoteAddr = c.remote
	w := &response{c: c, req: req, cancel: cancel, handlerHeader: make(http.Header), contentLength: -1, wantsClose: req.Close}
	w.cw.res = w
	if c.w == nil {
		c.w = bufio.NewWriterSize(&w.cw, bufferBeforeChunkingSize)
	} else {
		c.w.Reset(&w.cw)
	}
	w.w = c.w
	var ready bool
	if req.Body != http.NoBody && req.Body != nil {
		remain := req.ContentLength
		if len(req.TransferEncoding) > 0 {
			remain = -1
		}
		w.body = &reqBody{c: c, rc: req.Body, remain: remain}
		req.Body = w.body
		ready = false
	} else {
		ready = c.br.Buffered() == 0
	}
	c.bg.begin(c, ready, cancel)
	return req, w, true
}

// replyError writes net/http's answer to a request it refuses before its handler.
func (c *conn) replyError(status string) {
	const errorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	_, _ = io.WriteString(c.nc, "HTTP/1.1 "+status+errorHeaders+status)
}

type closeWriter interface{ CloseWrite() error }

// closeWriteAndWait flushes, sends a FIN and waits before the close, as net/http does when
// request bytes are left unread.
func (c *conn) closeWriteAndWait() {
	_ = c.flush()
	if tcp, ok := c.nc.(closeWriter); ok {
		_ = tcp.CloseWrite()
	}
	time.Sleep(rstAvoidanceDelay)
}
