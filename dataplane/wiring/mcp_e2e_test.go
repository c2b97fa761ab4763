package wiring_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/wiring"
	"github.com/infergw/gwctl/internal/testenv"
)

// The bundled platform with mcp on, as gwctl renders it, in front of the real example server:
// without a token no MCP message is served on any path, in particular not through the OAuth
// discovery paths (security issue #15: POST /.well-known/oauth-authorization-server/mcp skipped
// JWT and reached the MCP backend, which ran initialize, tools/list and tools/call), while the
// discovery documents themselves are still served.
func TestRenderedPlatformMCPNeedsATokenOnEveryPath(t *testing.T) {
	everything := testenv.StartEverything(t, "streamableHttp")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	issuerPort := testenv.FreePort(t)
	issuer := testenv.StartOIDCIssuer(t, issuerPort, key, "k1")
	resources := renderGatewayResources(t, []string{"mcp"}, []string{
		"identity.issuer=" + issuer.URL, "identity.jwksPath=/jwks", "identity.port=" + strconv.Itoa(issuerPort), "identity.audience=gateway",
	})
	resolve := map[string]string{
		"mcp-server-everything.mcp": everything.Addr,
		"dex.dex":                   fmt.Sprintf("127.0.0.1:%d", issuerPort),
	}
	gw := startDataplaneWith(t, resources, resolve, wiring.Options{SessionKey: make([]byte, 32)})

	bodies := map[string]string{
		"initialize": `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"probe","version":"1"}}}`,
		"tools/list": `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		"tools/call": `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"pwned"}}}`,
	}
	paths := []string{
		"/.well-known/oauth-authorization-server/mcp",
		"/.well-known/oauth-authorization-server/mcp/x",
		"/.well-known/oauth-authorization-server/mcp/../../mcp",
		"/.well-known/oauth-authorization-server",
		"/.well-known/oauth-protected-resource/mcp",
		"/.well-known/oauth-authorization-server/mcp/%2e%2e/%2e%2e/mcp",
		"//.well-known/oauth-authorization-server//mcp",
		"/mcp",
		"//mcp",
		"/./mcp",
		"/x/../mcp",
		"/%2e/mcp",
		"/%6dcp",
		"/mcp;x",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			// The attack: initialize, then list and call with the session the server handed out.
			// Each step must be refused; with no session to reuse, a forged one is tried.
			sid := ""
			for _, method := range []string{"initialize", "tools/list", "tools/call"} {
				req, _ := http.NewRequest(http.MethodPost, gw.url+path, strings.NewReader(bodies[method]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
				if method != "initialize" {
					if sid == "" {
						sid = "forged-session"
					}
					req.Header.Set("Mcp-Session-Id", sid)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if s := resp.Header.Get("Mcp-Session-Id"); s != "" {
					sid = s
				}
				switch resp.StatusCode {
				case http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed:
				default:
					t.Errorf("%s without a token: status %d: %.200s", method, resp.StatusCode, body)
				}
				if resp.Header.Get("Mcp-Session-Id") != "" || strings.Contains(string(body), "serverInfo") ||
					strings.Contains(string(body), "pwned") || strings.Contains(string(body), `"tools"`) {
					t.Errorf("%s without a token got an MCP answer: %d %.200s", method, resp.StatusCode, body)
				}
			}
		})
	}

	// The tool-call variants of the review, on every path: without a token nothing runs; with one,
	// a body the gateway and the server would read differently is refused, so get-env (outside
	// the allow-list) never runs.
	variants := []string{
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get-env","NAME":"echo","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"NAME":"echo","name":"get-env","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","name":"get-env","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","n\u0061me":"get-env","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"Name":"get-env","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","METHOD":"tools/list","params":{"name":"get-env","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"}},"paramſ":{"name":"get-env"}}`,
	}
	t.Run("tool-call variants without a token", func(t *testing.T) {
		for _, path := range paths {
			for _, body := range variants {
				resp, out := postMCP(t, gw.url+path, body, "", "forged-session")
				// 400: the listener's body-routing stage refuses an ambiguous body before any route.
				switch resp.StatusCode {
				case http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed:
				default:
					t.Errorf("%s %s: status %d: %.200s", path, body, resp.StatusCode, out)
				}
				if strings.Contains(out, "PATH") || strings.Contains(out, `"content"`) {
					t.Errorf("%s %s: a tool ran without a token: %.200s", path, body, out)
				}
			}
		}
	})
	t.Run("tool-call variants with a token are refused, not run", func(t *testing.T) {
		token := issuer.Token(t, "")
		resp, _ := postMCP(t, gw.url+"/mcp", bodies["initialize"], token, "")
		sid := resp.Header.Get("Mcp-Session-Id")
		if resp.StatusCode != http.StatusOK || sid == "" {
			t.Fatalf("initialize with a token: %d, session %q", resp.StatusCode, sid)
		}
		for _, body := range variants {
			resp, out := postMCP(t, gw.url+"/mcp", body, token, sid)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, `"error"`) {
				t.Errorf("%s: status %d, want 400 with a JSON-RPC error: %.200s", body, resp.StatusCode, out)
			}
			if strings.Contains(out, "PATH") {
				t.Errorf("%s: get-env ran: %.200s", body, out)
			}
		}
	})

	t.Run("the discovery documents are served", func(t *testing.T) {
		doc := getJSON(t, gw.url+"/.well-known/oauth-protected-resource/mcp", "")
		if fmt.Sprint(doc["authorization_servers"]) != "["+issuer.URL+"]" || doc["resource"] != gw.url+"/mcp" {
			t.Fatalf("protected-resource metadata %v", doc)
		}
		// The issuer's own document (oidc-provider publishes OpenID discovery), not a backend's.
		as := getJSON(t, gw.url+"/.well-known/oauth-authorization-server/mcp", "")
		if as["issuer"] != issuer.URL || as["token_endpoint"] == nil {
			t.Fatalf("authorization-server metadata %v", as)
		}
	})

	t.Run("a hostile Host is not echoed", func(t *testing.T) {
		for _, host := range []string{"evil.example%22", "evil.example'", "evil.example:0"} {
			resp := post(t, gw.url+"/mcp", host)
			if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || got != "Bearer" {
				t.Errorf("Host %q: %d, challenge %q", host, resp.StatusCode, got)
			}
		}
		// gateway.publicURL in the platform config pins the origin through the rendered policy.
		rendered := renderGatewayResources(t, []string{"mcp"}, []string{
			"identity.issuer=" + issuer.URL, "identity.jwksPath=/jwks", "identity.port=" + strconv.Itoa(issuerPort), "identity.audience=gateway",
			"gateway.publicURL=https://mcp.example.com",
		})
		fromConfig := startDataplaneWith(t, rendered, resolve, wiring.Options{SessionKey: make([]byte, 32)})
		if got := post(t, fromConfig.url+"/mcp", "evil.example").Header.Get("WWW-Authenticate"); got != `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"` {
			t.Errorf("gateway.publicURL: challenge %q", got)
		}
		if doc := getJSON(t, fromConfig.url+"/.well-known/oauth-protected-resource/mcp", "evil.example"); doc["resource"] != "https://mcp.example.com/mcp" {
			t.Errorf("gateway.publicURL: resource %v", doc["resource"])
		}
		// With the origin configured, even a well-formed foreign Host never appears.
		pinned := startDataplaneWith(t, resources, resolve, wiring.Options{SessionKey: make([]byte, 32), PublicOrigin: "https://gw.example.com"})
		resp := post(t, pinned.url+"/mcp", "evil.example")
		if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || got != `Bearer resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp"` {
			t.Errorf("pinned origin: %d, challenge %q", resp.StatusCode, got)
		}
		if doc := getJSON(t, pinned.url+"/.well-known/oauth-protected-resource/mcp", "evil.example"); doc["resource"] != "https://gw.example.com/mcp" {
			t.Errorf("pinned origin: resource %v", doc["resource"])
		}
	})
}

// postMCP posts one JSON-RPC message as a streamable-HTTP client does.
func postMCP(t *testing.T, url, body, token, session string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(out)
}

func post(t *testing.T, url, host string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func getJSON(t *testing.T, url, host string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return doc
}
