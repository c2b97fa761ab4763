package gateway

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/finding"
)

// tlsSecret is a kubernetes.io/tls Secret in YAML.
func tlsSecret(ns, name string, certPEM, keyPEM []byte) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: %s}
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
`, name, ns, base64.StdEncoding.EncodeToString(certPEM), base64.StdEncoding.EncodeToString(keyPEM))
}

// httpsGateway is a Gateway with one HTTPS listener per hostname=secret pair, all on 443.
func httpsGateway(listeners ...string) string {
	var b strings.Builder
	b.WriteString(`---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: agentgateway
  listeners:
`)
	for i, l := range listeners {
		host, refs, _ := strings.Cut(l, "=")
		fmt.Fprintf(&b, "  - name: https-%d\n    protocol: HTTPS\n    port: 443\n", i)
		if host != "" {
			fmt.Fprintf(&b, "    hostname: %q\n", host)
		}
		b.WriteString("    tls:\n      certificateRefs:\n")
		for _, r := range strings.Split(refs, ",") {
			ns, name, ok := strings.Cut(r, "/")
			if ok {
				fmt.Fprintf(&b, "      - {name: %s, namespace: %s}\n", name, ns)
			} else {
				fmt.Fprintf(&b, "      - {name: %s}\n", r)
			}
		}
	}
	return b.String()
}

func TestListenerTLSFindings(t *testing.T) {
	ca := testenv.NewCA(t, "test-ca")
	good := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com", "*.apps.example.com"}})
	other := ca.Issue(t, testenv.Leaf{Names: []string{"other.example.com"}})
	expired := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	grant := `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: certs, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]
  to: [{group: "", kind: Secret}]
`
	cases := []struct {
		name string
		src  string
		want []string // rule: field: message part; empty = no finding
	}{
		{"valid", httpsGateway("api.example.com=good") + tlsSecret("infra", "good", good.CertPEM, good.KeyPEM), nil},
		{"several certificates and wildcard", httpsGateway("*.apps.example.com=other,good") + tlsSecret("infra", "good", good.CertPEM, good.KeyPEM) +
			tlsSecret("infra", "other", other.CertPEM, other.KeyPEM), nil},
		{"missing secret", httpsGateway("api.example.com=absent"),
			[]string{"warning gateway.certificate spec.listeners[0].tls.certificateRefs[0].name: Secret infra/absent is not in the input"}},
		{"produced by cert-manager", httpsGateway("api.example.com=issued") + `---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gw, namespace: infra}
spec: {secretName: issued, dnsNames: [api.example.com], issuerRef: {name: le, kind: ClusterIssuer}}
`, nil},
		{"a Certificate of another group produces nothing", httpsGateway("api.example.com=issued") + `---
apiVersion: example.com/v1
kind: Certificate
metadata: {name: gw, namespace: infra}
spec: {secretName: issued}
`, []string{"warning gateway.certificate spec.listeners[0].tls.certificateRefs[0].name: Secret infra/issued is not in the input"}},
		{"unsealed by Sealed Secrets", httpsGateway("api.example.com=sealed") + `---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: sealed, namespace: infra}
spec: {encryptedData: {tls.crt: AgBy, tls.key: AgBy}, template: {type: kubernetes.io/tls}}
`, nil},
		{"issued by cert-manager's gateway-shim", strings.Replace(httpsGateway("api.example.com=issued"), "metadata: {name: gw, namespace: infra}",
			"metadata: {name: gw, namespace: infra, annotations: {cert-manager.io/cluster-issuer: le}}", 1), nil},
		{"gateway-shim issues in the Gateway's namespace only", strings.Replace(httpsGateway("api.example.com=certs/issued"), "metadata: {name: gw, namespace: infra}",
			"metadata: {name: gw, namespace: infra, annotations: {cert-manager.io/issuer: le}}", 1) + grant,
			[]string{"warning gateway.certificate spec.listeners[0].tls.certificateRefs[0].name: Secret certs/issued is not in the input"}},
		{"malformed certificate", httpsGateway("=bad") + tlsSecret("infra", "bad", []byte("not a pem"), good.KeyPEM),
			[]string{"error gateway.certificate data.tls.crt: Secret infra/bad: malformed certificate: tls.crt holds no PEM CERTIFICATE block"}},
		{"key does not match", httpsGateway("=wrong") + tlsSecret("infra", "wrong", good.CertPEM, testenv.OtherKey(t)),
			[]string{"error gateway.certificate data.tls.key: Secret infra/wrong: private key does not match the certificate"}},
		{"expired", httpsGateway("api.example.com=old") + tlsSecret("infra", "old", expired.CertPEM, expired.KeyPEM),
			[]string{"error gateway.certificate data.tls.crt: Secret infra/old: certificate expired on"}},
		{"hostname not covered", httpsGateway("www.example.com=good") + tlsSecret("infra", "good", good.CertPEM, good.KeyPEM),
			[]string{"warning gateway.certificate-hostname spec.listeners[0].hostname: no certificate of listener \"https-0\" covers its hostname www.example.com (they carry api.example.com, *.apps.example.com)"}},
		{"wildcard listener needs a wildcard name", httpsGateway("*.example.com=good") + tlsSecret("infra", "good", good.CertPEM, good.KeyPEM),
			[]string{"warning gateway.certificate-hostname spec.listeners[0].hostname"}},
		{"cross namespace without grant", httpsGateway("api.example.com=certs/good") + tlsSecret("certs", "good", good.CertPEM, good.KeyPEM),
			[]string{"error gateway.reference-grant spec.listeners[0].tls.certificateRefs[0].namespace: certificateRef to Secret certs/good crosses namespaces without a ReferenceGrant"}},
		{"cross namespace with grant", httpsGateway("api.example.com=certs/good") + tlsSecret("certs", "good", good.CertPEM, good.KeyPEM) + grant, nil},
		{"same hostname twice on one port", httpsGateway("api.example.com=good", "api.example.com=good") + tlsSecret("infra", "good", good.CertPEM, good.KeyPEM),
			[]string{"error gateway.tls spec.listeners[1].hostname: HTTPS listeners infra/gw/https-0 and infra/gw/https-1 on port 443 have the same hostname"}},
		{"HTTP and HTTPS on one port", httpsGateway("api.example.com=good") + tlsSecret("infra", "good", good.CertPEM, good.KeyPEM) + `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: plain, namespace: infra}
