package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// RFC 7515 §4.1.11: a token whose crit names an extension the recipient does not implement must
// be refused; so must a malformed crit. This verifier implements none.
func TestCritHeaderRefused(t *testing.T) {
	genKeys(t)
	rs := testKey{"rs", "RS256", rsaKey}
	a, err := New(Config{Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{Inline: jwksJSON(t, rs)}}}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name   string
		header map[string]any
		want   string // "" = accepted
	}{
		{"no crit", nil, ""},
		{"unknown extension", map[string]any{"crit": []string{"x-policy"}, "x-policy": "ignore-exp"}, "does not implement"},
		{"b64 (RFC 7797), not implemented", map[string]any{"crit": []string{"b64"}, "b64": true}, "does not implement"},
		{"extension named but absent", map[string]any{"crit": []string{"x-absent"}}, "does not implement"},
		{"empty array", map[string]any{"crit": []string{}}, "empty"},
		{"not an array", map[string]any{"crit": "x-policy"}, "not an array"},
		{"null", map[string]any{"crit": json.RawMessage("null")}, "not an array"},
		{"number in the list", map[string]any{"crit": []any{1}}, "not a string"},
		{"standard name", map[string]any{"crit": []string{"alg"}}, "standard parameter"},
		{"standard name kid", map[string]any{"crit": []string{"kid"}}, "standard parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := sign(t, rs, claimsAt(now, nil), tc.header)
			_, err := a.Authenticate(context.Background(), tok)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
			// The same token through the middleware: 401 invalid_token, the upstream never called.
			up := &echo{}
			w := do(t, a.Middleware(up), withBearer(tok))
			if tc.want != "" && (w.Code != http.StatusUnauthorized || up.called || !strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token")) {
				t.Fatalf("middleware: %d, upstream called %v", w.Code, up.called)
			}
		})
	}
}

// failingTransport stands in for an issuer the dataplane cannot reach, without any network use.
type failingTransport struct{ calls atomic.Int32 }

func (f *failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	f.calls.Add(1)
	return nil, errors.New("unreachable")
}

func mcpAuthenticator(t *testing.T, cfg Config, deps Deps) *Authenticator {
	t.Helper()
	genKeys(t)
	if cfg.Providers == nil {
		cfg.Providers = []Provider{{Issuer: testIssuer, JWKS: JWKS{Inline: jwksJSON(t, testKey{"rs", "RS256", rsaKey})}}}
	}
	if cfg.MCP == nil {
		cfg.MCP = &MCPConfig{}
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{Transport: &failingTransport{}}
	}
	a, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The OAuth discovery paths of an MCP route are answered by the policy (metadata, 404, 405) and
// never reach the backend, whatever the method: the finding was a POST to
// /.well-known/oauth-authorization-server/mcp served as JSON-RPC without a token.
func TestWellKnownPathsNeverReachTheBackend(t *testing.T) {
	a := mcpAuthenticator(t, Config{}, Deps{})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/.well-known/oauth-protected-resource/mcp", 200},
		{http.MethodGet, "/.well-known/oauth-protected-resource", 200},
		{http.MethodHead, "/.well-known/oauth-protected-resource/mcp", 200},
		{http.MethodOptions, "/.well-known/oauth-protected-resource/mcp", 204},
		{http.MethodPost, "/.well-known/oauth-protected-resource/mcp", 405},
		{http.MethodDelete, "/.well-known/oauth-protected-resource/mcp", 405},
		{http.MethodPost, "/.well-known/oauth-authorization-server/mcp", 405},
		{http.MethodPost, "/.well-known/oauth-authorization-server/mcp/x", 405},
		{http.MethodPost, "/.well-known/oauth-authorization-server", 405},
		{http.MethodPut, "/.well-known/oauth-authorization-server/mcp", 405},
		{http.MethodGet, "/.well-known/oauth-authorization-server/mcp", 404}, // issuer unreachable
		{http.MethodOptions, "/.well-known/oauth-authorization-server/mcp", 204},
		// Not the canonical form of a resource path (the server normalises before routing).
		{http.MethodGet, "/.well-known/oauth-protected-resource/mcp/../x", 404},
		{http.MethodGet, "/.well-known/oauth-protected-resource//mcp", 404},
		// Longer names are not discovery documents: they need a token like any other path.
		{http.MethodPost, "/.well-known/oauth-authorization-serverx/mcp", 401},
		{http.MethodGet, "/.well-known/oauth-protected-resource-x", 401},
		{http.MethodPost, "/mcp", 401},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			up := &echo{}
			w := do(t, a.Middleware(up), func(r *http.Request) {
				r.Method, r.URL.Path = tc.method, tc.path
				r.Body = http.NoBody
			})
			if w.Code != tc.status || up.called {
				t.Fatalf("status %d (want %d), backend called %v: %s", w.Code, tc.status, up.called, w.Body)
			}
			if tc.status == 405 && w.Header().Get("Allow") != "GET, HEAD, OPTIONS" {
				t.Fatalf("Allow %q", w.Header().Get("Allow"))
			}
		})
	}
}

