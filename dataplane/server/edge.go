package server

import (
	"net/http"
	"time"

	"github.com/infergw/gwctl/dataplane/proxy"
)

// DefaultMaxHeaderBytes bounds a request's line and header fields, as Envoy's default
// max_request_headers_kb does.
const DefaultMaxHeaderBytes = 60 << 10

// headerReadSlack is what net/http reads past http.Server.MaxHeaderBytes before it refuses a
// request head with 431 (its initialReadLimitSize); subtracting it makes Options.MaxHeaderBytes
// the number of bytes net/http reads to parse an HTTP/1.1 head. TestHeaderLimitHTTP1 pins it.
const headerReadSlack = 4096

// maxHeaderBytes is the http.Server.MaxHeaderBytes that enforces Options.MaxHeaderBytes. On
// HTTP/1.1 the head may exceed it only by bytes net/http had already buffered (the 14 it peeks
// for the h2c preface on a new connection; at most 4 KiB read with a previous request). On
// HTTP/2 net/http derives SETTINGS_MAX_HEADER_LIST_SIZE from it: this value plus 320 bytes
// (HPACK counts 32 bytes per field beside name and value), below Options.MaxHeaderBytes.
func (s *Server) maxHeaderBytes() int {
	n := s.opts.MaxHeaderBytes
	if n <= 0 {
		n = DefaultMaxHeaderBytes
	}
	return max(n-headerReadSlack, 1)
}

// edge applies the rules every request on a traffic listener meets before routing:
//
//   - An HTTP/1.1 request with a chunked body closes its connection after the response. net/http
//     reads such a request by its chunks and drops a Content-Length sent beside them without
//     telling the handler, so a request carrying both (RFC 9112 §6.1: the server MUST close the
//     connection after responding) cannot be told apart from a plain chunked one; closing after
//     every chunked request means bytes a front proxy framed by Content-Length are never read as
//     a second request here. Clients that send Content-Length (all the AI SDKs) and HTTP/2 keep
//     their connections.
//   - An HTTP/1.0 request closes its connection too: net/http ignores Transfer-Encoding on
//     HTTP/1.0 and frames by Content-Length, and RFC 9112 §6.1 asks for the close then.
//   - CONNECT and TRACE are refused with 405 (proxy.MethodRefused), counted and logged like
//     any request.
func (s *Server) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && (r.ProtoMinor == 0 || len(r.TransferEncoding) > 0) {
			w.Header().Set("Connection", "close")
		}
		if proxy.MethodRefused(r.Method) {
			s.refuseMethod(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuseMethod answers 405 with the metrics and access line serve records.
func (s *Server) refuseMethod(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.active.Add(1)
	rec := recorders.Get().(*recorder)
	rec.reset(w, s.opts.Metrics)
	if m := s.opts.Metrics; m != nil {
		m.inflight.Inc()
	}
	proxy.WriteMethodRefused(rec, r.Method)
	status, d := s.record(rec, r, start)
	s.finish(rec, r, status, d)
	recorders.Put(rec)
}
