package server

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// recorder wraps the client's ResponseWriter to learn the status, bytes, route and backend of
// a request. It keeps Flush and Unwrap so streaming and http.ResponseController still work.
type recorder struct {
	http.ResponseWriter
	status  int
	bytes   int64
	route   string
	backend string
	stream  bool
	m       *Metrics
	// attrs are a backend handler's fields for the request's access line (SetLogAttrs); the
	// slice's array is kept across the recorder's reuse.
	attrs []slog.Attr
}

var recorders = sync.Pool{New: func() any { return new(recorder) }}

// reset readies a pooled recorder for a request on w.
func (w *recorder) reset(rw http.ResponseWriter, m *Metrics) {
	clear(w.attrs)
	*w = recorder{ResponseWriter: rw, m: m, attrs: w.attrs[:0]}
}

func (w *recorder) SetRoute(route, backend string) { w.route, w.backend = route, backend }

// SetLogAttrs sets a backend handler's fields on the request's access line, so the handler (an
// LLM call's model and tokens) writes no line of its own: one line per request. A later call
// replaces the fields (a failover's second provider is the one that answered). Handlers find
// it through the Unwrap chain of their ResponseWriter.
func (w *recorder) SetLogAttrs(attrs ...slog.Attr) { w.attrs = append(w.attrs[:0], attrs...) }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
		if strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
			w.stream = true
			if w.m != nil {
				w.m.streams.Inc()
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// sendComplete writes a complete HTTP/1.1 response of declared length to the client now, before
// the request's metrics and access line: net/http writes it only once the handler has returned,
// after them. The flush costs no write of its own (none is left for net/http to make). Streams,
// responses net/http frames itself (no Content-Length: it may compute one) and HTTP/2 (a flush
// there is a frame of its own) are left to net/http.
func (w *recorder) sendComplete(r *http.Request) {
	if r.ProtoMajor != 1 || w.status == 0 || w.stream {
		return
	}
	cl := w.Header().Get("Content-Length")
	if cl == "" {
		return
	}
	if n, err := strconv.ParseInt(cl, 10, 64); err != nil || n != w.bytes || n == 0 {
		return // short, a HEAD or no body: as net/http finishes it
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
