package portable

import (
	"fmt"

	"github.com/infergw/gwctl/pkg/manifest"
)

// RuleTLS says how a TLS setting carries over to another implementation.
const RuleTLS = "portable.tls"

// gatewayTLS reports the TLS of a Gateway: HTTPS listeners with certificateRefs to Secrets are
// Core and carry over; tls.options are each implementation's own keys; client certificate
// settings (spec.tls) are standard but Extended, so the standby must support them.
func (c *checker) gatewayTLS(o *manifest.Object) {
	for i, l := range list(o.Content, "spec", "listeners") {
		if str(l, "protocol") != "HTTPS" {
			continue
		}
		p := fmt.Sprintf("spec.listeners[%d].tls", i)
		c.add(o, control{field: p + ".certificateRefs", rule: RuleTLS,
			what:    fmt.Sprintf("HTTPS listener %s terminates TLS with %d certificateRefs to Secrets (Gateway API Core)", str(l, "name"), len(list(l, "tls", "certificateRefs"))),
			instead: "the same listener and Secrets: carries over (the standby's Gateway must refer to Secrets it can read)"})
		if opts, ok := get(l, "tls", "options").(map[string]any); ok && len(opts) > 0 {
			c.add(o, control{field: p + ".options", rule: RuleTLS, lost: true,
				what:    fmt.Sprintf("tls.options of listener %s are implementation-specific keys", str(l, "name")),
				instead: "ignored or read differently by another implementation"})
		}
	}
	if get(o.Content, "spec", "tls", "frontend") != nil {
		c.add(o, control{field: "spec.tls.frontend", rule: RuleTLS,
			what:    "client certificate validation of the HTTPS listeners (Gateway API standard channel; conformance features GatewayFrontendClientCertificateValidation and ...InsecureFallback)",
			instead: "carries over where the standby supports GatewayFrontendClientCertificateValidation; else its listeners may accept clients without a certificate"})
	}
	if get(o.Content, "spec", "tls", "backend", "clientCertificateRef") != nil {
		c.add(o, control{field: "spec.tls.backend.clientCertificateRef", rule: RuleTLS,
			what:    "the client certificate presented to BackendTLSPolicy upstreams (Gateway API Extended)",
			instead: "carries over where the standby supports GatewayBackendClientCertificate"})
	}
}

// backendTLSPolicy reports a BackendTLSPolicy: standard, Extended support.
func (c *checker) backendTLSPolicy(o *manifest.Object) {
	c.add(o, control{field: "spec.validation", rule: RuleTLS,
		what:    "BackendTLSPolicy (Gateway API standard channel, Extended support): TLS to the targeted Services, verified by hostname and CA",
		instead: "carries over where the standby supports BackendTLSPolicy; else its upstream calls are plain HTTP"})
}
