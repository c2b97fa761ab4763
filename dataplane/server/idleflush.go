package server

import (
	"net"
	"net/http"
)

// connState is every http.Server's ConnState hook: it writes the buffered access lines
// (Options.AccessLogBuffer, FlushIdle) when a connection has finished its responses (idle,
// closed or hijacked) and no request is in flight anywhere. On HTTP/1.1 net/http calls it once a
// response's last bytes are written, so the write to the log pipe, and the wake-up of the
// process reading it, come after the client has its answer, not before the end of it as from
// the handler (a chunked response ends, and a buffered one leaves, only when the handler has
// returned). HTTP/2 calls it when the connection's last stream closes, just before flushing
// that stream's last frame. A line whose request ends while another is in flight waits for
// that one, or for the LineWriter's interval.
func (s *Server) connState(_ net.Conn, state http.ConnState) {
	if state == http.StateNew || state == http.StateActive {
		return
	}
	if b := s.opts.AccessLogBuffer; b != nil && s.active.Load() == 0 {
		_ = b.FlushIdle()
	}
}
