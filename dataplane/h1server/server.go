// Package h1server serves the dataplane's cleartext HTTP/1.1 connections with each request
// read, handled and answered on its connection's goroutine (net/http's server adds a
// background-read goroutine and its hand-offs to every request); anything it does not serve
// (TLS, upgrades, Expect, h2c, HTTP/1.0, unusual framing) it hands, with the bytes it has read,
// to the binding's net/http server.
package h1server

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP on a listener with HTTP's configuration (Handler, MaxHeaderBytes,
// ReadHeaderTimeout, IdleTimeout, ErrorLog, ConnState, BaseContext, ConnContext), handing to
// HTTP the connections it does not serve (all of them if ReadTimeout or WriteTimeout is set).
// Only Serve, Shutdown and Close are to be called: HTTP is served through them. HTTP's
// SetKeepAlivesEnabled is not seen by the fast loop.
type Server struct {
	HTTP *http.Server

	mu       sync.Mutex
	ln       net.Listener
	hand     *handoff
	conns    map[*conn]struct{}
	shutdown atomic.Bool
	httpErr  chan error
	sweep    sweeper
}

// Serve accepts connections on ln until Shutdown or Close, then returns http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.ln = ln
	s.hand = newHandoff(ln.Addr())
	s.conns = map[*conn]struct{}{}
	s.httpErr = make(chan error, 1)
	hand := s.hand
	s.mu.Unlock()
	go func() { s.httpErr <- s.HTTP.Serve(hand) }()

	base := context.Background()
	if s.HTTP.BaseContext != nil {
		base = s.HTTP.BaseContext(ln)
	}
	base = context.WithValue(base, http.ServerContextKey, s.HTTP)
	// The fast loop has no whole-request read deadline nor write deadline: with ReadTimeout or
	// WriteTimeout set, net/http serves every connection.
	slow := s.HTTP.ReadTimeout != 0 || s.HTTP.WriteTimeout != 0
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.HTTP.Close()
			return err
		}
		if _, ok := nc.(*tls.Conn); ok || slow {
			hand.give(nc)
			continue
		}
		c := s.newConn(nc, base)
		if c == nil {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// Shutdown stops accepting, closes idle connections, lets active ones finish their request and
// then closes them, as http.Server.Shutdown; the connections handed to net/http are shut down
// by it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	errc := make(chan error, 1)
	go func() { errc <- s.HTTP.Shutdown(ctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !s.closeIdle() {
		select {
		case <-ctx.Done():
			if err := <-errc; err != nil && !errors.Is(err, ctx.Err()) {
				return err
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
	return <-errc
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.stop()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return s.HTTP.Close()
}

func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Swap(true) {
		return
	}
	if s.ln != nil {
		s.ln.Close()
		// net/http serves no new request once shutting down; a connection handed over from
		// now on is closed (and none waits on a net/http that never got to accept).
		s.hand.Close()
	}
}

// closeIdle closes the connections waiting for a request and reports whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

func (s *Server) track(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.shutdown.Load() {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

func (s *Server) logf(format string, args ...any) {
	if l := s.HTTP.ErrorLog; l != nil {
		l.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

func (s *Server) connState(nc net.Conn, st http.ConnState) {
	if f := s.HTTP.ConnState; f != nil {
		f(nc, st)
	}
}
