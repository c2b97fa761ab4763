package gateway

import (
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

// A Gateway's spec.tls.backend.clientCertificateRef that does not resolve sets the Gateway's
// ResolvedRefs with the Gateway API's reasons (what Kubernetes mode writes to its status).
func TestBackendClientCertificateRef(t *testing.T) {
	ca := testenv.NewCA(t, "clients")
	kp := ca.Issue(t, testenv.Leaf{Names: []string{"gateway-client"}})
	gateway := func(ref string) string {
		return `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: agentgateway
  listeners: [{name: http, protocol: HTTP, port: 80}]
  tls:
    backend:
      clientCertificateRef: ` + ref + `
` + tlsSecret("infra", "client", kp.CertPEM, kp.KeyPEM) + tlsSecret("pki", "client", kp.CertPEM, kp.KeyPEM) + `---
apiVersion: v1
kind: Secret
metadata: {name: malformed, namespace: infra}
type: kubernetes.io/tls
data: {tls.crt: bm90IGEgY2VydA==, tls.key: bm90IGEga2V5}
`
	}
	cases := []struct {
		name, ref, reason string
	}{
		{"a Secret in the Gateway's namespace", `{name: client}`, ""},
		{"a Secret of another namespace without a grant", `{name: client, namespace: pki}`, "RefNotPermitted"},
		{"a kind that is not a Secret", `{group: "", kind: ConfigMap, name: client}`, "InvalidClientCertificateRef"},
		{"a group that is not core", `{group: example.com, kind: Secret, name: client}`, "InvalidClientCertificateRef"},
		{"a missing Secret", `{name: absent}`, "InvalidClientCertificateRef"},
		{"a malformed Secret", `{name: malformed}`, "InvalidClientCertificateRef"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := Compile(parse(t, gateway(tc.ref)), Options{})
			st := cfg.Outcome.Gateways[NamespacedName{Namespace: "infra", Name: "gw"}]
			if st == nil {
				t.Fatal("no outcome for the Gateway")
			}
			if tc.reason == "" {
				if !st.ResolvedRefs.OK {
					t.Fatalf("ResolvedRefs %+v, want True", st.ResolvedRefs)
				}
				return
			}
			if st.ResolvedRefs.OK || st.ResolvedRefs.Reason != tc.reason {
				t.Errorf("ResolvedRefs %+v, want False %s", st.ResolvedRefs, tc.reason)
			}
		})
	}
}