spec:
  gatewayClassName: agentgateway
  listeners: [{name: http, protocol: HTTP, port: 443}]
`, []string{"error gateway.tls spec.listeners[0].protocol: listener infra/plain/http is HTTP on port 443, where listener infra/gw/https-0 is HTTPS"}},
		{"secret of another kind", strings.Replace(httpsGateway("=good"), "{name: good}", "{name: good, kind: ConfigMap}", 1),
			[]string{"error gateway.certificate spec.listeners[0].tls.certificateRefs[0].kind: certificateRef kind ConfigMap"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fs := Compile(parse(t, tc.src), Options{})
			checkFindings(t, fs, tc.want...)
			if len(tc.want) == 0 {
				l := cfg.Listeners[0]
				if l.TLS == nil || len(l.TLS.Certificates) == 0 {
					t.Fatalf("listener TLS = %+v", l.TLS)
				}
			}
		})
	}
}

func TestListenerTLSModel(t *testing.T) {
	ca := testenv.NewCA(t, "test-ca")
	kp := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	src := httpsGateway("api.example.com=good", "=mounted") + tlsSecret("infra", "good", kp.CertPEM, kp.KeyPEM) + `---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: tls, namespace: infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  frontend:
    tls: {minProtocolVersion: "1.3", alpnProtocols: [http/1.1], handshakeTimeout: 5s}
`
	cfg, fs := Compile(parse(t, src), Options{})
	for _, f := range fs {
		if f.Severity == finding.Error || f.Rule != ruleCertificate {
			t.Errorf("finding: %s", f)
		}
	}
	l0, l1 := cfg.Listeners[0], cfg.Listeners[1]
	if c := l0.TLS.Certificates[0]; !c.InInput || string(c.CertPEM) != string(kp.CertPEM) || c.ID() != "infra/good" {
		t.Errorf("certificate = %+v", c)
	}
	if c := l1.TLS.Certificates[0]; c.InInput || c.CertPEM != nil || c.ID() != "infra/mounted" {
		t.Errorf("mounted certificate = %+v", c)
	}
	if o := l0.TLS.Options; o == nil || o.MinVersion != "1.3" || o.HandshakeTimeout != 5*time.Second || o.ALPN[0] != "http/1.1" || l1.TLS.Options != o {
		t.Errorf("options = %+v", o)
	}
	// /configz shows the config as JSON: never a key.
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "PRIVATE KEY") || strings.Contains(string(b), base64.StdEncoding.EncodeToString(kp.KeyPEM)[:40]) {
		t.Errorf("the config's JSON holds the private key")
	}
}

func TestFrontendTLSFindings(t *testing.T) {
	ca := testenv.NewCA(t, "test-ca")
	kp := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	base := httpsGateway("api.example.com=good") + tlsSecret("infra", "good", kp.CertPEM, kp.KeyPEM)
	pol := func(tls string) string {
		return base + `---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: tls, namespace: infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  frontend:
    tls: ` + tls + "\n"
	}
	cases := []struct{ name, tls, want string }{
		{"ok", `{minProtocolVersion: "1.2", maxProtocolVersion: "1.3", cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]}`, ""},
		{"old version", `{minProtocolVersion: "1.1"}`, `error gateway.tls spec.frontend.tls.minProtocolVersion: TLS version "1.1": want 1.2 or 1.3 (1.0 and 1.1 are refused)`},
		{"max below min", `{minProtocolVersion: "1.3", maxProtocolVersion: "1.2"}`, "error gateway.tls spec.frontend.tls.maxProtocolVersion: maxProtocolVersion 1.2 is below minProtocolVersion 1.3"},
		{"weak suite", `{cipherSuites: [TLS_RSA_WITH_AES_128_CBC_SHA]}`, `error gateway.tls spec.frontend.tls.cipherSuites[0]: cipher suite "TLS_RSA_WITH_AES_128_CBC_SHA" is not one of Go's secure TLS 1.2 suites`},
		{"tls13 subset", `{cipherSuites: [TLS13_AES_256_GCM_SHA384]}`, "warning gateway.tls spec.frontend.tls.cipherSuites: TLS 1.3 suites cannot be narrowed in Go"},
		{"curve", `{keyExchangeGroups: [P-521]}`, `error gateway.tls spec.frontend.tls.keyExchangeGroups[0]: key exchange group "P-521"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, fs := Compile(parse(t, pol(tc.tls)), Options{})
			checkFindings(t, fs, oneOrNone(tc.want)...)
		})
	}
}

func TestBackendTLSPolicyCompile(t *testing.T) {
	ca := testenv.NewCA(t, "ca")
	base := `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: model, port: 8443}]}]
