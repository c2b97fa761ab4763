package testenv

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Everything is a running @modelcontextprotocol/server-everything.
type Everything struct {
	*Process
	// URL is the MCP endpoint: http://127.0.0.1:PORT/mcp (or /sse in sse mode).
	URL  string
	Addr string
}

// StartEverything runs server-everything in mode ("streamableHttp" or "sse") on a free loopback
// port (hack/npm/loopback.cjs makes it bind 127.0.0.1 only) and waits until it listens.
func StartEverything(t testing.TB, mode string) *Everything {
	t.Helper()
	node, dir := NodeModule(t, "@modelcontextprotocol/server-everything")
	port := FreePort(t)
	cmd := exec.Command(node, "-r", filepath.Join(RepoRoot(t), "hack", "npm", "loopback.cjs"), filepath.Join(dir, "dist", "index.js"), mode)
	// A minimal environment: the server's get-env tool would reveal anything passed here.
	cmd.Env = []string{"PORT=" + strconv.Itoa(port), "PATH=" + os.Getenv("PATH"), "NODE_ENV=test"}
	p := Start(t, cmd)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p.WaitDial(t, addr, 20*time.Second)
	path := "/mcp"
	if mode == "sse" {
		path = "/sse"
	}
	return &Everything{Process: p, URL: "http://" + addr + path, Addr: addr}
}

// OIDCIssuer is a running oidc-provider (hack/npm/oidc-issuer.mjs): client test-client /
// test-secret, RS256 access tokens with aud "gateway" (or "other" for resource=urn:other).
type OIDCIssuer struct {
	*Process
	URL string
}

// StartOIDCIssuer runs the issuer on port, signing with key under kid, and waits for discovery.
func StartOIDCIssuer(t testing.TB, port int, key *rsa.PrivateKey, kid string) *OIDCIssuer {
	t.Helper()
	node, _ := NodeModule(t, "oidc-provider")
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "oidc-issuer.mjs")
	cmd.Dir = filepath.Join(RepoRoot(t), "hack", "npm") // ES modules resolve node_modules from here
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "KEY_FILE="+keyFile, "KID="+kid)
	iss := &OIDCIssuer{Process: Start(t, cmd), URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(iss.URL + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return iss
			}
		}
		if iss.Exited() {
			t.Fatalf("oidc-provider exited: %s", iss.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("oidc-provider not ready: %s", iss.Output())
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// Token asks the issuer for an access token with client credentials; resource may be "".
func (i *OIDCIssuer) Token(t testing.TB, resource string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	if resource != "" {
		form.Set("resource", resource)
	}
	req, _ := http.NewRequest(http.MethodPost, i.URL+"/token", strings.NewReader(form.Encode()))
	req.SetBasicAuth("test-client", "test-secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.AccessToken == "" {
		t.Fatalf("token endpoint: %d %s", resp.StatusCode, body)
	}
	return out.AccessToken
}
