package server

import (
	"context"
	"net"
	"net/http"

	"github.com/infergw/gwctl/dataplane/h1server"
	"github.com/infergw/gwctl/pkg/fastpath"
)

// fastH1 serves cleartext HTTP/1.1 traffic with dataplane/h1server (GWCTL_NOFAST=h1server: net/http).
var fastH1 = fastpath.Enabled(fastpath.H1Server)

// trafficServer is what serves a binding: net/http's server, or h1server in front of it.
type trafficServer interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

// newTrafficServer serves h on a binding: cleartext HTTP/1.1 requests on their connection's
// goroutine (h1server), TLS, h2c and what h1server hands over through net/http.
func (s *Server) newTrafficServer(h http.Handler) trafficServer {
	srv := s.newHTTPServer(h)
	if !fastH1 {
		return srv
	}
	return &h1server.Server{HTTP: srv}
}
