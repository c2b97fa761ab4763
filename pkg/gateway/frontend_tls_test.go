package gateway

import (
	"strconv"
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

func TestFrontendClientValidation(t *testing.T) {
	ca := testenv.NewCA(t, "test-ca")
	clients := testenv.NewCA(t, "clients")
	kp := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	gateway := func(frontend string) string {
		return `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: agentgateway
  listeners:
  - {name: a, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: good}]}}
  - {name: b, protocol: HTTPS, port: 8443, tls: {certificateRefs: [{name: good}]}}
  - {name: plain, protocol: HTTP, port: 80}
  tls:
    frontend:
` + frontend + tlsSecret("infra", "good", kp.CertPEM, kp.KeyPEM) + `---
apiVersion: v1
kind: ConfigMap
metadata: {name: clients, namespace: infra}
data: {ca.crt: ` + strconv.Quote(string(clients.PEM)) + `}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shared, namespace: pki}
data: {ca.crt: ` + strconv.Quote(string(clients.PEM)) + `}
`
	}
	grant := `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: ca, namespace: pki}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]
  to: [{group: "", kind: ConfigMap}]
`
	def := `      default:
        validation:
          caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]
`
	cases := []struct {
		name  string
		src   string
		want  []string // findings (prefixes)
		modes map[string]string
		// resolved is the ResolvedRefs reason of the HTTPS listeners left out (modes nil).
		resolved string
	}{
		{"default on every HTTPS listener", gateway(def), nil, map[string]string{"a": ModeAllowValidOnly, "b": ModeAllowValidOnly}, ""},
		{"perPort overrides the default", gateway(def + `      perPort:
      - port: 8443
        tls:
          validation:
            mode: AllowInsecureFallback
            caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]
`), []string{"warning gateway.tls spec.tls.frontend.perPort[0].tls.validation.mode: mode AllowInsecureFallback: connections without a valid client certificate are accepted"},
			map[string]string{"a": ModeAllowValidOnly, "b": ModeAllowInsecureFallback}, ""},
		{"perPort only", gateway(`      default: {}
      perPort:
      - {port: 443, tls: {validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]}}}
`), nil, map[string]string{"a": ModeAllowValidOnly, "b": ""}, ""},
		{"CA in another namespace with a grant", gateway(`      default:
        validation:
          caCertificateRefs: [{group: "", kind: ConfigMap, name: shared, namespace: pki}]
`) + grant, nil, map[string]string{"a": ModeAllowValidOnly, "b": ModeAllowValidOnly}, ""},
		{"CA in another namespace without a grant", gateway(`      default:
        validation:
          caCertificateRefs: [{group: "", kind: ConfigMap, name: shared, namespace: pki}]
`), []string{"error gateway.reference-grant spec.tls.frontend.default.validation.caCertificateRefs[0].namespace: caCertificateRef to ConfigMap pki/shared crosses namespaces without a ReferenceGrant"}, nil, "RefNotPermitted"},
		{"missing CA ConfigMap leaves the listeners out", gateway(`      default:
        validation:
          caCertificateRefs: [{group: "", kind: ConfigMap, name: absent}]
`), []string{"error gateway.ca-certificate spec.tls.frontend.default.validation.caCertificateRefs[0].name: CA ConfigMap infra/absent is not in the input"}, nil, "InvalidCACertificateRef"},
		{"a Secret is not a CA kind the dataplane reads", gateway(`      default:
        validation:
          caCertificateRefs: [{group: "", kind: Secret, name: clients}]
`), []string{"error gateway.ca-certificate spec.tls.frontend.default.validation.caCertificateRefs[0].kind: caCertificateRef kind Secret"}, nil, "InvalidCACertificateKind"},
		{"an invalid perPort leaves only its listener out", gateway(def + `      perPort:
      - {port: 8443, tls: {validation: {caCertificateRefs: [{group: "", kind: Service, name: clients}]}}}
`), []string{"error gateway.ca-certificate spec.tls.frontend.perPort[0].tls.validation.caCertificateRefs[0].kind: caCertificateRef kind Service"},
			map[string]string{"a": ModeAllowValidOnly}, "InvalidCACertificateKind"},
		{"perPort without an HTTPS listener", gateway(def + `      perPort:
      - {port: 9443, tls: {validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]}}}
`), []string{"warning gateway.tls spec.tls.frontend.perPort[0].port: spec.tls.frontend.perPort: Gateway infra/gw has no HTTPS listener on port 9443"},
			map[string]string{"a": ModeAllowValidOnly, "b": ModeAllowValidOnly}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fs := Compile(parse(t, tc.src), Options{})
			checkFindings(t, fs, tc.want...)
			served := map[string]string{}
			for _, l := range cfg.Listeners {
				if l.TLS == nil {
					continue
				}
				served[l.Name] = ""
				if v := l.TLS.ClientValidation; v != nil {
					served[l.Name] = v.Mode
					if !strings.Contains(string(v.CAPEM), "BEGIN CERTIFICATE") || len(v.CASources) != 1 {
						t.Errorf("listener %s: validation %+v", l.Name, v)
					}
				}
			}
			if tc.modes == nil { // an error: no HTTPS listener is served without its validation
				if len(served) != 0 {
					t.Errorf("HTTPS listeners served: %v", served)
				}
			}
			st := cfg.Outcome.Gateways[NamespacedName{Namespace: "infra", Name: "gw"}]
			insecure := false
			for _, lo := range st.Listeners {
				_, isServed := served[lo.Name]
				insecure = insecure || tc.modes[lo.Name] == ModeAllowInsecureFallback
				switch {
				case lo.Port == 80 || isServed:
					if !lo.Accepted.OK || !lo.ResolvedRefs.OK {
						t.Errorf("served listener %s status accepted %+v resolved %+v", lo.Name, lo.Accepted, lo.ResolvedRefs)
					}
				case lo.Accepted.OK || lo.Accepted.Reason != "NoValidCACertificate" || lo.ResolvedRefs.Reason != tc.resolved:
					t.Errorf("listener %s status accepted %+v resolved %+v, want NoValidCACertificate and %s", lo.Name, lo.Accepted, lo.ResolvedRefs, tc.resolved)
				}
			}
			if st.InsecureFrontend != insecure {
				t.Errorf("InsecureFrontend %v, want %v", st.InsecureFrontend, insecure)
			}
			if tc.modes == nil {
				return
			}
			if len(served) != len(tc.modes) {
				t.Fatalf("served %v, want %v", served, tc.modes)
			}
			for n, m := range tc.modes {
				if served[n] != m {
					t.Errorf("listener %s mode %q, want %q", n, served[n], m)
				}
			}
		})
	}
}
