package controls

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

func TestControlsListenerTLS(t *testing.T) {
	dir := t.TempDir()
	src := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: agentgateway
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: issued
    port: 443
    protocol: HTTPS
    hostname: api.example.com
    tls: {certificateRefs: [{name: api-tls, namespace: certs}]}
  - name: unknown
    port: 443
    protocol: HTTPS
    hostname: other.example.com
    tls: {certificateRefs: [{name: nowhere}]}
  - name: tuned
    port: 8443
    protocol: HTTPS
    tls:
      certificateRefs: [{name: api-tls, namespace: certs}]
      options: {gwctl.infergw.dev/min-version: "1.3", gwctl.infergw.dev/alpn: http/1.1}
  tls:
    frontend:
      default: {validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]}}
      perPort:
      - {port: 8443, tls: {validation: {mode: AllowInsecureFallback, caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]}}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: api, namespace: certs}
spec: {secretName: api-tls, dnsNames: [api.example.com], issuerRef: {name: letsencrypt, kind: ClusterIssuer}}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gw, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]
  to: [{group: "", kind: Secret}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: tls, namespace: infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  frontend: {tls: {minProtocolVersion: "1.3"}}
`
	if err := os.WriteFile(filepath.Join(dir, "gw.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Load([]string{dir}, nil, manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	rep := Compute(objs)
	want := map[string]struct {
		status Status
		text   string
	}{
		"http": {Absent, "plain HTTP"},
		"issued": {Implemented, "Secret certs/api-tls from cert-manager Certificate certs/api (ClusterIssuer letsencrypt); " +
			"client certificates required, signed by ConfigMap infra/clients (spec.tls.frontend.default); frontend.tls of infra/tls: min TLS 1.3"},
		"tuned":   {Implemented, "tls.options min-version 1.3, alpn http/1.1; client certificates asked for, not required (spec.tls.frontend.perPort, AllowInsecureFallback)"},
		"unknown": {Partial, "Secret infra/nowhere is neither in the input nor made by an object of it"},
	}
	if len(rep.Listeners) != 4 {
		t.Fatalf("listeners = %+v", rep.Listeners)
	}
	for _, l := range rep.Listeners {
		w := want[l.Listener]
		if l.Status != w.status || !strings.Contains(l.Detail+" "+l.Why, w.text) {
			t.Errorf("%s: %s %q %q, want %s with %q", l.Listener, l.Status, l.Detail, l.Why, w.status, w.text)
		}
	}
}
