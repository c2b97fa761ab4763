package gateway

import (
	"slices"
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

func TestListenerTLSOptions(t *testing.T) {
	ca := testenv.NewCA(t, "test-ca")
	kp := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	gw := func(options string) string {
		return strings.Replace(httpsGateway("api.example.com=good"), "    tls:\n", "    tls:\n      options: {"+options+"}\n", 1) +
			tlsSecret("infra", "good", kp.CertPEM, kp.KeyPEM)
	}
	policy := func(tls string) string {
		return `---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: tls, namespace: infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  frontend:
    tls: ` + tls + "\n"
	}
	cases := []struct {
		name string
		src  string
		want []string   // findings (prefixes)
		opts TLSOptions // the listener's effective options, when no error
	}{
		{"all keys", gw(`gwctl.infergw.dev/min-version: "1.2", gwctl.infergw.dev/max-version: "1.2", ` +
			`gwctl.infergw.dev/cipher-suites: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", gwctl.infergw.dev/alpn: http/1.1`),
			nil, TLSOptions{MinVersion: "1.2", MaxVersion: "1.2", CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, ALPN: []string{"http/1.1"}}},
		{"unknown key of our prefix", gw(`gwctl.infergw.dev/min-tls: "1.3"`),
			[]string{`error gateway.tls spec.listeners[0].tls.options.gwctl.infergw.dev/min-tls: tls.options "gwctl.infergw.dev/min-tls" is not a key the dataplane knows`}, TLSOptions{}},
		{"another implementation's key", gw(`example.com/ocsp: "on", gwctl.infergw.dev/min-version: "1.3"`),
			[]string{`warning gateway.unsupported spec.listeners[0].tls.options.example.com/ocsp: tls.options "example.com/ocsp" belongs to another implementation`},
			TLSOptions{MinVersion: "1.3"}},
		{"old version", gw(`gwctl.infergw.dev/min-version: "1.1"`),
			[]string{`error gateway.tls spec.listeners[0].tls.options.gwctl.infergw.dev/min-version: tls.options gwctl.infergw.dev/min-version "1.1": want 1.2 or 1.3`}, TLSOptions{}},
		{"max below min", gw(`gwctl.infergw.dev/min-version: "1.3", gwctl.infergw.dev/max-version: "1.2"`),
			[]string{`error gateway.tls spec.listeners[0].tls.options.gwctl.infergw.dev/max-version: tls.options gwctl.infergw.dev/max-version 1.2 is below`}, TLSOptions{}},
		{"weak suite", gw(`gwctl.infergw.dev/cipher-suites: TLS_RSA_WITH_RC4_128_SHA`),
			[]string{`error gateway.tls spec.listeners[0].tls.options.gwctl.infergw.dev/cipher-suites: tls.options gwctl.infergw.dev/cipher-suites: cipher suite "TLS_RSA_WITH_RC4_128_SHA" is not one of Go's secure TLS 1.2 suites`}, TLSOptions{}},
		{"alpn not served", gw(`gwctl.infergw.dev/alpn: "h3,http/1.1"`),
			[]string{`error gateway.tls spec.listeners[0].tls.options.gwctl.infergw.dev/alpn: tls.options gwctl.infergw.dev/alpn: protocol "h3" is not served`}, TLSOptions{}},
		{"listener options override the policy's", gw(`gwctl.infergw.dev/alpn: http/1.1`) + policy(`{minProtocolVersion: "1.3", alpnProtocols: [h2]}`),
			nil, TLSOptions{MinVersion: "1.3", ALPN: []string{"http/1.1"}}},
		{"listener and policy allow no version together", gw(`gwctl.infergw.dev/max-version: "1.2"`) + policy(`{minProtocolVersion: "1.3"}`),
			[]string{"error gateway.tls spec.targetRefs[0]: listener https-0: its tls.options and the frontend.tls of infra/tls together allow no TLS version"}, TLSOptions{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fs := Compile(parse(t, tc.src), Options{})
			checkFindings(t, fs, tc.want...)
			if len(tc.want) > 0 && strings.HasPrefix(tc.want[0], "error") {
				return
			}
			o := cfg.Listeners[0].TLS.Options
			if o == nil || o.MinVersion != tc.opts.MinVersion || o.MaxVersion != tc.opts.MaxVersion ||
				!slices.Equal(o.CipherSuites, tc.opts.CipherSuites) || !slices.Equal(o.ALPN, tc.opts.ALPN) {
				t.Errorf("options = %+v, want %+v", o, tc.opts)
			}
		})
	}
}
