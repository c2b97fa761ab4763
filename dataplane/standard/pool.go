package standard

import (
	"net/http"
	"strings"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/pkg/gateway"
)

// installPools serves InferencePool backends with the built-in endpoint picker. Endpoints come
// from Options.PoolEndpoints for local runs ("name.namespace" -> host:port list), else from the
// DNS of the headless Service named after the pool (name.namespace.svc.<cluster domain>), crossed
// with the pool's targetPorts and re-resolved every few seconds.
func (in *Installer) installPools() {
	in.d.Backends.Register(gateway.KindInferencePool, func(b *gateway.Backend) (http.Handler, error) {
		cfg := pool.Config{
			Name:      b.Namespace + "/" + b.Name,
			Selector:  b.Pool.Selector,
			Scheduler: in.opts.PoolScheduler,
			Tracer:    spans{in: in}.Tracer("gwctl/dataplane/pool"),
		}
		for _, p := range b.Pool.TargetPorts {
			cfg.TargetPorts = append(cfg.TargetPorts, int(p))
		}
		if b.Pool.Picker != nil && b.Pool.Picker.FailOpen {
			cfg.FailureMode = pool.FailOpen
		}
		if eps, ok := in.opts.PoolEndpoints[b.Name+"."+b.Namespace]; ok {
			cfg.Source = pool.StaticSource(eps)
		} else if in.opts.PoolSource != nil {
			cfg.Source = in.opts.PoolSource(b.Namespace, b.Pool.Selector)
			cfg.ResolveInterval = in.opts.PoolResolveInterval
		} else {
			domain := in.d.Settings.ClusterDomain
			if domain == "" {
				domain = "cluster.local"
			}
			cfg.Source = pool.DNSSource{Host: b.Name + "." + b.Namespace + ".svc." + strings.TrimSuffix(domain, ".")}
		}
		p, err := pool.New(cfg, in.log.With("backend", b.ID), in.d.Prometheus)
		if err != nil {
			return nil, backendErr(b, err)
		}
		if err := p.Start(in.ctx); err != nil {
			_ = p.Close()
			return nil, backendErr(b, err)
		}
		return p, nil
	})
}
