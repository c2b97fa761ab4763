package bootstrap

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

// tlsOptionsYAML has two HTTPS listeners tuned by the listener tls.options the dataplane reads:
// port 443 TLS 1.3 only and HTTP/1.1 only; port 8443 TLS 1.2 only, one cipher suite, h2 only.
const tlsOptionsYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners:
  - name: modern
    port: 443
    protocol: HTTPS
    tls:
      certificateRefs: [{name: cert}]
      options: {gwctl.infergw.dev/min-version: "1.3", gwctl.infergw.dev/alpn: http/1.1}
  - name: pinned
    port: 8443
    protocol: HTTPS
    tls:
      certificateRefs: [{name: cert}]
      options:
        gwctl.infergw.dev/max-version: "1.2"
        gwctl.infergw.dev/cipher-suites: TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        gwctl.infergw.dev/alpn: h2
        example.com/ignored: "yes"
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: a, port: 80}]}]
---
`

// TestListenerTLSOptionsHandshake checks with real handshakes (Go's client, and openssl
// s_client when installed) that a listener's tls.options take effect: versions, suites, ALPN.
func TestListenerTLSOptionsHandshake(t *testing.T) {
	ca := testenv.NewCA(t, "options CA")
	cert := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	a := upstream(t, "a", nil)
	dir := t.TempDir()
	writeConfig(t, dir, tlsOptionsYAML+secretYAML("default", "cert", cert))
	_, addrs, _ := startPorts(t, Settings{Config: []string{dir}, Resolve: map[string]string{"a.default": hostport(a)}}, 443, 8443)

	cases := []struct {
		name    string
		port    int32
		mod     func(*tls.Config)
		wantErr string
		version uint16
		suite   uint16
		alpn    string
	}{
		{name: "min 1.3: TLS 1.3", port: 443, version: tls.VersionTLS13, alpn: "http/1.1"},
		{name: "min 1.3: a TLS 1.2 client is refused", port: 443, mod: func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, wantErr: "protocol version"},
		{name: "alpn http/1.1: h2 is not chosen", port: 443, mod: func(c *tls.Config) { c.NextProtos = []string{"h2", "http/1.1"} }, version: tls.VersionTLS13, alpn: "http/1.1"},
		{name: "max 1.2 and one suite", port: 8443, version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, alpn: "h2"},
		{name: "a client without the suite is refused", port: 8443, mod: func(c *tls.Config) {
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
		}, wantErr: "handshake failure"},
		{name: "a TLS 1.3-only client is refused", port: 8443, mod: func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }, wantErr: "protocol version"},
		// Go's server lets an http/1.1 client reach an h2-only server as if it had no ALPN.
		{name: "alpn h2: an HTTP/1.1-only client gets no protocol", port: 8443, mod: func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }, version: tls.VersionTLS12, alpn: ""},
		{name: "alpn h2: an h3-only client is refused", port: 8443, mod: func(c *tls.Config) { c.NextProtos = []string{"h3"} }, wantErr: "no application protocol"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "api.example.com", NextProtos: []string{"h2", "http/1.1"}}
			if tc.mod != nil {
				tc.mod(cfg)
			}
			d := &tls.Dialer{Config: cfg}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := d.DialContext(ctx, "tcp", addrs[tc.port])
			if tc.wantErr != "" {
				if err == nil {
					c.Close()
					t.Fatalf("handshake succeeded, want an error with %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cs := c.(*tls.Conn).ConnectionState()
			if cs.Version != tc.version || (tc.suite != 0 && cs.CipherSuite != tc.suite) || cs.NegotiatedProtocol != tc.alpn {
				t.Fatalf("negotiated %s %s %q, want %s %s %q", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), cs.NegotiatedProtocol,
					tls.VersionName(tc.version), tls.CipherSuiteName(tc.suite), tc.alpn)
			}
		})
	}

	t.Run("requests are served on the tuned listeners", func(t *testing.T) {
		for _, port := range []int32{443, 8443} {
			resp, body := get(t, tlsClient(ca.Pool(), addrs[port], nil), "https://api.example.com/", nil)
			if resp.StatusCode != 200 || !strings.HasPrefix(body, "a:") {
				t.Fatalf("port %d: status %d %q", port, resp.StatusCode, body)
			}
		}
	})

	t.Run("openssl s_client", func(t *testing.T) {
		openssl := testenv.Binary(t, "openssl", "apt-get install openssl")
		caFile := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, oc := range []struct {
			port   int32
			args   []string
			ok     bool
			expect string
		}{
			{443, []string{"-tls1_3"}, true, "New,TLSv1.3"},
			{443, []string{"-tls1_2"}, false, ""},
			{8443, []string{"-tls1_2"}, true, "Cipheris ECDHE-ECDSA-AES256-GCM-SHA384"},
			{8443, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, false, ""},
			{8443, []string{"-tls1_3"}, false, ""},
			{8443, []string{"-alpn", "h2"}, true, "ALPNprotocol:h2"},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			args := append([]string{"s_client", "-connect", addrs[oc.port], "-CAfile", caFile, "-servername", "api.example.com"}, oc.args...)
			cmd := exec.CommandContext(ctx, openssl, args...)
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			cancel()
			s := strings.NewReplacer(" ", "", "\t", "").Replace(string(out))
			connected := err == nil && strings.Contains(s, "New,TLSv1.")
			if connected != oc.ok {
				t.Fatalf("openssl %d %v: connected=%v (err %v), want %v:\n%s", oc.port, oc.args, connected, err, oc.ok, s)
			}
			if oc.expect != "" && !strings.Contains(s, strings.ReplaceAll(oc.expect, " ", "")) {
				t.Errorf("openssl %d %v: output lacks %q:\n%s", oc.port, oc.args, oc.expect, s)
			}
		}
	})
}
