package portable_test

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

// TLS in the portability report: an HTTPS listener's certificates carry over, a BackendTLSPolicy
// carries over where supported, listener tls.options and agentgateway TLS policies do not.
func TestPortableTLS(t *testing.T) {
	src := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: agentgateway
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls: {certificateRefs: [{name: gw-tls}], options: {example.com/min-version: "1.3"}}
  tls:
    frontend:
      default: {validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: up, namespace: infra}
spec:
  targetRefs: [{group: "", kind: Service, name: up}]
  validation: {hostname: up.internal, wellKnownCACertificates: System}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: tls, namespace: infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  frontend: {tls: {minProtocolVersion: "1.3"}}
`
	objs, err := manifest.Parse("tls.yaml", []byte(src), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	r := check(t, objs)
	want := map[string]bool{ // what -> lost
		"HTTPS listener https terminates TLS with 1 certificateRefs to Secrets (Gateway API Core)": false,
		"tls.options of listener https are implementation-specific keys":                           true,
		"client certificate validation of the HTTPS listeners (Gateway API standard channel":       false,
		"BackendTLSPolicy (Gateway API standard channel, Extended support)":                        false,
		"AgentgatewayPolicy infra/tls: TLS versions, cipher suites and ALPN":                       true,
	}
	for what, lost := range want {
		found := false
		for _, it := range r.Items {
			if strings.HasPrefix(it.What, what) {
				found = true
				if it.Lost != lost {
					t.Errorf("%s: lost %v, want %v", what, it.Lost, lost)
				}
			}
		}
		if !found {
			t.Errorf("no item %q among %+v", what, r.Items)
		}
	}
}
