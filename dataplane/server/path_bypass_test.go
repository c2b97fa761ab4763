package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/wiring"
)

// bypassRoutes is the review's setup: a public "/" route, a JWT-protected "/auth" route and a
// rate-limited "/limited" route, all to the same Service. JWKS is filled in by the test.
const bypassRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: default}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: public, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /}}], backendRefs: [{name: app, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: auth, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /auth}}], backendRefs: [{name: app, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: limited, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /limited}}], backendRefs: [{name: app, port: 80}]}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: authn, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: auth}]
  traffic:
    jwtAuthentication:
      mode: Strict
      providers: [{issuer: https://issuer.test, audiences: [gw], jwks: {inline: 'JWKS'}}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: limit, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: limited}]
  traffic: {rateLimit: {local: [{requests: 1, unit: Hours}]}}
`

// The review's finding (security #15, finding 3): request targets that a normalising upstream
// resolves to /auth/x matched the public "/" route and reached the upstream without a token;
// the same spellings evaded a route's rate limit. Every one must now get the protected route's
// answer (401, 429) or 400, and never reach the upstream.
func TestPathBypassOfJWTAndRateLimit(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}})
	var hits atomic.Int64
	up := recordingUpstream(t)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		up.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(counting.Close)
	addr := startStandardGateway(t, strings.Replace(bypassRoutes, "JWKS", string(jwks), 1), counting)
	h2 := h2cClient(t)

	jt := gojwt.NewWithClaims(gojwt.SigningMethodRS256, gojwt.MapClaims{
		"iss": "https://issuer.test", "aud": "gw", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix(),
	})
	jt.Header["kid"] = "k1"
	tok, err := jt.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	// The setup works: the token opens /auth, the first /limited request passes.
	if resp := rawGet(t, addr, "/auth/x", "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
		t.Fatalf("/auth/x with a token: %d", resp.StatusCode)
	}
	if resp := rawGet(t, addr, "/limited/x"); resp.StatusCode != 200 {
		t.Fatalf("/limited/x: %d", resp.StatusCode)
	}

	// {r} is the protected route's path element.
	variants := []string{
		"//{r}/x", "/./{r}/x", "/x/../{r}/x", "/pub/%2e%2e/{r}/x", "/pub/%2E./{r}/x", "/%2f{r}/x",
		"http://gw//{r}/x", "http://gw/pub/../{r}/x", "/../{r}/x", "///{r}//x", "/{r};x/y", "/pub/..;/{r}/x",
		"/;x/{r}/x", `/pub\..\{r}/x`, "/pub/%5c../{r}/x",
	}
	h2variants := []string{"//{r}/x", "/x/../{r}/x", "/pub/%2e%2e/{r}/x", "/%2f{r}/x", "/{r};x/y"}
	before := hits.Load()
	for _, tc := range []struct{ route, want string }{{"auth", "401"}, {"limited", "429"}} {
		check := func(name string, resp *http.Response) {
			t.Helper()
			if resp == nil {
				t.Errorf("%s: no response", name)
				return
			}
			if got := resp.Status[:3]; got != tc.want && got != "400" {
				t.Errorf("%s: %s (upstream saw %q), want %s or 400", name, resp.Status, resp.Header.Get("X-Seen-URI"), tc.want)
			}
		}
		for _, v := range variants {
			target := strings.ReplaceAll(v, "{r}", tc.route)
			check(target, rawGet(t, addr, target))
		}
		for _, v := range h2variants {
			target := strings.ReplaceAll(v, "{r}", tc.route)
			check("h2c "+target, h2cGet(t, h2, addr, target))
		}
		// Spelled differently, a token still opens the protected route.
		if tc.route == "auth" {
			if resp := rawGet(t, addr, "/pub/%2e%2e/auth/x", "Authorization", "Bearer "+tok); resp.StatusCode != 200 || resp.Header.Get("X-Seen-URI") != "/auth/x" {
				t.Errorf("/pub/%%2e%%2e/auth/x with a token: %d, upstream saw %q", resp.StatusCode, resp.Header.Get("X-Seen-URI"))
			}
			before++
		}
	}
	if n := hits.Load() - before; n != 0 {
		t.Errorf("the upstream was reached %d times by bypass variants", n)
	}
}

// startStandardGateway runs the dataplane as cmd/dataplane assembles it (bootstrap with the
// standard policies and backends) on resources, with Service default/app at up.
func startStandardGateway(t *testing.T, resources string, up *httptest.Server) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "resources.yaml")
	if err := os.WriteFile(file, []byte(resources), 0o644); err != nil {
		t.Fatal(err)
	}
	d := bootstrap.New(bootstrap.Settings{
		Config:  []string{file},
		Resolve: map[string]string{"app.default": strings.TrimPrefix(up.URL, "http://")},
	}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := wiring.Install(ctx, d, wiring.Options{SessionKey: make([]byte, 32)}); err != nil {
		cancel()
		t.Fatal(err)
	}
	if _, err := d.Load(); err != nil {
		cancel()
		t.Fatalf("load: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}
