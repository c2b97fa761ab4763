// Adapted from Go's net/http (server.go), Copyright 2009 The Go Authors; BSD 3-Clause
// license, reproduced in NOTICE.

package h1server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The sizes net/http's server uses: the handler's writes are buffered up to
// bufferBeforeChunkingSize before a response without Content-Length is chunked; the
// connection's writer holds 4 KiB.
const (
	bufferBeforeChunkingSize = 2048
	connWriterSize           = 4 << 10
	// maxPostHandlerReadBytes is the unread request body discarded after a response before the
	// connection is closed instead.
	maxPostHandlerReadBytes = 256 << 10
)

// response is a request's http.ResponseWriter. It writes what net/http's response writes, byte
// for byte (its chunkWriter.writeHeader is followed step by step): the differential test holds
// it to that.
type response struct {
	c   *conn
	req *http.Request
	// body is the request body as read from the connection (not what the handler may have
	// put in req.Body); nil without one.
	body   *reqBody
	cancel context.CancelFunc

	handlerHeader http.Header
	calledHeader  bool
	wroteHeader   bool
	status        int
	contentLength int64 // from the handler's Content-Length, -1 if none
	written       int64
	handlerDone   bool
	finished      bool // the response is written: writes fail
	wantsClose    bool
	fullDuplex    bool

	closeAfterReply     bool
	requestBodyLimitHit bool
	trailers            []string

	w  *bufio.Writer // buffers the handler's writes, over cw
	cw chunkWriter

	dateBuf [len(http.TimeFormat)]byte
	clenBuf [10]byte
}

var errAfterHandler = errors.New("h1server: ResponseWriter used after its handler returned")

// chunkWriter frames the body written through response.w on the connection's writer.
type chunkWriter struct {
	res         *response
	header      http.Header // a snapshot of the handler's header at WriteHeader, if taken
	wroteHeader bool
	chunking    bool
}

func (w *response) Header() http.Header {
	if w.cw.header == nil && w.wroteHeader && !w.cw.wroteHeader {
		w.cw.header = w.handlerHeader.Clone()
	}
	w.calledHeader = true
	return w.handlerHeader
}

func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		caller := relevantCaller()
		w.c.s.logf("http: superfluous response.WriteHeader call from %s (%s:%d)", caller.Function, path.Base(caller.File), caller.Line)
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		writeStatusLine(w.c.bw, code)
		_ = w.handlerHeader.WriteSubset(w.c.bw, excludedHeadersNoBody)
		_, _ = w.c.bw.WriteString("\r\n")
		w.c.flush()
		return
	}
	w.wroteHeader = true
	w.status = code
	if w.calledHeader && w.cw.header == nil {
		w.cw.header = w.handlerHeader.Clone()
	}
	if cl := headerGet(w.handlerHeader, "Content-Length"); cl != "" {
		v, err := strconv.ParseInt(cl, 10, 64)
		if err == nil && v >= 0 {
			w.contentLength = v
		} else {
			w.c.s.logf("http: invalid Content-Length of %q", cl)
			w.handlerHeader.Del("Content-Length")
		}
	}
}

func (w *response) Write(p []byte) (int, error) { return w.write(len(p), p, "") }

func (w *response) WriteString(s string) (int, error) { return w.write(len(s), nil, s) }

