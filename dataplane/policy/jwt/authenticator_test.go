package jwt

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

const testIssuer = "https://issuer.test"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// echo records what reached the upstream.
type echo struct {
	claims Claims
	header http.Header
	query  string
	called bool
}

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.called = true
	e.claims, _ = ClaimsFrom(r.Context())
	e.header = r.Header.Clone()
	e.query = r.URL.RawQuery
	w.WriteHeader(http.StatusOK)
}

func claimsAt(now time.Time, mut func(gojwt.MapClaims)) gojwt.MapClaims {
	c := gojwt.MapClaims{"iss": testIssuer, "aud": "gateway", "sub": "alice",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if mut != nil {
		mut(c)
	}
	return c
}

func do(t *testing.T, h http.Handler, mut func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://gw.test/v1/chat/completions", nil)
	if mut != nil {
		mut(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func withBearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func TestAuthenticateTokens(t *testing.T) {
	genKeys(t)
	rs := testKey{"rs", "RS256", rsaKey}
	ps := testKey{"ps", "PS256", rsaKey2}
	es := testKey{"es", "ES256", ecKey}
	ed := testKey{"ed", "EdDSA", edKey}
	clk := newClock()
	now := clk.Now()
	a, err := New(Config{Providers: []Provider{{Issuer: testIssuer, Audiences: []string{"gateway", "other-gw"},
		JWKS: JWKS{Inline: jwksJSON(t, rs, ps, es, ed)}}}}, Deps{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hsConfusion := func() string {
		tok := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claimsAt(now, nil))
		tok.Header["kid"] = "rs"
		s, _ := tok.SignedString(pubPEM)
		return s
	}()
	algNone := func() string {
		tok := gojwt.NewWithClaims(gojwt.SigningMethodNone, claimsAt(now, nil))
		tok.Header["kid"] = "rs"
		s, _ := tok.SignedString(gojwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	forged := func() string {
		s := sign(t, rs, claimsAt(now, nil), nil)
		parts := strings.Split(s, ".")
		payload, _ := json.Marshal(claimsAt(now, func(c gojwt.MapClaims) { c["sub"] = "admin" }))
		return parts[0] + "." + b64(payload) + "." + parts[2]
	}()
	// A PS256 token whose JWK says RS256 (alg pinned by the key).
	rsAsPS := sign(t, testKey{"rs", "PS256", rsaKey}, claimsAt(now, nil), nil)

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256", sign(t, rs, claimsAt(now, nil), nil), true},
		{"PS256", sign(t, ps, claimsAt(now, nil), nil), true},
		{"ES256", sign(t, es, claimsAt(now, nil), nil), true},
		{"EdDSA", sign(t, ed, claimsAt(now, nil), nil), true},
		{"second audience", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { c["aud"] = []string{"x", "other-gw"} }), nil), true},
		{"expired within skew", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { c["exp"] = now.Add(-30 * time.Second).Unix() }), nil), true},
		{"expired", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { c["exp"] = now.Add(-61 * time.Second).Unix() }), nil), false},
		{"nbf within skew", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { c["nbf"] = now.Add(30 * time.Second).Unix() }), nil), true},
		{"not yet valid", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }), nil), false},
		{"issued in the future", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { c["iat"] = now.Add(2 * time.Minute).Unix() }), nil), false},
		{"no exp", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { delete(c, "exp") }), nil), false},
		{"wrong issuer", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { c["iss"] = "https://evil.test" }), nil), false},
		{"wrong audience", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { c["aud"] = "elsewhere" }), nil), false},
		{"no audience", sign(t, rs, claimsAt(now, func(c gojwt.MapClaims) { delete(c, "aud") }), nil), false},
		{"no kid", sign(t, rs, claimsAt(now, nil), map[string]any{"kid": nil}), false},
		{"unknown kid", sign(t, rs, claimsAt(now, nil), map[string]any{"kid": "nope"}), false},
		{"kid of another key", sign(t, rs, claimsAt(now, nil), map[string]any{"kid": "ps"}), false},
		{"alg differs from JWK alg", rsAsPS, false},
		{"alg none", algNone, false},
		{"HS256 with the RSA public key", hsConfusion, false},
		{"forged payload", forged, false},
		{"garbage", "not.a.token", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := a.Authenticate(context.Background(), tc.token)
			if tc.ok && (err != nil || c.Subject() != "alice") {
				t.Fatalf("want accepted, got claims %v err %v", c, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("want rejected, got claims %v", c)
			}
			if err != nil && strings.Contains(err.Error(), tc.token) {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}

func TestCachedTokenExpires(t *testing.T) {
	genKeys(t)
	rs := testKey{"rs", "RS256", rsaKey}
	clk := newClock()
	a, err := New(Config{Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{Inline: jwksJSON(t, rs)}}}}, Deps{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, rs, claimsAt(clk.Now(), func(c gojwt.MapClaims) { c["exp"] = clk.Now().Add(10 * time.Second).Unix() }), nil)
	for range 2 { // second call is served by the cache
		if _, err := a.Authenticate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(71 * time.Second) // past exp + skew: the cache entry must not outlive exp
	if _, err := a.Authenticate(context.Background(), tok); err == nil {
		t.Fatal("expired token accepted from cache")
	}
}

func TestMiddlewareModes(t *testing.T) {
	genKeys(t)
	rs := testKey{"rs", "RS256", rsaKey}
	good := sign(t, rs, claimsAt(time.Now(), nil), nil)
	bad := sign(t, rs, claimsAt(time.Now(), func(c gojwt.MapClaims) { c["aud"] = "nope" }), nil)
	tests := []struct {
		mode      Mode
		token     string
		status    int
		challenge string // expected WWW-Authenticate ("" = none)
		claims    bool
	}{
		{ModeStrict, "", 401, `Bearer realm="http://gw.test/v1/chat/completions"`, false},
		{ModeStrict, bad, 401, `Bearer realm="http://gw.test/v1/chat/completions", error="invalid_token"`, false},
		{ModeStrict, good, 200, "", true},
		{ModeOptional, "", 200, "", false},
		{ModeOptional, bad, 401, `Bearer realm="http://gw.test/v1/chat/completions", error="invalid_token"`, false},
		{ModeOptional, good, 200, "", true},
		{ModePermissive, "", 200, "", false},
		{ModePermissive, bad, 200, "", false},
		{ModePermissive, good, 200, "", true},
	}
	for _, tc := range tests {
		name := string(tc.mode) + "/" + map[string]string{"": "missing", bad: "invalid", good: "valid"}[tc.token]
		t.Run(name, func(t *testing.T) {
			a, err := New(Config{Mode: tc.mode, Providers: []Provider{{Issuer: testIssuer, Audiences: []string{"gateway"},
				JWKS: JWKS{Inline: jwksJSON(t, rs)}}}}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			up := &echo{}
			var mut func(*http.Request)
			if tc.token != "" {
				mut = withBearer(tc.token)
			}
			w := do(t, a.Middleware(up), mut)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if tc.status == 401 {
				var body struct {
					Error struct{ Type, Code string }
				}
				code := map[string]string{"": "missing_token", bad: "invalid_token"}[tc.token]
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Type != "authentication_error" || body.Error.Code != code {
					t.Fatalf("body %s is not an OpenAI authentication_error (%v)", w.Body, err)
				}
				if up.called {
					t.Fatal("upstream called on 401")
				}
				return
			}
			if (up.claims != nil) != tc.claims {
				t.Fatalf("claims %v, want present=%v", up.claims, tc.claims)
			}
			if up.header.Get("Authorization") != "" {
				t.Fatal("credential reached the upstream")
			}
		})
	}
}

func TestTokenLocations(t *testing.T) {
	genKeys(t)
	rs := testKey{"rs", "RS256", rsaKey}
	tok := sign(t, rs, claimsAt(time.Now(), nil), nil)
	tests := []struct {
		name  string
		loc   *Location
		put   func(*http.Request)
		check func(*testing.T, *echo)
	}{
		{"bearer any case", nil, func(r *http.Request) { r.Header.Set("Authorization", "bearer "+tok) }, nil},
		{"header with prefix", &Location{Header: &HeaderLocation{Name: "X-Token", Prefix: "Token "}},
			func(r *http.Request) { r.Header.Set("X-Token", "Token "+tok) },
			func(t *testing.T, e *echo) {
				if e.header.Get("X-Token") != "" {
					t.Fatal("header not stripped")
				}
			}},
		{"query parameter", &Location{QueryParameter: "access_token"},
			func(r *http.Request) { r.URL.RawQuery = "a=1&access_token=" + tok },
			func(t *testing.T, e *echo) {
				if e.query != "a=1" {
					t.Fatalf("query %q after strip", e.query)
				}
			}},
		{"cookie", &Location{Cookie: "session"},
			func(r *http.Request) { r.Header.Set("Cookie", "theme=dark; session="+tok) },
			func(t *testing.T, e *echo) {
				if got := e.header.Get("Cookie"); got != "theme=dark" {
					t.Fatalf("cookie %q after strip", got)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(Config{Location: tc.loc, Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{Inline: jwksJSON(t, rs)}}}}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			up := &echo{}
			if w := do(t, a.Middleware(up), tc.put); w.Code != 200 || up.claims.Subject() != "alice" {
				t.Fatalf("status %d claims %v", w.Code, up.claims)
			}
			if tc.check != nil {
				tc.check(t, up)
			}
		})
	}
}

func TestMCPMetadataAndChallenge(t *testing.T) {
	genKeys(t)
	rs := testKey{"rs", "RS256", rsaKey}
	a, err := New(Config{
		Providers: []Provider{{Issuer: testIssuer, Audiences: []string{"https://gw.test/mcp"}, JWKS: JWKS{Inline: jwksJSON(t, rs)}}},
		MCP:       &MCPConfig{ResourceMetadata: map[string]any{"scopesSupported": []string{"read"}, "resourceType": "custom"}},
	}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Middleware(&echo{})
	w := do(t, h, func(r *http.Request) {
		r.Method, r.URL.Path = http.MethodGet, "/.well-known/oauth-protected-resource/mcp"
		r.Header.Set("X-Forwarded-Proto", "https")
	})
	if w.Code != 200 {
		t.Fatalf("metadata status %d", w.Code)
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"resource": "https://gw.test/mcp", "authorization_servers": []any{testIssuer},
		"resource_type": "custom", "scopes_supported": []any{"read"}, "mcp_protocol_version": "2025-06-18"}
	for k, v := range want {
		if got, _ := json.Marshal(doc[k]); string(got) != mustJSON(v) {
			t.Errorf("metadata %s = %s, want %s", k, got, mustJSON(v))
		}
	}
	w = do(t, h, func(r *http.Request) { r.URL.Path = "/mcp" })
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Bearer resource_metadata="http://gw.test/.well-known/oauth-protected-resource/mcp"` {
		t.Fatalf("missing token: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if !strings.Contains(w.Body.String(), `"error":"unauthorized"`) {
		t.Fatalf("MCP body %s", w.Body)
	}
	w = do(t, h, func(r *http.Request) { r.URL.Path = "/mcp"; r.Header.Set("Authorization", "Bearer x.y.z") })
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer resource_metadata="http://gw.test/.well-known/oauth-protected-resource/mcp", error="invalid_token"` {
		t.Fatalf("invalid token challenge %q", got)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestConfigErrors(t *testing.T) {
	genKeys(t)
	inline := jwksJSON(t, testKey{"rs", "RS256", rsaKey})
	p := Provider{Issuer: testIssuer, JWKS: JWKS{Inline: inline}}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no providers", Config{}, "providers"},
		{"bad mode", Config{Mode: "Lax", Providers: []Provider{p}}, "mode"},
		{"both jwks", Config{Providers: []Provider{{Issuer: "a", JWKS: JWKS{Inline: inline, URL: "http://x"}}}}, "exactly one"},
		{"mcp not strict", Config{Mode: ModeOptional, MCP: &MCPConfig{}, Providers: []Provider{p}}, "requires mode Strict"},
		{"oct inline", Config{Providers: []Provider{{Issuer: "a", JWKS: JWKS{Inline: `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`}}}}, "oct"},
		{"two locations", Config{Location: &Location{QueryParameter: "a", Cookie: "b"}, Providers: []Provider{p}}, "exactly one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, Deps{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestForbid(t *testing.T) {
	genKeys(t)
	rs := testKey{"rs", "RS256", rsaKey}
	mcp, err := New(Config{MCP: &MCPConfig{}, Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{Inline: jwksJSON(t, rs)}}}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := New(Config{Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{Inline: jwksJSON(t, rs)}}}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mcp.Forbid(w, r, "tools:write") }),
		func(r *http.Request) { r.URL.Path = "/mcp" })
	want := `Bearer error="insufficient_scope", scope="tools:write", resource_metadata="http://gw.test/.well-known/oauth-protected-resource/mcp"`
	if w.Code != 403 || w.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("MCP forbid: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	w = do(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plain.Forbid(w, r, "") }), nil)
	if w.Code != 403 || w.Header().Get("WWW-Authenticate") != "" || !strings.Contains(w.Body.String(), `"permission_error"`) {
		t.Fatalf("plain forbid: %d %q %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
	}
}
