package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// ServeBinding serves one binding opened after the server started (Kubernetes mode opens a
// port per Gateway as Gateways come and go) until ctx is done, then shuts it down as
// ServeListeners does: new connections are accepted for ShutdownDelay more, and in-flight
// requests get ShutdownTimeout to finish.
func (s *Server) ServeBinding(ctx context.Context, b Binding) error {
	h := http.Handler(s)
	if b.Port != 0 {
		h = s.Port(b.Port)
	}
	srv := s.newTrafficServer(s.edge(h))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.wrapListener(b.Listener, b.Port)) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	if s.opts.ShutdownDelay > 0 {
		// As ServeListeners: keep accepting while the endpoints that lead here are removed (the
		// process stopping, or the Gateway's Service going).
		time.Sleep(s.opts.ShutdownDelay)
	}
	dctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		s.log.Warn("closing a binding: drain deadline reached", slog.String("listen", b.Listener.Addr().String()), slog.String("error", err.Error()))
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
