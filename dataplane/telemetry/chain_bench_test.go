package telemetry_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/infergw/gwctl/dataplane/policy/jwt"
	"github.com/infergw/gwctl/dataplane/policy/ratelimit"
	"github.com/infergw/gwctl/dataplane/telemetry"
	"github.com/infergw/gwctl/dataplane/telemetry/otlptest"
)

// chain builds the policy chain the dataplane wires: server span (1 % random sampling, exported
// over OTLP/HTTP to a loopback receiver) → JWT (token cached) → local rate limit → handler.
func chain(b *testing.B, handler http.Handler) (http.Handler, string) {
	b.Helper()
	jwks, raw := testToken(b)
	auth, err := jwt.New(jwt.Config{Providers: []jwt.Provider{{Issuer: "https://issuer.test", Audiences: []string{"gateway"},
		JWKS: jwt.JWKS{Inline: jwks}}}}, jwt.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	lim, err := ratelimit.NewLocal(ratelimit.Limit{Requests: 1 << 40, Unit: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	recv := otlptest.NewHTTP(b)
	tp, err := telemetry.NewTracerProvider(context.Background(), telemetry.TracingConfig{
		Endpoint: recv.Endpoint, Protocol: telemetry.ProtocolHTTP, Insecure: true, RandomSampling: "0.01"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := telemetry.ServerMiddleware(tp)(auth.Middleware(ratelimit.Middleware([]ratelimit.Rule{{Limiter: lim}}, ratelimit.Options{})(handler)))
	return h, raw
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
})

// BenchmarkChainInProcess is the chain's own cost, without network (compare with .../bare).
func BenchmarkChainInProcess(b *testing.B) {
	h, tok := chain(b, hello)
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", hello}, {"chain", h}} {
		b.Run(tc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodPost, "http://gw.test/v1/chat/completions", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				r.Header.Set("Authorization", "Bearer "+tok)
				tc.h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkChainRatio serves the bare handler and the chained one on loopback HTTP servers and
// alternates requests between them; "ratio" is bare time ÷ chain time (throughput of the chain
// relative to the bare handler; 1.0 = free).
func BenchmarkChainRatio(b *testing.B) {
	h, tok := chain(b, hello)
	bare := httptest.NewServer(hello)
	defer bare.Close()
	chained := httptest.NewServer(h)
	defer chained.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	call := func(url string) time.Duration {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	call(bare.URL)
	call(chained.URL)
	var tBare, tChain time.Duration
	b.ReportAllocs()
	for b.Loop() {
		tBare += call(bare.URL)
		tChain += call(chained.URL)
	}
	b.ReportMetric(float64(tBare)/float64(tChain), "ratio")
	b.ReportMetric(float64(tBare.Nanoseconds())/float64(b.N), "bare-ns/req")
	b.ReportMetric(float64(tChain.Nanoseconds())/float64(b.N), "chain-ns/req")
}

// testToken is an inline JWKS and a valid RS256 token it verifies (iss https://issuer.test, aud gateway).
func testToken(t testing.TB) (jwks, token string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	set, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "k", "alg": "RS256",
		"n": enc(key.N.Bytes()), "e": enc(big.NewInt(int64(key.E)).Bytes())}}})
	tok := gojwt.NewWithClaims(gojwt.SigningMethodRS256, gojwt.MapClaims{"iss": "https://issuer.test", "aud": "gateway",
		"sub": "bench", "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "k"
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(set), raw
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark measures the handlers.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
