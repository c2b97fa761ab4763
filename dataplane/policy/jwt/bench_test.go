package jwt

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkAuthenticateCached is the per-request cost of an already verified token.
func BenchmarkAuthenticateCached(b *testing.B) {
	genKeys(b)
	rs := testKey{"rs", "RS256", rsaKey}
	a, err := New(Config{Providers: []Provider{{Issuer: testIssuer, Audiences: []string{"gateway"}, JWKS: JWKS{Inline: jwksJSON(b, rs)}}}}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	tok := sign(b, rs, claimsAt(time.Now(), nil), nil)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMiddlewareCached is the cached check through the middleware (extract, verify, strip, context).
func BenchmarkMiddlewareCached(b *testing.B) {
	genKeys(b)
	rs := testKey{"rs", "RS256", rsaKey}
	a, err := New(Config{Providers: []Provider{{Issuer: testIssuer, Audiences: []string{"gateway"}, JWKS: JWKS{Inline: jwksJSON(b, rs)}}}}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	tok := sign(b, rs, claimsAt(time.Now(), nil), nil)
	h := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodPost, "http://gw.test/v1/chat/completions", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkAuthenticateUncached is a full RS256 verification (cache disabled).
func BenchmarkAuthenticateUncached(b *testing.B) {
	genKeys(b)
	rs := testKey{"rs", "RS256", rsaKey}
	a, err := New(Config{CacheSize: -1, Providers: []Provider{{Issuer: testIssuer, Audiences: []string{"gateway"}, JWKS: JWKS{Inline: jwksJSON(b, rs)}}}}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	tok := sign(b, rs, claimsAt(time.Now(), nil), nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
