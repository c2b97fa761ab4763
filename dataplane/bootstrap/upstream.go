package bootstrap

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/pkg/gateway"
)

// upstream returns the proxy of a Service or static backend with its auth: plain HTTP, or TLS
// as the backend's TLS policy says (a transport of its own, closed with the config).
func (d *Dataplane) upstream(b *gateway.Backend, addr string) (http.Handler, error) {
	if b.TLS == nil {
		return d.withAuth(b, d.Proxy(b.ID, addr)), nil
	}
	cfg, err := d.ClientTLS(b.TLS, addr)
	if err != nil {
		return nil, err
	}
	t := proxy.NewTLSTransport(cfg)
	var rt http.RoundTripper = t
	if d.WrapTransport != nil {
		rt = d.WrapTransport(rt)
	}
	h := proxy.New(addr, proxy.Options{
		Transport: rt,
		TLS:       true,
		Logger:    d.Logger.With(slog.String("backend", b.ID), slog.String("tls", b.TLS.Source)),
		OnError:   d.Metrics.UpstreamError(b.ID),
	})
	return closing{Handler: d.withAuth(b, h), close: t.CloseIdleConnections}, nil
}

// ClientTLS is the TLS configuration of calls to an upstream at addr (host:port) under u; the
// MCP, LLM and InferencePool handlers use it too.
func (d *Dataplane) ClientTLS(u *gateway.UpstreamTLS, addr string) (*tls.Config, error) {
	cfg, err := d.Certs.ClientConfig(u, addr)
	if err != nil {
		return nil, fmt.Errorf("TLS to %s (%s): %w", addr, u.Source, err)
	}
	return cfg, nil
}

// closing is a handler that releases its transport when its config is replaced.
type closing struct {
	http.Handler
	close func()
}

func (c closing) Close() error {
	c.close()
	return nil
}