// The Host header is not echoed into URLs the client will follow unless it is a well-formed host
// name, and never when an origin is configured.
func TestMetadataOriginIsNotTheHostHeader(t *testing.T) {
	hostile := []string{`evil.example"`, `evil.example", error="x`, "evil.example\r\nSet-Cookie: a=b", "evil example",
		"user@evil.example", "evil.example/x", "evil%2eexample", "evil.example:99999", "evil.example:", "[::1%25eth0]", "::1", ""}
	for _, tc := range []struct {
		name string
		cfg  Config
		host string
		want string // the origin in resource_metadata and resource; "" = left out
	}{
		{"configured origin wins over a plain hostile host", Config{PublicOrigin: "https://gw.example.com/"}, "evil.example", "https://gw.example.com"},
		{"configured resource wins", Config{PublicOrigin: "https://gw.example.com", MCP: &MCPConfig{ResourceMetadata: map[string]any{"resource": "https://mcp.example.com/mcp"}}}, "evil.example", "https://mcp.example.com"},
		{"no configuration: a well-formed host (the listener serves any host)", Config{}, "GW.Example.COM.:8443", "http://gw.example.com:8443"},
		{"no configuration: IPv6 literal", Config{}, "[::1]:8080", "http://[::1]:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mcpAuthenticator(t, tc.cfg, Deps{})
			w := do(t, a.Middleware(&echo{}), func(r *http.Request) { r.URL.Path, r.Host = "/mcp", tc.host })
			if got := w.Header().Get("WWW-Authenticate"); got != `Bearer resource_metadata="`+tc.want+`/.well-known/oauth-protected-resource/mcp"` {
				t.Fatalf("challenge %q", got)
			}
			w = do(t, a.Middleware(&echo{}), func(r *http.Request) {
				r.Method, r.URL.Path, r.Host = http.MethodGet, "/.well-known/oauth-protected-resource/mcp", tc.host
			})
			var doc struct{ Resource string }
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 {
				t.Fatalf("metadata %d %s", w.Code, w.Body)
			}
			want := tc.want + "/mcp"
			if res, ok := tc.cfg.MCP.resource(); ok {
				want = res
			}
			if doc.Resource != want {
				t.Fatalf("resource %q, want %q", doc.Resource, want)
			}
		})
	}
	for _, host := range hostile {
		t.Run(fmt.Sprintf("hostile %q", host), func(t *testing.T) {
			a := mcpAuthenticator(t, Config{}, Deps{})
			w := do(t, a.Middleware(&echo{}), func(r *http.Request) { r.URL.Path, r.Host = "/mcp", host })
			if got := w.Header().Get("WWW-Authenticate"); w.Code != 401 || got != "Bearer" {
				t.Fatalf("challenge %d %q, want a bare Bearer", w.Code, got)
			}
			w = do(t, a.Middleware(&echo{}), func(r *http.Request) {
				r.URL.Path, r.Host = "/mcp", host
				r.Header.Set("Authorization", "Bearer x.y.z")
			})
			if got := w.Header().Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Fatalf("invalid-token challenge %q", got)
			}
			w = do(t, a.Middleware(&echo{}), func(r *http.Request) {
				r.Method, r.URL.Path, r.Host = http.MethodGet, "/.well-known/oauth-protected-resource/mcp", host
			})
			if w.Code != http.StatusBadRequest || (host != "" && strings.Contains(w.Body.String(), "evil")) {
				t.Fatalf("metadata %d %s", w.Code, w.Body)
			}
			// A configured origin serves any Host.
			b := mcpAuthenticator(t, Config{PublicOrigin: "https://gw.example.com"}, Deps{})
			w = do(t, b.Middleware(&echo{}), func(r *http.Request) { r.URL.Path, r.Host = "/mcp", host })
			if got := w.Header().Get("WWW-Authenticate"); got != `Bearer resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp"` {
				t.Fatalf("challenge with origin %q", got)
			}
		})
	}
	if _, err := New(Config{PublicOrigin: "https://gw.example.com/mcp", Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{Inline: jwksJSON(t, testKey{"rs", "RS256", rsaKey})}}}}, Deps{}); err == nil {
		t.Fatal("a public origin with a path was accepted")
	}
}

