package certs

import "github.com/infergw/gwctl/pkg/gateway"

// Refs lists every certificate Secret a config uses: the HTTPS listeners' certificates and the
// client certificates presented to upstreams (backends, MCP targets, remote JWKS).
func Refs(cfg *gateway.Config) []gateway.CertificateRef {
	var out []gateway.CertificateRef
	client := func(u *gateway.UpstreamTLS) {
		if u != nil && u.ClientCertificate != nil {
			out = append(out, *u.ClientCertificate)
		}
	}
	policy := func(p *gateway.TrafficPolicy) {
		if p != nil && p.JWT != nil {
			for _, pr := range p.JWT.Providers {
				client(pr.JWKSTLS)
			}
		}
	}
	for _, l := range cfg.Listeners {
		if l.TLS != nil {
			out = append(out, l.TLS.Certificates...)
		}
		policy(l.Policy)
		policy(l.PreRouting)
	}
	for _, r := range cfg.Routes {
		for _, rule := range r.Rules {
			policy(rule.Policy)
		}
	}
	for _, b := range cfg.Backends {
		client(b.TLS)
		policy(b.Policy)
		if b.MCP != nil {
			for _, t := range b.MCP.Targets {
				client(t.TLS)
			}
		}
	}
	return out
}
