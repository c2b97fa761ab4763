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
	newProxy, release, err := d.upstreamProxy(b, addr)
	if err != nil {
		return nil, err
	}
	return closing{Handler: d.withAuth(b, newProxy(b.ID, addr)), close: release}, nil
}

// ServeServices makes Service backends pick among endpoints with pick (Kubernetes mode: the
// Service's ready endpoints), each endpoint proxied as upstream proxies a Service: plain HTTP,
// or TLS as the backend's TLS policy says (never a fallback from one to the other), with its
// auth.
func (d *Dataplane) ServeServices(pick func(b *gateway.Backend, newProxy func(id, addr string) http.Handler) http.Handler) {
	d.Backends.Register(gateway.KindService, func(b *gateway.Backend) (http.Handler, error) {
		newProxy, release, err := d.upstreamProxy(b, b.Service.Address)
		if err != nil {
			return nil, err
		}
		return closing{Handler: d.withAuth(b, pick(b, newProxy)), close: release}, nil
	})
}

// upstreamProxy returns the proxy factory of b's upstream addresses: Proxy for plain HTTP, or
// one TLS transport (verifying as b.TLS says for a Service known as addr) shared by every
// address; release closes its idle connections.
func (d *Dataplane) upstreamProxy(b *gateway.Backend, addr string) (func(id, addr string) http.Handler, func(), error) {
	if b.TLS == nil {
		return d.Proxy, func() {}, nil
	}
	cfg, err := d.ClientTLS(b.TLS, addr)
	if err != nil {
		return nil, nil, err
	}
	t := proxy.NewTLSTransport(cfg)
	t.DialContext = d.Transport.DialContext // dial as plain upstreams do (a test plays the node)
	var rt http.RoundTripper = t
	if d.WrapTransport != nil {
		rt = d.WrapTransport(rt)
	}
	log := d.Logger.With(slog.String("backend", b.ID), slog.String("tls", b.TLS.Source))
	return func(id, addr string) http.Handler {
		return proxy.New(addr, proxy.Options{Transport: rt, TLS: true, Logger: log, OnError: d.Metrics.UpstreamError(id)})
	}, t.CloseIdleConnections, nil
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