func (w *response) write(n int, b []byte, s string) (int, error) {
	if w.finished {
		return 0, errAfterHandler // the buffer is the next response's
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if n == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(n)
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if b != nil {
		return w.w.Write(b)
	}
	return w.w.WriteString(s)
}

func (w *response) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *response) FlushError() error {
	if w.finished {
		return errAfterHandler
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	err := w.w.Flush()
	e2 := w.cw.flush()
	if err == nil {
		err = e2
	}
	return err
}

// SetReadDeadline and SetWriteDeadline are http.ResponseController's.
func (w *response) SetReadDeadline(t time.Time) error { return w.c.nc.SetReadDeadline(t) }

func (w *response) SetWriteDeadline(t time.Time) error {
	w.c.writeDeadline = true
	return w.c.nc.SetWriteDeadline(t)
}

// EnableFullDuplex lets the handler read the request body after writing the response.
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// finishRequest ends the response once the handler has returned.
func (w *response) finishRequest() {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = w.w.Flush()
	w.cw.close()
	w.c.flush()
	w.finished = true
	w.c.bg.stop(w.c)
	if w.body != nil {
		_ = w.body.Close()
	}
}

func (w *response) shouldReuseConnection() bool {
	if w.closeAfterReply {
		return false
	}
	if w.req.Method != "HEAD" && w.contentLength != -1 && bodyAllowedForStatus(w.status) && w.contentLength != w.written {
		return false // did not write the declared length
	}
	if w.c.werr != nil {
		return false
	}
	return !w.closedRequestBodyEarly()
}

func (w *response) closedRequestBodyEarly() bool { return w.body != nil && w.body.earlyClosed() }

func (w *response) declareTrailer(k string) {
	k = http.CanonicalHeaderKey(k)
	if !httpguts.ValidTrailerHeader(k) {
		return
	}
	w.trailers = append(w.trailers, k)
}

func (w *response) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.handlerHeader {
		if kk, found := strings.CutPrefix(k, http.TrailerPrefix); found {
			if t == nil {
				t = make(http.Header)
			}
			t[kk] = vv
		}
	}
	for _, k := range w.trailers {
		if t == nil {
			t = make(http.Header)
		}
		for _, v := range w.handlerHeader[k] {
			t.Add(k, v)
		}
	}
	return t
}

func (cw *chunkWriter) Write(p []byte) (n int, err error) {
	if !cw.wroteHeader {
		cw.writeHeader(p)
	}
	c := cw.res.c
	if cw.res.req.Method == "HEAD" {
		return len(p), nil
	}
	if cw.chunking {
		_, _ = c.bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		if _, err = c.bw.WriteString("\r\n"); err != nil {
			c.nc.Close()
			return 0, err
		}
	}
	n, err = c.bw.Write(p)
	if cw.chunking && err == nil {
		_, err = c.bw.WriteString("\r\n")
	}
	if err != nil {
		c.nc.Close()
	}
	return n, err
}

func (cw *chunkWriter) flush() error {
	if !cw.wroteHeader {
		cw.writeHeader(nil)
	}
	return cw.res.c.flush()
}

func (cw *chunkWriter) close() {
	if !cw.wroteHeader {
		cw.writeHeader(nil)
	}
	if cw.chunking {
		bw := cw.res.c.bw
		_, _ = bw.WriteString("0\r\n")
		if trailers := cw.res.finalTrailers(); trailers != nil {
			_ = trailers.Write(bw)
		}
		_, _ = bw.WriteString("\r\n")
	}
}

func writeStatusLine(bw *bufio.Writer, code int) {
	_, _ = bw.WriteString("HTTP/1.1 ")
	if text := http.StatusText(code); text != "" {
		_, _ = bw.WriteString(strconv.Itoa(code))
		_ = bw.WriteByte(' ')
		_, _ = bw.WriteString(text)
		_, _ = bw.WriteString("\r\n")
	} else {
		fmt.Fprintf(bw, "%03d status code %d\r\n", code, code)
	}
}

var (
	excludedHeadersNoBody  = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}
	suppressedHeaders304   = []string{"Content-Type", "Content-Length", "Transfer-Encoding"}
	suppressedHeadersNoBdy = []string{"Content-Length", "Transfer-Encoding"}
)

func suppressedHeaders(status int) []string {
	switch {
	case status == 304:
		return suppressedHeaders304
	case !bodyAllowedForStatus(status):
		return suppressedHeadersNoBdy
	}
	return nil
}

func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199:
		return false
	case status == 204, status == 304:
		return false
	}
	return true
}

// headerGet is Header.Get for a canonical key, without canonicalizing it again.
func headerGet(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func headerHas(h http.Header, key string) bool {
	_, ok := h[key]
	return ok
}

// relevantCaller is the first caller outside this package and net/http, for the log line of a
// superfluous WriteHeader, as net/http's.
func relevantCaller() runtime.Frame {
	pc := make([]uintptr, 16)
	n := runtime.Callers(1, pc)
	frames := runtime.CallersFrames(pc[:n])
	var frame runtime.Frame
	for {
		frame, more := frames.Next()
		if !strings.HasPrefix(frame.Function, "net/http.") && !strings.Contains(frame.Function, "/h1server.") {
			return frame
		}
		if !more {
			break
		}
	}
	return frame
}

var _ io.StringWriter = (*response)(nil)
