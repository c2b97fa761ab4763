package bootstrap

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

// tlsUpstream is an HTTPS server with a certificate for names signed by ca; with clientCAs it
// requires a client certificate they signed. It answers with the client certificate's name.
func tlsUpstream(t *testing.T, ca *testenv.CA, names []string, clientCAs *x509.CertPool) *httptest.Server {
	t.Helper()
	kp := ca.Issue(t, testenv.Leaf{Names: names})
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := "none"
		if len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.Header().Set("X-Client-Cert", client)
		w.Header().Set("X-Upstream-Proto", r.Proto)
		fmt.Fprint(w, "tls upstream")
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some cases test
	s.TLS = &tls.Config{Certificates: []tls.Certificate{kp.TLS}}
	if clientCAs != nil {
		s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		s.TLS.ClientCAs = clientCAs
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func serviceYAML(name string, port int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\nspec:\n  ports: [{name: https, port: %d}]\n---\n", name, port)
}

func backendTLSPolicy(name, svc, hostname, extra string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: %s, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: %s, sectionName: https}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
    hostname: %s
%s---
`, name, svc, hostname, extra)
}

func staticBackend(name, addr, tls string) string {
	host, port, _ := strings.Cut(addr, ":")
	return fmt.Sprintf(`apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: %s, namespace: default}
spec:
  static: {host: %s, port: %s}
  policies:
    tls: %s
---
`, name, host, port, tls)
}

// TestUpstreamTLS sends requests through BackendTLSPolicies and agentgateway backend TLS
// policies to real TLS upstreams: verified by CA, hostname and subjectAltNames, with a client
// certificate where the upstream requires one; every verification failure is a 502 in the
// client's error shape with the reason, and never a retry over plain HTTP.
func TestUpstreamTLS(t *testing.T) {
	ca, otherCA := testenv.NewCA(t, "upstream CA"), testenv.NewCA(t, "someone else")
	client := ca.Issue(t, testenv.Leaf{Names: []string{"gateway-client"}, Client: true})
	ok := tlsUpstream(t, ca, []string{"ok.internal"}, nil)
	stranger := tlsUpstream(t, otherCA, []string{"ok.internal"}, nil)
	mtls := tlsUpstream(t, ca, []string{"mtls.internal"}, ca.Pool())
	var plainHits atomic.Int64
	plain := upstream(t, "plain", func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) })

	routes := map[string]string{ // path -> backendRef
		"/ok": "{name: ok, port: 8443}", "/wrongca": "{name: wrongca, port: 8443}", "/wrongname": "{name: wrongname, port: 8443}",
		"/san": "{name: san, port: 8443}", "/sanbad": "{name: sanbad, port: 8443}", "/mtls": "{name: mtls, port: 8443}",
		"/plain":      "{name: plain, port: 8443}",
		"/skip":       "{group: agentgateway.dev, kind: AgentgatewayBackend, name: skip}",
		"/agw-mtls":   "{group: agentgateway.dev, kind: AgentgatewayBackend, name: agw-mtls}",
		"/agw-nocert": "{group: agentgateway.dev, kind: AgentgatewayBackend, name: agw-nocert}",
	}
	var rules strings.Builder
	rules.WriteString("  rules:\n")
	for p, ref := range routes {
		fmt.Fprintf(&rules, "  - matches: [{path: {type: PathPrefix, value: %s}}]\n    backendRefs: [%s]\n", p, ref)
	}
	cfg := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
  tls:
    backend:
      clientCertificateRef: {name: gw-client}
---
` + httpRoute("r", rules.String()) + caConfigMap("default", "ca", ca.PEM) + secretYAML("default", "gw-client", client)
	resolve := map[string]string{}
	for svc, s := range map[string]*httptest.Server{"ok": ok, "wrongca": stranger, "wrongname": ok, "san": ok, "sanbad": ok, "mtls": mtls, "plain": plain} {
		cfg += serviceYAML(svc, 8443)
		resolve[svc+".default"] = strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
	}
	cfg += backendTLSPolicy("ok", "ok", "ok.internal", "") +
		backendTLSPolicy("wrongca", "wrongca", "ok.internal", "") +
		backendTLSPolicy("wrongname", "wrongname", "other.internal", "") +
		backendTLSPolicy("san", "san", "sni.internal", "    subjectAltNames: [{type: Hostname, hostname: ok.internal}]\n") +
		backendTLSPolicy("sanbad", "sanbad", "ok.internal", "    subjectAltNames: [{type: URI, uri: \"spiffe://cluster.local/ns/default/sa/model\"}]\n") +
		backendTLSPolicy("mtls", "mtls", "mtls.internal", "") +
		backendTLSPolicy("plain", "plain", "ok.internal", "") +
		staticBackend("skip", hostport2(stranger), "{insecureSkipVerify: All}") +
		staticBackend("agw-mtls", hostport2(mtls), "{sni: mtls.internal, caCertificateRefs: [{name: ca}], mtlsCertificateRef: [{name: gw-client}]}") +
		staticBackend("agw-nocert", hostport2(mtls), "{sni: mtls.internal, caCertificateRefs: [{name: ca}]}")
	dir := t.TempDir()
	writeConfig(t, dir, cfg)
	_, addrs, logs := startPorts(t, Settings{Config: []string{dir}, Resolve: resolve}, 0)

	cases := []struct {
		path   string
		status int
		client string // the client certificate the upstream saw
		errMsg string // the error message's start
	}{
		{"/ok", 200, "none", ""}, // the upstream asks for no client certificate
		{"/wrongca", 502, "", "upstream TLS handshake failed: certificate signed by an unknown authority"},
		{"/wrongname", 502, "", "upstream TLS handshake failed: certificate not valid for other.internal"},
		{"/san", 200, "none", ""},
		{"/sanbad", 502, "", "upstream TLS handshake failed: certificate not verified: certificate names ok.internal match none of the subjectAltNames spiffe://"},
		{"/mtls", 200, "gateway-client", ""},
		{"/plain", 502, "", "upstream TLS handshake failed: the upstream does not speak TLS"},
		{"/skip", 200, "none", ""},
		{"/agw-mtls", 200, "gateway-client", ""},
		{"/agw-nocert", 502, "", "upstream TLS handshake failed: the upstream refused the handshake"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get("http://" + addrs[0] + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 200 {
				if got := resp.Header.Get("X-Client-Cert"); got != tc.client {
					t.Errorf("upstream saw client certificate %q, want %q", got, tc.client)
				}
				return
			}
			var e struct {
				Error struct{ Message, Type string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Type != "server_error" || !strings.HasPrefix(e.Error.Message, tc.errMsg) {
				t.Fatalf("error body %s, want a server_error starting %q", body, tc.errMsg)
			}
		})
	}
	if plainHits.Load() != 0 {
		t.Errorf("a TLS backend was called over plain HTTP %d times", plainHits.Load())
	}
	if !strings.Contains(logs.String(), `"cause":"tls"`) {
		t.Errorf("no upstream error line with cause tls:\n%s", grep(logs.String(), "upstream error"))
	}
}

func hostport2(s *httptest.Server) string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
}