// resource is the configured resourceMetadata resource, for the test's expectations.
func (m *MCPConfig) resource() (string, bool) {
	if m == nil {
		return "", false
	}
	s, ok := m.ResourceMetadata["resource"].(string)
	return s, ok
}

// The authorization-server document is the issuer's own, fetched once and cached; a document
// naming another issuer, or none at all, gives 404.
func TestAuthServerMetadata(t *testing.T) {
	var fetches atomic.Int32
	var issuerURL string
	docIssuer := func() string { return issuerURL }
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%s/auth","token_endpoint":"%s/token"}`, docIssuer(), issuerURL, issuerURL)
	}))
	defer idp.Close()
	issuerURL = idp.URL
	clk := newClock()
	a := mcpAuthenticator(t, Config{Providers: []Provider{{Issuer: idp.URL, JWKS: JWKS{Inline: jwksJSON(t, testKey{"rs", "RS256", rsaKey})}}}},
		Deps{HTTPClient: idp.Client(), Now: clk.Now})
	get := func() *httptest.ResponseRecorder {
		return do(t, a.Middleware(&echo{}), func(r *http.Request) {
			r.Method, r.URL.Path = http.MethodGet, "/.well-known/oauth-authorization-server/mcp"
		})
	}
	for i := 0; i < 3; i++ {
		w := get()
		var doc map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 || doc["issuer"] != idp.URL || doc["token_endpoint"] != idp.URL+"/token" {
			t.Fatalf("GET %d: %d %s", i, w.Code, w.Body)
		}
	}
	// RFC 8414 URL first (404 at this issuer), then OIDC discovery; then served from the cache.
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// After the cache lifetime a document naming another issuer is refused: the last good one stays.
	clk.Add(asMetadataTTL + time.Second)
	bad := "https://other.example"
	docIssuer = func() string { return bad }
	if w := get(); w.Code != 200 || !strings.Contains(w.Body.String(), idp.URL+"/token") {
		t.Fatalf("last good document not kept: %d %s", w.Code, w.Body)
	}

	// An issuer that cannot be reached: 404, and at most one attempt per retry interval.
	ft := &failingTransport{}
	b := mcpAuthenticator(t, Config{}, Deps{HTTPClient: &http.Client{Transport: ft}, Now: clk.Now})
	for i := 0; i < 5; i++ {
		w := do(t, b.Middleware(&echo{}), func(r *http.Request) {
			r.Method, r.URL.Path = http.MethodGet, "/.well-known/oauth-authorization-server"
		})
		if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"error":"not_found"`) {
			t.Fatalf("unreachable issuer: %d %s", w.Code, w.Body)
		}
	}
	if n := ft.calls.Load(); n != 2 { // the two discovery URLs of a path-less issuer, once
		t.Fatalf("%d fetch attempts, want 2", n)
	}
}
