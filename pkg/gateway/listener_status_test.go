package gateway

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/finding"
)

// A listener whose certificateRef does not resolve says why with the Gateway API's reason, and
// stays in the config (routes still attach to it; its handshakes fail until the Secret is there).
func TestListenerResolvedRefs(t *testing.T) {
	ca := testenv.NewCA(t, "test-ca")
	good := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	grant := `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]
  to: [{group: "", kind: Secret, name: granted}]
`
	cases := []struct {
		name, src string
		reason    string // "" for resolved
	}{
		{"resolved", httpsGateway("=good") + tlsSecret("infra", "good", good.CertPEM, good.KeyPEM), ""},
		{"missing Secret", httpsGateway("=nope"), "InvalidCertificateRef"},
		{"malformed Secret", httpsGateway("=bad") + tlsSecret("infra", "bad", []byte("Hello world\n"), []byte("Hello world\n")), "InvalidCertificateRef"},
		{"unsupported kind", strings.Replace(httpsGateway("=good"), "{name: good}", "{name: good, kind: WrongKind}", 1) +
			tlsSecret("infra", "good", good.CertPEM, good.KeyPEM), "InvalidCertificateRef"},
		{"unsupported group", strings.Replace(httpsGateway("=good"), "{name: good}", "{name: good, group: wrong.example.com}", 1) +
			tlsSecret("infra", "good", good.CertPEM, good.KeyPEM), "InvalidCertificateRef"},
		{"other namespace, no grant", httpsGateway("=certs/other") + tlsSecret("certs", "other", good.CertPEM, good.KeyPEM), "RefNotPermitted"},
		{"other namespace, grant for another Secret", httpsGateway("=certs/other") + grant + tlsSecret("certs", "other", good.CertPEM, good.KeyPEM), "RefNotPermitted"},
		{"other namespace, granted", httpsGateway("=certs/granted") + grant + tlsSecret("certs", "granted", good.CertPEM, good.KeyPEM), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := Compile(parse(t, tc.src), Options{})
			g := cfg.Outcome.Gateways[NamespacedName{Namespace: "infra", Name: "gw"}]
			if g == nil || len(g.Listeners) != 1 {
				t.Fatalf("gateway outcome = %+v", g)
			}
			rr := g.Listeners[0].ResolvedRefs
			if rr.OK != (tc.reason == "") || (tc.reason != "" && rr.Reason != tc.reason) {
				t.Errorf("ResolvedRefs = %+v, want reason %q", rr, tc.reason)
			}
			if len(cfg.Listeners) != 1 || cfg.Listeners[0].TLS == nil {
				t.Errorf("listeners = %+v, want the HTTPS listener kept", cfg.Listeners)
			}
		})
	}
}

// Two Gateways' listeners on one port: an error that refuses the set in file mode (one address
// for all); with LeaveOutConflicts the younger Gateway's listener is left out and says
// Conflicted; with SeparateGateways (an address per Gateway) there is no conflict at all.
func TestListenerConflicts(t *testing.T) {
	ca := testenv.NewCA(t, "test-ca")
	good := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	gateways := func(second string) string {
		older := strings.Replace(httpsGateway("=good"), "namespace: infra}", `namespace: infra, creationTimestamp: "2020-01-01T00:00:00Z"}`, 1)
		return older + tlsSecret("infra", "good", good.CertPEM, good.KeyPEM) + `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: a-younger, namespace: infra, creationTimestamp: "2030-01-01T00:00:00Z"}
spec:
  gatewayClassName: agentgateway
  listeners:
` + second
	}
	sameHost := "  - {name: https, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: good}]}}\n"
	plain := "  - {name: http, protocol: HTTP, port: 443}\n"
	cases := []struct {
		name, src string
		opts      Options
		errors    int
		reason    string // Conflicted reason of the younger Gateway's listener
		listeners int
	}{
		{"same hostname, one address", gateways(sameHost), Options{}, 1, "", 2},
		{"same hostname, left out", gateways(sameHost), Options{LeaveOutConflicts: true}, 0, "HostnameConflict", 1},
		{"HTTP beside HTTPS, left out", gateways(plain), Options{LeaveOutConflicts: true}, 0, "ProtocolConflict", 1},
		{"same hostname, an address each", gateways(sameHost), Options{LeaveOutConflicts: true, SeparateGateways: true}, 0, "", 2},
		{"HTTP beside HTTPS, an address each", gateways(plain), Options{LeaveOutConflicts: true, SeparateGateways: true}, 0, "", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fs := Compile(parse(t, tc.src), tc.opts)
			errs := 0
			for _, f := range fs {
				if f.Severity == finding.Error {
					errs++
				}
			}
			if errs != tc.errors {
				t.Errorf("errors = %d, want %d: %v", errs, tc.errors, fs)
			}
			g := cfg.Outcome.Gateways[NamespacedName{Namespace: "infra", Name: "a-younger"}]
			if g == nil || len(g.Listeners) != 1 || g.Listeners[0].Conflicted.Reason != tc.reason {
				t.Errorf("younger gateway outcome = %+v, want Conflicted %q", g, tc.reason)
			}
			if old := cfg.Outcome.Gateways[NamespacedName{Namespace: "infra", Name: "gw"}]; old.Listeners[0].Conflicted.Reason != "" {
				t.Errorf("the older Gateway's listener is Conflicted: %+v", old.Listeners[0])
			}
			if len(cfg.Listeners) != tc.listeners {
				t.Errorf("listeners served = %d, want %d", len(cfg.Listeners), tc.listeners)
			}
		})
	}
}
