package bootstrap

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

// TestHTTPSWithCurl checks the HTTPS listeners with curl: SNI by --resolve, trust by --cacert,
// HTTP/2 by ALPN, and the HTTP→HTTPS redirect followed to the end.
func TestHTTPSWithCurl(t *testing.T) {
	curl := testenv.Binary(t, "curl", "apt-get install curl")
	e := startHTTPS(t, 443, 80)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, e.ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(e.addrs[443])
	_, httpPort, _ := net.SplitHostPort(e.addrs[80])
	resolve := func(host, p string) string { return host + ":" + p + ":127.0.0.1" }
	cases := []struct {
		name string
		args []string
		want string // curl -w output
	}{
		{"h2", []string{"--http2", "--resolve", resolve("api.example.com", port), "https://api.example.com:" + port + "/v1"}, "200 2"},
		{"http1.1", []string{"--http1.1", "--resolve", resolve("api.example.com", port), "https://api.example.com:" + port + "/v1"}, "200 1.1"},
		{"wildcard", []string{"--http2", "--resolve", resolve("x.apps.example.com", port), "https://x.apps.example.com:" + port + "/"}, "200 2"},
		// The redirect names the default https port; --connect-to sends it to the test's port.
		{"redirect followed", []string{"-L", "--resolve", resolve("api.example.com", httpPort), "--connect-to", "api.example.com:443:127.0.0.1:" + port,
			"http://api.example.com:" + httpPort + "/v1"}, "200 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"-sS", "-o", "/dev/null", "--cacert", caFile, "-w", "%{http_code} %{http_version}", "--max-time", "10"}, tc.args...)
			out, err := exec.CommandContext(ctx, curl, args...).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != tc.want {
				t.Fatalf("curl %v: %v: %s (want %s)", tc.args, err, out, tc.want)
			}
		})
	}
	t.Run("name not in the certificate", func(t *testing.T) {
		// SNI api.example.com, but curl verifies the name it was asked for.
		out, err := exec.Command(curl, "-sS", "-o", "/dev/null", "--cacert", caFile, "--max-time", "10",
			"--resolve", resolve("wrong.example.com", port), "--connect-to", "wrong.example.com:"+port+":api.example.com:"+port,
			"https://wrong.example.com:"+port+"/").CombinedOutput()
		if err == nil {
			t.Fatalf("curl accepted a name the gateway has no listener for: %s", out)
		}
	})
}

// TestHTTPSWithOpenSSL checks the handshake itself: the certificate chosen by SNI, ALPN h2 and
// http/1.1, and TLS 1.0 and 1.1 refused while 1.2 and 1.3 are accepted.
func TestHTTPSWithOpenSSL(t *testing.T) {
	openssl := testenv.Binary(t, "openssl", "apt-get install openssl")
	e := startHTTPS(t, 443)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, e.ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		ok     bool
		expect []string // substrings of the output
	}{
		{"SNI api", []string{"-servername", "api.example.com"}, true, []string{"subject=CN=api.example.com", "Verifyreturncode:0(ok)"}},
		{"SNI wildcard", []string{"-servername", "z.apps.example.com"}, true, []string{"subject=CN=*.apps.example.com"}},
		{"ALPN h2", []string{"-servername", "api.example.com", "-alpn", "h2"}, true, []string{"ALPNprotocol:h2"}},
		{"ALPN http/1.1", []string{"-servername", "api.example.com", "-alpn", "http/1.1"}, true, []string{"ALPNprotocol:http/1.1"}},
		{"TLS 1.3", []string{"-servername", "api.example.com", "-tls1_3"}, true, []string{"New,TLSv1.3"}},
		{"TLS 1.2", []string{"-servername", "api.example.com", "-tls1_2"}, true, []string{"New,TLSv1.2"}},
		{"TLS 1.1 refused", []string{"-servername", "api.example.com", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, false, nil},
		{"TLS 1.0 refused", []string{"-servername", "api.example.com", "-tls1", "-cipher", "DEFAULT@SECLEVEL=0"}, false, nil},
		{"unknown SNI refused", []string{"-servername", "nobody.example.com"}, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"s_client", "-connect", e.addrs[443], "-CAfile", caFile}, tc.args...)
			cmd := exec.CommandContext(ctx, openssl, args...)
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			// Spacing differs between OpenSSL releases ("CN = x" or "CN=x").
			s := strings.NewReplacer(" ", "", "\t", "").Replace(string(out))
			connected := err == nil && strings.Contains(s, "New,TLSv1.")
			if connected != tc.ok {
				t.Fatalf("openssl %v: connected=%v (err %v), want %v:\n%s", tc.args, connected, err, tc.ok, s)
			}
			for _, x := range tc.expect {
				if !strings.Contains(s, x) {
					t.Errorf("openssl %v: output lacks %q:\n%s", tc.args, x, s)
				}
			}
		})
	}
}
