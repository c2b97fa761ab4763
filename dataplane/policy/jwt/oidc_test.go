package jwt

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/infergw/gwctl/internal/testenv"
)

// oidcIssuer is a running oidc-provider (hack/npm/oidc-issuer.mjs, via internal/testenv).
type oidcIssuer struct {
	*testenv.OIDCIssuer
	url string
}

func startIssuer(t *testing.T, port int, key *rsa.PrivateKey, kid string) *oidcIssuer {
	t.Helper()
	i := testenv.StartOIDCIssuer(t, port, key, kid)
	return &oidcIssuer{OIDCIssuer: i, url: i.URL}
}

func (i *oidcIssuer) stop() { i.Stop() }

func (i *oidcIssuer) token(t *testing.T, resource string) string { return i.Token(t, resource) }

func TestOIDCProviderIssuer(t *testing.T) {
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	iss := startIssuer(t, port, k1, "k1")
	a, err := New(Config{Providers: []Provider{{
		Issuer: iss.url, Audiences: []string{"gateway"}, Types: []string{"at+jwt"},
		JWKS: JWKS{URL: iss.url + "/jwks", CacheDuration: 5 * time.Minute},
	}}}, Deps{UnknownKIDInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	defer a.Close()
	h := a.Middleware(&echo{})
	status := func(tok string) int { return do(t, h, withBearer(tok)).Code }

	good := iss.token(t, "")
	if c := status(good); c != 200 {
		t.Fatalf("issuer's token: status %d", c)
	}
	now := time.Now()
	real := testKey{"k1", "RS256", k1}
	mk := func(mut func(gojwt.MapClaims), hdr map[string]any) string {
		return sign(t, real, claimsAt(now, func(c gojwt.MapClaims) {
			c["iss"] = iss.url
			if mut != nil {
				mut(c)
			}
		}), hdr)
	}
	parts := strings.Split(good, ".")
	payload, _ := json.Marshal(map[string]any{"iss": iss.url, "aud": "gateway", "sub": "admin", "exp": now.Add(time.Hour).Unix()})
	pubDER, _ := x509.MarshalPKIXPublicKey(&k1.PublicKey)
	hs := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{"iss": iss.url, "aud": "gateway", "exp": now.Add(time.Hour).Unix()})
	hs.Header["kid"], hs.Header["typ"] = "k1", "at+jwt"
	hsTok, _ := hs.SignedString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	none := gojwt.NewWithClaims(gojwt.SigningMethodNone, gojwt.MapClaims{"iss": iss.url, "aud": "gateway", "exp": now.Add(time.Hour).Unix()})
	none.Header["kid"], none.Header["typ"] = "k1", "at+jwt"
	noneTok, _ := none.SignedString(gojwt.UnsafeAllowNoneSignatureType)
	at := map[string]any{"typ": "at+jwt"}

	refused := map[string]string{
		"forged payload":  parts[0] + "." + b64(payload) + "." + parts[2],
		"wrong audience":  iss.token(t, "urn:other"),
		"expired":         mk(func(c gojwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() }, at),
		"not yet valid":   mk(func(c gojwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }, at),
		"wrong issuer":    mk(func(c gojwt.MapClaims) { c["iss"] = "http://127.0.0.1:1" }, at),
		"alg none":        noneTok,
		"HS256 confusion": hsTok,
		"typ not at+jwt":  mk(nil, map[string]any{"typ": "JWT"}),
	}
	if c := status(mk(nil, at)); c != 200 {
		t.Fatalf("control token signed with the issuer's key: status %d", c)
	}
	for name, tok := range refused {
		if c := status(tok); c != 401 {
			t.Errorf("%s: status %d, want 401", name, c)
		}
	}

	// Issuer stopped: tokens from known keys keep working, also once a refresh has failed.
	spare := iss.token(t, "")
	iss.stop()
	if err := a.remotes[0].refresh(ctx, true); err == nil {
		t.Fatal("refresh succeeded with the issuer stopped")
	}
	if c := status(spare); c != 200 {
		t.Fatalf("known key after the issuer stopped: status %d", c)
	}

	// Rotation: the issuer comes back with a new signing key k2; its tokens are picked up.
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss2 := startIssuer(t, port, k2, "k2")
	rotated := iss2.token(t, "")
	if c := status(rotated); c != 200 {
		t.Fatalf("token from the rotated key: status %d", c)
	}
}
