package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// ServeBinding serves one binding opened after the server started (Kubernetes mode opens a
// port per Gateway as Gateways come and go) until ctx is done or the server drains, then
// shuts it down as ServeListeners does: in-flight requests get ShutdownTimeout to finish.
func (s *Server) ServeBinding(ctx context.Context, b Binding) error {
	h := http.Handler(s)
	if b.Port != 0 {
		h = s.Port(b.Port)
	}
	srv := s.newHTTPServer(s.edge(h))
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