---
apiVersion: v1
kind: Service
metadata: {name: model, namespace: app}
spec: {ports: [{name: https, port: 8443}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca, namespace: app}
data: {ca.crt: ` + fmt.Sprintf("%q", ca.PEM) + `}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p, namespace: app}
spec:
  targetRefs: [{group: "", kind: Service, name: model, sectionName: SECTION}]
  validation:
VALIDATION
`
	cases := []struct {
		name, section, validation string
		want                      string // a finding's start; "" = none and TLS attached
		attached                  bool
	}{
		{"ca and hostname", "https", "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}]\n    hostname: model.app.svc", "", true},
		{"system roots", "https", "    wellKnownCACertificates: System\n    hostname: model.example.com", "", true},
		{"other port name", "metrics", "    wellKnownCACertificates: System\n    hostname: model.example.com", "", false},
		{"missing ConfigMap", "https", "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: nope}]\n    hostname: m", "error gateway.ca-certificate spec.validation.caCertificateRefs[0].name: CA ConfigMap app/nope is not in the input", false},
		{"both", "https", "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}]\n    wellKnownCACertificates: System\n    hostname: m", "error gateway.tls spec.validation: must not contain both", false},
		{"unknown well-known set", "https", "    wellKnownCACertificates: example.com/corp\n    hostname: m", "error gateway.tls spec.validation.wellKnownCACertificates", false},
		{"secret as CA", "https", "    caCertificateRefs: [{group: \"\", kind: Secret, name: ca}]\n    hostname: m", "error gateway.tls spec.validation.caCertificateRefs[0].kind", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(strings.Replace(base, "SECTION", tc.section, 1), "VALIDATION", tc.validation, 1)
			cfg, fs := Compile(parse(t, src), Options{Resolve: map[string]string{"model.app": "127.0.0.1:1"}})
			checkFindings(t, fs, oneOrNone(tc.want)...)
			b := cfg.Backends["Service/app/model:8443"]
			if valid := b.TLS != nil && b.TLS.Invalid == ""; valid != tc.attached {
				t.Fatalf("TLS attached = %v, want %v", valid, tc.attached)
			}
			// An invalid policy still makes its target TLS, failing every handshake: never plaintext.
			if tc.want != "" && (b.TLS == nil || b.TLS.Invalid == "") {
				t.Fatalf("TLS = %+v, want the policy's target failing closed (Invalid set)", b.TLS)
			}
			if b.TLS != nil && (b.TLS.ServerName == "" || b.TLS.Source != "BackendTLSPolicy app/p") {
				t.Errorf("TLS = %+v", b.TLS)
			}
		})
	}
}

// checkFindings wants exactly the findings want, in order, each given by a prefix of
// "severity rule field: message".
func checkFindings(t *testing.T, fs []finding.Finding, want ...string) {
	t.Helper()
	got := make([]string, len(fs))
	for i, f := range fs {
		got[i] = f.Severity.String() + " " + f.Rule + " " + f.Field + ": " + f.Message
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = strings.HasPrefix(got[i], want[i])
	}
	if !ok {
		t.Fatalf("findings:\n%s\nwant (prefixes):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// oneOrNone is want as a list: none when it is empty.
func oneOrNone(want string) []string {
	if want == "" {
		return nil
	}
	return []string{want}
}
