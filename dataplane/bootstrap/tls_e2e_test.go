package bootstrap

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

// httpsGatewayYAML has two HTTPS listeners on port 443 told apart by hostname (one certificate
// from the config, one from the secrets directory, one listener with two certificates) and an
// HTTP listener on port 80 whose route redirects to HTTPS.
const httpsGatewayYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: api
    port: 443
    protocol: HTTPS
    hostname: api.example.com
    tls: {certificateRefs: [{name: api-cert}]}
  - name: apps
    port: 443
    protocol: HTTPS
    hostname: "*.apps.example.com"
    tls: {certificateRefs: [{name: apps-rsa}, {name: apps-mounted}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: api}]
  rules: [{backendRefs: [{name: a, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: apps, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: apps}]
  rules: [{backendRefs: [{name: b, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: to-https, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules:
  - filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]
---
`

type httpsEnv struct {
	ca      *testenv.CA
	api     testenv.KeyPair
	mounted testenv.KeyPair
	addrs   map[int32]string
	logs    *syncBuffer
	dir     string
	secrets string
	d       *Dataplane
}

func startHTTPS(t *testing.T, ports ...int32) *httpsEnv {
	t.Helper()
	e := &httpsEnv{ca: testenv.NewCA(t, "gateway test CA"), dir: t.TempDir(), secrets: t.TempDir()}
	e.api = e.ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	other := e.ca.Issue(t, testenv.Leaf{Names: []string{"only.apps.example.com"}})
	e.mounted = e.ca.Issue(t, testenv.Leaf{Names: []string{"*.apps.example.com"}})
	testenv.WriteSecret(t, e.secrets, "apps-mounted", e.mounted)
	a, b := upstream(t, "a", nil), upstream(t, "b", nil)
	writeConfig(t, e.dir, httpsGatewayYAML+secretYAML("default", "api-cert", e.api)+secretYAML("default", "apps-rsa", other))
	e.d, e.addrs, e.logs = startPorts(t, Settings{Config: []string{e.dir}, SecretsDir: e.secrets,
		Resolve: map[string]string{"a.default": hostport(a), "b.default": hostport(b)}}, ports...)
	return e
}

func TestHTTPSListeners(t *testing.T) {
	e := startHTTPS(t, 443, 80)
	https := e.addrs[443]
	cases := []struct {
		name      string
		host, sni string
		mod       func(*tls.Config)
		wantErr   string // handshake or request error
		status    int
		upstream  string
		certName  string // a DNS name of the certificate served
		proto     string
	}{
		{name: "exact hostname over h2", host: "api.example.com", status: 200, upstream: "a", certName: "api.example.com", proto: "HTTP/2.0"},
		{name: "HTTP/1.1 by ALPN", host: "api.example.com", mod: func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }, status: 200, upstream: "a", proto: "HTTP/1.1"},
		{name: "wildcard listener, certificate picked by SNI", host: "only.apps.example.com", status: 200, upstream: "b", certName: "only.apps.example.com"},
		{name: "wildcard listener, second certificate", host: "x.apps.example.com", status: 200, upstream: "b", certName: "*.apps.example.com"},
		{name: "unknown server name", host: "unknown.example.com", wantErr: "tls"},
		{name: "no server name", host: "api.example.com", sni: "-", mod: func(c *tls.Config) { c.InsecureSkipVerify = true }, wantErr: "tls"},
		{name: "host of another listener on the connection", host: "x.apps.example.com", sni: "api.example.com", status: 421},
		{name: "TLS 1.1 refused", host: "api.example.com", mod: func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, wantErr: "protocol version"},
		{name: "TLS 1.2 accepted", host: "api.example.com", mod: func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, status: 200, upstream: "a"},
		{name: "untrusted by a client with other roots", host: "api.example.com", mod: func(c *tls.Config) { c.RootCAs = testenv.NewCA(t, "other").Pool() }, wantErr: "certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mod := func(c *tls.Config) {
				switch tc.sni {
				case "":
					c.ServerName = tc.host
				case "-":
					c.ServerName = ""
				default:
					c.ServerName = tc.sni
				}
				if tc.mod != nil {
					tc.mod(c)
				}
			}
			c := tlsClient(e.ca.Pool(), https, mod)
			req, _ := http.NewRequest("GET", "https://"+tc.host+"/v1/x", nil)
			if tc.sni == "-" {
				req.URL.Host = "127.0.0.1"
				req.Host = tc.host
			}
			resp, err := c.Do(req)
			if tc.wantErr != "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("want an error with %q, got %d", tc.wantErr, resp.StatusCode)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("X-Upstream") != tc.upstream {
				t.Fatalf("status %d upstream %q body %s", resp.StatusCode, resp.Header.Get("X-Upstream"), body)
			}
			if tc.certName != "" && resp.TLS.PeerCertificates[0].DNSNames[0] != tc.certName {
				t.Errorf("certificate for %v, want %s", resp.TLS.PeerCertificates[0].DNSNames, tc.certName)
			}
			if tc.proto != "" && resp.Proto != tc.proto {
				t.Errorf("proto %s, want %s", resp.Proto, tc.proto)
			}
		})
	}

	t.Run("plain HTTP on the HTTPS port", func(t *testing.T) {
		resp, err := http.Get("http://" + https + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("redirect to HTTPS", func(t *testing.T) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", "http://"+e.addrs[80]+"/v1/models?x=1", nil)
		req.Host = "api.example.com"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://api.example.com/v1/models?x=1" {
			t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestHTTPSAndHTTPOnOneBinding serves every Gateway port on one address: the first byte of a
// connection says TLS or not, and each protocol reaches only its listeners' routes.
func TestHTTPSAndHTTPOnOneBinding(t *testing.T) {
	e := startHTTPS(t, 0)
	addr := e.addrs[0]
	c := tlsClient(e.ca.Pool(), addr, nil)
	resp, err := c.Get("https://api.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Upstream") != "a" {
		t.Fatalf("https: status %d upstream %q", resp.StatusCode, resp.Header.Get("X-Upstream"))
	}
	// Plain HTTP reaches the HTTP listener's redirect, never the HTTPS route.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
	pr, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	if pr.StatusCode != 301 || pr.Header.Get("X-Upstream") != "" {
		t.Fatalf("plain: status %d upstream %q", pr.StatusCode, pr.Header.Get("X-Upstream"))
	}
}
