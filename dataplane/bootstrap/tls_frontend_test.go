package bootstrap

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

// frontendYAML validates client certificates on port 443 (the default, AllowValidOnly) and
// asks for them without requiring them on port 8443 (perPort, AllowInsecureFallback); port 9443
// requires certificates of another CA (perPort).
const frontendYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners:
  - {name: lenient, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  - {name: strict, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  - {name: partner, port: 9443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]
      perPort:
      - port: 8443
        tls:
          validation:
            mode: AllowInsecureFallback
            caCertificateRefs: [{group: "", kind: ConfigMap, name: clients}]
      - port: 9443
        tls:
          validation:
            caCertificateRefs: [{group: "", kind: ConfigMap, name: partners}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: a, port: 80}]}]
---
`

// TestFrontendClientCertificates sends requests with a valid client certificate, one signed by
// another CA, and none, to a listener that requires one and to one that only asks.
func TestFrontendClientCertificates(t *testing.T) {
	ca, clients, stranger := testenv.NewCA(t, "server CA"), testenv.NewCA(t, "client CA"), testenv.NewCA(t, "stranger")
	cert := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	valid := clients.Issue(t, testenv.Leaf{Names: []string{"alice"}, Client: true})
	invalid := stranger.Issue(t, testenv.Leaf{Names: []string{"mallory"}, Client: true})
	a := upstream(t, "a", nil)
	dir := t.TempDir()
	writeConfig(t, dir, frontendYAML+secretYAML("default", "cert", cert)+caConfigMap("default", "clients", clients.PEM)+caConfigMap("default", "partners", stranger.PEM))
	_, addrs, _ := startPorts(t, Settings{Config: []string{dir}, Resolve: map[string]string{"a.default": hostport(a)}}, 443, 8443, 9443, 0)

	withCert := func(kp *testenv.KeyPair) func(*tls.Config) {
		return func(c *tls.Config) {
			if kp != nil {
				// Always sent (Go's client would hold back a certificate the server's CA list
				// does not name).
				c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp.TLS, nil }
			}
		}
	}
	cases := []struct {
		name    string
		port    int32
		cert    *testenv.KeyPair
		wantErr string // "" = 200 from the upstream
	}{
		{"AllowValidOnly: valid certificate", 443, &valid, ""},
		{"AllowValidOnly: certificate of another CA", 443, &invalid, "unknown certificate authority"},
		{"AllowValidOnly: no certificate", 443, nil, "certificate required"},
		{"AllowInsecureFallback: valid certificate", 8443, &valid, ""},
		{"AllowInsecureFallback: certificate of another CA", 8443, &invalid, ""},
		{"AllowInsecureFallback: no certificate", 8443, nil, ""},
		{"perPort CA: its certificate", 9443, &invalid, ""},
		{"perPort CA: the default CA's certificate", 9443, &valid, "unknown certificate authority"},
		// A binding of every port serves the stricter of the two listeners for their hostname.
		{"binding of every port: no certificate", 0, nil, "certificate required"},
		{"binding of every port: valid certificate", 0, &valid, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantErr != "" {
				// With TLS 1.3 the server refuses after the client's handshake is done: its alert
				// is what the client reads next (a request written first may race the close).
				cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "api.example.com"}
				withCert(tc.cert)(cfg)
				conn, err := tls.Dial("tcp", addrs[tc.port], cfg)
				if err == nil {
					_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
					_, err = conn.Read(make([]byte, 1))
					conn.Close()
				}
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			c := tlsClient(ca.Pool(), addrs[tc.port], withCert(tc.cert))
			resp, err := c.Get("https://api.example.com/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("X-Upstream") != "a" {
				t.Fatalf("status %d from %q", resp.StatusCode, resp.Header.Get("X-Upstream"))
			}
		})
	}

	t.Run("no session resumption past the client check", func(t *testing.T) {
		// A session verified by the partner listener's CA must not resume on the listener of
		// another CA, where its certificate would pass without that listener's check (Go's
		// server re-verifies resumed chains; this holds it for the dataplane's configuration).
		cache := tls.NewLRUClientSessionCache(4)
		resumes := func(port int32) (bool, error) {
			cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "api.example.com", ClientSessionCache: cache, MaxVersion: tls.VersionTLS12}
			withCert(&invalid)(cfg)
			conn, err := tls.Dial("tcp", addrs[port], cfg)
			if err != nil {
				return false, err
			}
			defer conn.Close()
			_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, err = conn.Read(make([]byte, 1))
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				err = nil // nothing to read: the server kept the connection
			}
			return conn.ConnectionState().DidResume, err
		}
		if _, err := resumes(9443); err != nil {
			t.Fatal(err)
		}
		if again, err := resumes(9443); err != nil || !again {
			t.Fatalf("no resumption on the same listener (%v): the check below would prove nothing", err)
		}
		resumed, err := resumes(443)
		if err == nil || resumed {
			t.Fatalf("the partner's certificate was accepted on the default CA's listener (resumed %v)", resumed)
		}
	})
}
