package reliability

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// mcpPing sends a JSON-RPC ping to the gateway's /mcp with token (none when empty).
func mcpPing(t testing.TB, gwURL, token string) (int, http.Header, []byte) {
	t.Helper()
	h := []string{"Accept", "application/json, text/event-stream"}
	if token != "" {
		h = append(h, "Authorization", "Bearer "+token)
	}
	return post(t, gwURL+"/mcp", "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, h...)
}

// jwksCounter is a reverse proxy in front of the issuer that counts JWKS fetches.
type jwksCounter struct {
	fetches atomic.Int64
	Addr    string
}

func startJWKSCounter(t *testing.T, issuerURL string) *jwksCounter {
	u, err := url.Parse(issuerURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &jwksCounter{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks" {
			c.fetches.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.Addr = strings.TrimPrefix(srv.URL, "http://")
	return c
}

// JWT attacks against the mcp route (Strict JWT with the issuer's remote JWKS): only a token
// signed by the issuer's key, for its issuer and audience, inside its validity, is accepted;
// floods of unknown kids do not multiply JWKS fetches; known keys keep working with the issuer
// down.
func TestJWTAttacks(t *testing.T) {
	iss := startIssuer(t)
	everything := startEverythingOrSkip(t)
	counter := startJWKSCounter(t, iss.URL)
	_, res := renderPlatform(t, []string{"mcp"}, append(identitySet(iss.OIDCIssuer, iss.Port), "mcp.requests=10000", "mcp.bucket=10000"))
	gw := startGateway(t, res, gwOptions{Resolve: map[string]string{
		"mcp-server-everything.mcp": everything,
		"dex.dex":                   counter.Addr,
	}})

	now := time.Now()
	claims := func(mod func(gojwt.MapClaims)) gojwt.MapClaims {
		c := gojwt.MapClaims{"iss": iss.URL, "aud": "gateway", "sub": "alice", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(key *rsa.PrivateKey, kid string, c gojwt.MapClaims) string {
		tok := gojwt.NewWithClaims(gojwt.SigningMethodRS256, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&iss.Key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmac := func(secret []byte) string {
		tok := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims(nil))
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b64 := base64.RawURLEncoding.EncodeToString
	valid := sign(iss.Key, "k1", claims(nil))
	payload := strings.Split(valid, ".")[1]

	accepted := func(t *testing.T, token string) {
		t.Helper()
		if st, _, b := mcpPing(t, gw.URL, token); st == http.StatusUnauthorized || st >= 500 {
			t.Fatalf("a valid token was refused: %d %s", st, b)
		}
	}
	accepted(t, valid)
	accepted(t, iss.Token(t, ""))

	for _, tc := range []struct{ name, token string }{
		{"no token", ""},
		{"garbage", "not.a.jwt"},
		{"forged (another key, same kid)", sign(other, "k1", claims(nil))},
		{"tampered payload", strings.Join([]string{strings.Split(valid, ".")[0], b64([]byte(`{"iss":"` + iss.URL + `","aud":"gateway","sub":"admin","exp":9999999999}`)), strings.Split(valid, ".")[2]}, ".")},
		{"expired", sign(iss.Key, "k1", claims(func(c gojwt.MapClaims) { c["exp"] = now.Add(-5 * time.Minute).Unix() }))},
		{"not yet valid", sign(iss.Key, "k1", claims(func(c gojwt.MapClaims) { c["nbf"] = now.Add(10 * time.Minute).Unix() }))},
		{"no exp", sign(iss.Key, "k1", claims(func(c gojwt.MapClaims) { delete(c, "exp") }))},
		{"wrong issuer", sign(iss.Key, "k1", claims(func(c gojwt.MapClaims) { c["iss"] = "https://evil.example" }))},
		{"wrong audience", sign(iss.Key, "k1", claims(func(c gojwt.MapClaims) { c["aud"] = "other" }))},
		{"alg none", b64([]byte(`{"alg":"none","typ":"JWT","kid":"k1"}`)) + "." + payload + "."},
		{"alg None, signature kept", b64([]byte(`{"alg":"None","kid":"k1"}`)) + "." + payload + "." + strings.Split(valid, ".")[2]},
		{"HS256 keyed with the RSA public key PEM", hmac(pubPEM)},
		{"HS256 keyed with the RSA public key DER", hmac(pubDER)},
		{"HS256 keyed with the modulus", hmac(iss.Key.PublicKey.N.Bytes())},
		{"unknown kid", sign(iss.Key, "k-unknown", claims(nil))},
		{"kid path traversal", sign(iss.Key, "../../etc/passwd", claims(nil))},
		{"embedded jwk header", func() string {
			tok := gojwt.NewWithClaims(gojwt.SigningMethodRS256, claims(nil))
			tok.Header["jwk"] = map[string]string{"kty": "RSA", "n": b64(other.PublicKey.N.Bytes()), "e": "AQAB"}
			s, _ := tok.SignedString(other)
			return s
		}()},
		{"jku header to an attacker", func() string {
			tok := gojwt.NewWithClaims(gojwt.SigningMethodRS256, claims(nil))
			tok.Header["kid"] = "k2"
			tok.Header["jku"] = "http://127.0.0.1:1/jwks"
			s, _ := tok.SignedString(other)
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, h, b := mcpPing(t, gw.URL, tc.token)
			if st != http.StatusUnauthorized {
				t.Fatalf("status %d (want 401): %s", st, b)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			}
			if tc.token != "" && (strings.Contains(string(b), tc.token) || strings.Contains(gw.Logs.String(), tc.token)) {
				t.Fatal("the rejected token was echoed in the body or the logs")
			}
		})
	}

	t.Run("a flood of random kids does not multiply JWKS fetches", func(t *testing.T) {
		before := counter.fetches.Load()
		if before == 0 {
			t.Fatal("the JWKS was never fetched through the counting proxy")
		}
		start := time.Now()
		var wg sync.WaitGroup
		var refused atomic.Int64
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 40; i++ {
					tok := sign(other, fmt.Sprintf("kid-%d-%d-%d", w, i, now.UnixNano()), claims(nil))
					if st, _, _ := mcpPing(t, gw.URL, tok); st == http.StatusUnauthorized {
						refused.Add(1)
					}
				}
			}(w)
		}
		wg.Wait()
		fetches := counter.fetches.Load() - before
		t.Logf("320 random-kid tokens in %s caused %d JWKS fetches", time.Since(start).Round(time.Millisecond), fetches)
		if refused.Load() != 320 {
			t.Fatalf("%d of 320 refused", refused.Load())
		}
		// One fetch per 10s unknown-kid interval at most (plus a background refresh).
		if max := int64(time.Since(start)/(10*time.Second)) + 2; fetches > max {
			t.Fatalf("%d JWKS fetches, want at most %d", fetches, max)
		}
		accepted(t, valid)
	})

	t.Run("issuer down: known keys keep working", func(t *testing.T) {
		iss.Stop()
		waitFor(t, "the issuer to stop", 5*time.Second, func() bool {
			_, err := http.Get(iss.URL + "/jwks")
			return err != nil
		})
		accepted(t, sign(iss.Key, "k1", claims(func(c gojwt.MapClaims) { c["sub"] = "bob" })))
		if st, _, _ := mcpPing(t, gw.URL, sign(other, "k1", claims(nil))); st != http.StatusUnauthorized {
			t.Fatalf("a forged token with the issuer down: %d", st)
		}
		if st, _, _ := mcpPing(t, gw.URL, sign(other, "k-new", claims(nil))); st != http.StatusUnauthorized {
			t.Fatalf("an unknown kid with the issuer down: %d", st)
		}
	})
}
