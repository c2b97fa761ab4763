package wiring

import (
	"context"
	"net/http"

	"github.com/infergw/gwctl/dataplane/epp"
	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/pkg/gateway"
)

// installPools serves InferencePool backends with the built-in endpoint picker. Endpoints come
// from Options.PoolEndpoints for local runs ("name.namespace" -> host:port list), else from the
// DNS of the headless Service named after the pool (name.namespace.svc.<cluster domain>), crossed
// with the pool's targetPorts and re-resolved every few seconds. A pool whose endpointPickerRef
// names a Service the compiler resolved asks that endpoint picker over ext_proc (one client,
// its connections shared by every pool and reload), unless Options.PoolInProcess.
func (in *Installer) installPools() error {
	opts := in.opts.EndpointPicker
	if opts.Logger == nil {
		opts.Logger = in.log
	}
	c, err := epp.NewClient(opts, in.d.Prometheus)
	if err != nil {
		return err
	}
	in.epp = c
	context.AfterFunc(in.ctx, func() { _ = c.Close() })
	in.d.Backends.Register(gateway.KindInferencePool, func(b *gateway.Backend) (http.Handler, error) {
		cfg := pool.FromBackend(b, in.opts.PoolEndpoints, in.d.Settings.ClusterDomain)
		if _, static := in.opts.PoolEndpoints[b.Name+"."+b.Namespace]; !static && in.opts.PoolSource != nil {
			cfg.Source = in.opts.PoolSource(b.Namespace, b.Pool.Selector)
			cfg.ResolveInterval = in.opts.PoolResolveInterval
		}
		cfg.Scheduler = in.opts.PoolScheduler
		external := b.Pool.Picker.External() && !in.opts.PoolInProcess
		if external && cfg.FailureMode != pool.FailOpen {
			cfg.Scheduler.ScrapeInterval = max(cfg.Scheduler.ScrapeInterval, epp.FailCloseScrapeInterval)
		}
		cfg.Tracer = spans{in: in}.Tracer("gwctl/dataplane/pool")
		if b.TLS != nil {
			// Endpoints are pod addresses: the policy's hostname (SNI) is what is verified.
			tc, err := in.d.ClientTLS(b.TLS, "")
			if err != nil {
				return nil, backendErr(b, err)
			}
			cfg.TLS = tc
		}
		p, err := pool.New(cfg, in.log.With("backend", b.ID), in.d.Prometheus)
		if err != nil {
			return nil, backendErr(b, err)
		}
		if err := p.Start(in.ctx); err != nil {
			_ = p.Close()
			return nil, backendErr(b, err)
		}
		if external {
			pk := b.Pool.Picker
			return in.epp.Handler(p, epp.Picker{Address: pk.Service.Address, FailureMode: cfg.FailureMode}), nil
		}
		return p, nil
	})
	return nil
}
