package wiring_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/dataplane/wiring"
	"github.com/infergw/gwctl/internal/testenv"
)

// tlsServer serves h over HTTPS on loopback with a certificate for names signed by ca; with
// clientCAs it requires a client certificate they signed (mTLS). Plain hits count requests
// that arrive without TLS (none may: the gateway never falls back to plain HTTP).
func tlsServer(t *testing.T, ca *testenv.CA, names []string, clientCAs *x509.CertPool, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some cases test
	s.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, testenv.Leaf{Names: names}).TLS}}
	if clientCAs != nil {
		s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		s.TLS.ClientCAs = clientCAs
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// llmUpstream answers the three provider APIs the dataplane translates to, by path.
func llmUpstream(served *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/chat/completions"):
			fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi over tls"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}`)
		case strings.HasSuffix(r.URL.Path, "/messages"):
			fmt.Fprint(w, anthropictest.DefaultMessage)
		case strings.HasSuffix(r.URL.Path, ":generateContent"):
			fmt.Fprint(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"hi over tls"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":3,"totalTokenCount":6},"modelVersion":"gemini-2.5-flash"}`)
		default:
			http.NotFound(w, r)
		}
	})
}

// mcpUpstream is a real MCP server (the Go SDK's) with an echo tool.
func mcpUpstream() http.Handler {
	s := sdk.NewServer(&sdk.Implementation{Name: "tls-target", Version: "1"}, nil)
	type args struct {
		Message string `json:"message"`
	}
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "echoes"}, func(_ context.Context, _ *sdk.CallToolRequest, a args) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "echo: " + a.Message}}}, nil, nil
	})
	return sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
}

// jwksUpstream serves key as a JWKS under kid at /jwks.
func jwksUpstream(key *ecdsa.PrivateKey, kid string) http.Handler {
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	pub, _ := key.PublicKey.ECDH()
	raw := pub.Bytes() // 0x04 || X || Y
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": enc(raw[1:33]), "y": enc(raw[33:]),
	}}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jwks" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
}

func addrOf(s *httptest.Server) (host, port string) {
	host, port, _ = strings.Cut(strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://"), ":")
	return host, port
}

// TestUpstreamTLSEndToEnd sends real clients through the dataplane, configured from resources
// as a user writes them, to real HTTPS upstreams made by the test: MCP targets, AI providers
// with a custom host, a remote JWKS and InferencePool endpoints, each verified against a test CA
// and each requiring the gateway's client certificate (mTLS). A wrong CA, a missing client
// certificate or a plain-HTTP upstream is an error in the client's shape with a log line naming
// the cause, and never a request over plain HTTP.
func TestUpstreamTLSEndToEnd(t *testing.T) {
	ca, otherCA := testenv.NewCA(t, "upstream CA"), testenv.NewCA(t, "someone else")
	client := ca.Issue(t, testenv.Leaf{Names: []string{"gateway-client"}, Client: true})
	mtls := ca.Pool()

	var llmServed, plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	t.Cleanup(plain.Close)
	llmGood := tlsServer(t, ca, []string{"llm.internal"}, mtls, llmUpstream(&llmServed))
	llmStranger := tlsServer(t, otherCA, []string{"llm.internal"}, nil, llmUpstream(&llmServed))
	mcpGood := tlsServer(t, ca, []string{"mcp.internal"}, mtls, mcpUpstream())
	mcpStranger := tlsServer(t, otherCA, []string{"mcp.internal"}, nil, mcpUpstream())
	signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwksGood := tlsServer(t, ca, []string{"idp.internal"}, mtls, jwksUpstream(signer, "k1"))
	jwksStranger := tlsServer(t, otherCA, []string{"idp.internal"}, nil, jwksUpstream(signer, "k1"))
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "protected") }))
	t.Cleanup(echo.Close)
	sim := func() http.Handler {
		s, err := vllmsim.New(vllmsim.Config{Model: "sim-model", DecodePerToken: time.Millisecond, PrefillBase: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	poolGood := tlsServer(t, ca, []string{"model.internal"}, mtls, sim())
	poolStranger := tlsServer(t, otherCA, []string{"model.internal"}, nil, sim())

	var y strings.Builder
	y.WriteString(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
  tls:
    backend:
      clientCertificateRef: {name: gw-client}
---
`)
	y.WriteString(testenv.CAConfigMapYAML("default", "ca", ca.PEM))
	y.WriteString(testenv.SecretYAML("default", "gw-client", client))
	route := func(name, match, backendRef string) {
		fmt.Fprintf(&y, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %s, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [%s]
    backendRefs: [%s]
---
`, name, match, backendRef)
	}
	agw := func(name string) string {
		return "{group: agentgateway.dev, kind: AgentgatewayBackend, name: " + name + "}"
	}
	withCert := "{sni: %s, caCertificateRefs: [{name: ca}], mtlsCertificateRef: [{name: gw-client}]}"
	backend := func(name, spec, tlsFmt, sni string) {
		fmt.Fprintf(&y, "apiVersion: agentgateway.dev/v1alpha1\nkind: AgentgatewayBackend\nmetadata: {name: %s, namespace: default}\nspec:\n%s  policies:\n    tls: "+tlsFmt+"\n", name, spec, sni)
		if strings.Contains(spec, "anthropic") || strings.Contains(spec, "gemini") {
			y.WriteString("    auth: {secretRef: {name: anthropic-api-key}}\n")
		}
		y.WriteString("---\n")
	}

	// (a) MCP targets.
	mcpTarget := func(s *httptest.Server) string {
		h, p := addrOf(s)
		return fmt.Sprintf("  mcp:\n    targets:\n    - name: tools\n      static: {host: %s, port: %s, path: /mcp}\n", h, p)
	}
	backend("mcp-good", mcpTarget(mcpGood), withCert, "mcp.internal")
	backend("mcp-badca", mcpTarget(mcpStranger), withCert, "mcp.internal")
	backend("mcp-nocert", mcpTarget(mcpGood), "{sni: %s, caCertificateRefs: [{name: ca}]}", "mcp.internal")
	backend("mcp-plain", mcpTarget(plain), withCert, "mcp.internal")
	backend("mcp-skip", mcpTarget(mcpStranger), "{insecureSkipVerify: All%s}", "") // honoured, with a warning finding
	for _, n := range []string{"mcp-good", "mcp-badca", "mcp-nocert", "mcp-plain", "mcp-skip"} {
		route(n, "{path: {type: PathPrefix, value: /"+n+"}}", agw(n))
	}

	// (b) AI providers with a custom host.
	provider := func(typ, model string, s *httptest.Server) string {
		h, p := addrOf(s)
		return fmt.Sprintf("  ai:\n    provider:\n      %s: {model: %s}\n      host: %s\n      port: %s\n", typ, model, h, p)
	}
	llmCases := map[string]string{}
	for _, typ := range []string{"openai", "anthropic", "gemini"} {
		model := map[string]string{"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}[typ]
		backend(typ+"-good", provider(typ, model, llmGood), withCert, "llm.internal")
		backend(typ+"-badca", provider(typ, model, llmStranger), withCert, "llm.internal")
		llmCases[typ+"-good"], llmCases[typ+"-badca"] = model, model
	}
	backend("openai-plain", provider("openai", "gpt-4o-mini", plain), withCert, "llm.internal")
	llmCases["openai-plain"] = "gpt-4o-mini"
	for n := range llmCases {
		route(n, "{path: {type: PathPrefix, value: /v1}, headers: [{name: x-upstream, value: "+n+"}]}", agw(n))
	}

	// (c) Remote JWKS over HTTPS, behind a route's JWT policy.
	for _, n := range []string{"jwks-good", "jwks-badca"} {
		s := jwksGood
		if n == "jwks-badca" {
			s = jwksStranger
		}
		h, p := addrOf(s)
		backend(n, fmt.Sprintf("  static: {host: %s, port: %s}\n", h, p), withCert, "idp.internal")
		route(n, "{path: {type: PathPrefix, value: /"+n+"}}", "{name: echo, port: 80}")
		fmt.Fprintf(&y, `apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: %s, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: %s}]
  traffic:
    jwtAuthentication:
      mode: Strict
      providers:
      - issuer: https://idp.internal
        audiences: [gateway]
        jwks:
          remote:
            jwksPath: /jwks
            backendRef: %s
---
`, n, n, agw(n))
	}

	// (d) InferencePool endpoints over TLS: a BackendTLSPolicy targets the pool, and the client
	// certificate is the Gateway's spec.tls.backend.clientCertificateRef.
	pools := map[string][]string{}
	for _, n := range []string{"pool-good", "pool-badca"} {
		s := poolGood
		if n == "pool-badca" {
			s = poolStranger
		}
		h, p := addrOf(s)
		pools[n+".default"] = []string{h + ":" + p}
		fmt.Fprintf(&y, `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: %s, namespace: default}
spec:
  selector: {matchLabels: {app: %s}}
  targetPorts: [{number: %s}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: %s, namespace: default}
spec:
  targetRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: %s}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
    hostname: model.internal
---
`, n, n, p, n, n)
		route(n, "{path: {type: PathPrefix, value: /v1}, headers: [{name: x-upstream, value: "+n+"}]}", "{group: inference.networking.k8s.io, kind: InferencePool, name: "+n+"}")
	}

	// The same over an AgentgatewayPolicy's backend.tls targeting the pool, with its own client
	// certificate (mtlsCertificateRef).
	{
		h, p := addrOf(poolGood)
		pools["pool-agw.default"] = []string{h + ":" + p}
		fmt.Fprintf(&y, `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool-agw, namespace: default}
spec:
  selector: {matchLabels: {app: pool-agw}}
  targetPorts: [{number: %s}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: pool-agw, namespace: default}
spec:
  targetRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-agw}]
  backend:
    tls: {sni: model.internal, caCertificateRefs: [{name: ca}], mtlsCertificateRef: [{name: gw-client}]}
---
`, p)
		route("pool-agw", "{path: {type: PathPrefix, value: /v1}, headers: [{name: x-upstream, value: pool-agw}]}", "{group: inference.networking.k8s.io, kind: InferencePool, name: pool-agw}")
	}

	gw := startDataplaneWith(t, []byte(y.String()), map[string]string{"echo.default": strings.TrimPrefix(echo.URL, "http://")},
		wiring.Options{SessionKey: make([]byte, 32), PoolEndpoints: pools, PoolInProcess: true})

	for _, path := range []string{"/mcp-good", "/mcp-skip"} {
		t.Run("MCP target "+path+": the SDK client calls a tool", func(t *testing.T) {
			c := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			session, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: gw.url + path}, nil)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer session.Close()
			res, err := session.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "over tls"}})
			if err != nil || res.IsError || len(res.Content) == 0 || !strings.Contains(res.Content[0].(*sdk.TextContent).Text, "over tls") {
				t.Fatalf("tools/call echo: %v %+v", err, res)
			}
		})
	}

	for _, tc := range []struct{ path, logCause string }{
		{"/mcp-badca", "certificate signed by unknown authority"},
		{"/mcp-nocert", "certificate required"},
		{"/mcp-plain", "server gave HTTP response to HTTPS client"},
	} {
		t.Run("MCP "+tc.path+": JSON-RPC error", func(t *testing.T) {
			resp, body := postJSON(t, gw.url+tc.path, nil,
				`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`)
			var e struct {
				JSONRPC string
				ID      any
				Error   *struct {
					Code    int
					Message string
				}
			}
			// The MCP handler answers a target failure as MCP servers answer their own errors:
			// HTTP 200 with the JSON-RPC error (the gateway's code -32003 and the reason).
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.JSONRPC != "2.0" || e.Error == nil || e.Error.Code != -32003 {
				t.Fatalf("body %s, want a JSON-RPC error -32003", body)
			}
			waitLog(t, gw.logs, "mcp target failed", "MCP/default"+tc.path, tc.logCause)
		})
	}

	t.Run("AI providers with a custom host over mTLS", func(t *testing.T) {
		for _, typ := range []string{"openai", "anthropic", "gemini"} {
			before := llmServed.Load()
			c := openai.NewClient(option.WithBaseURL(gw.url+"/v1"), option.WithAPIKey("client-key"),
				option.WithHeader("x-upstream", typ+"-good"), option.WithMaxRetries(0))
			resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:    llmCases[typ+"-good"],
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || llmServed.Load() != before+1 {
				t.Fatalf("%s: response %+v", typ, resp)
			}
		}
	})

	for _, n := range []string{"openai-badca", "anthropic-badca", "gemini-badca", "openai-plain"} {
		t.Run("AI "+n+": OpenAI error", func(t *testing.T) {
			before := llmServed.Load()
			resp, body := postJSON(t, gw.url+"/v1/chat/completions", map[string]string{"x-upstream": n},
				`{"model":"`+llmCases[n]+`","messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 502 or 503: %s", resp.StatusCode, body)
			}
			var e struct {
				Error *struct{ Message, Type string }
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == nil || e.Error.Message == "" {
				t.Fatalf("body %s, want an OpenAI error", body)
			}
			if llmServed.Load() != before {
				t.Fatal("an upstream the gateway cannot verify was sent the request")
			}
			if strings.HasSuffix(n, "badca") {
				waitLog(t, gw.logs, "AI/default/"+n, "certificate signed by unknown authority")
			}
		})
	}

	token := func(t *testing.T) string {
		t.Helper()
		tok := gojwt.NewWithClaims(gojwt.SigningMethodES256, gojwt.MapClaims{
			"iss": "https://idp.internal", "aud": "gateway", "sub": "e2e", "exp": time.Now().Add(time.Hour).Unix(),
		})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("remote JWKS over mTLS: a signed token is accepted", func(t *testing.T) {
		resp, body := getWith(t, gw.url+"/jwks-good", map[string]string{"Authorization": "Bearer " + token(t)})
		if resp.StatusCode != http.StatusOK || body != "protected" {
			t.Fatalf("status %d: %s\n%s", resp.StatusCode, body, gw.logs.String())
		}
	})
	t.Run("remote JWKS with a wrong CA: 401 and the reason in the log", func(t *testing.T) {
		resp, body := getWith(t, gw.url+"/jwks-badca", map[string]string{"Authorization": "Bearer " + token(t)})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		waitLog(t, gw.logs, "jwks fetch failed", "default/jwks-badca", "certificate signed by unknown authority")
	})

	for _, n := range []string{"pool-good", "pool-agw"} {
		t.Run("InferencePool endpoints over mTLS: "+n, func(t *testing.T) {
			poolCall(t, gw.url, n)
		})
	}
	t.Run("InferencePool endpoint with a wrong CA: OpenAI error", func(t *testing.T) {
		resp, body := postJSON(t, gw.url+"/v1/chat/completions", map[string]string{"x-upstream": "pool-badca"},
			`{"model":"sim-model","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`)
		var e struct {
			Error *struct{ Message, Type string }
		}
		if (resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable) ||
			json.Unmarshal([]byte(body), &e) != nil || e.Error == nil {
			t.Fatalf("status %d: %s, want 502/503 with an OpenAI error", resp.StatusCode, body)
		}
		waitLog(t, gw.logs, "pool-badca", "upstream TLS handshake failed", "certificate signed by unknown authority")
	})

	if plainHits.Load() != 0 {
		t.Errorf("a TLS upstream was called over plain HTTP %d times", plainHits.Load())
	}
}

// poolCall sends a chat completion to the pool the x-upstream header names; its endpoint is a
// candidate once its metrics were scraped (over mTLS too), so 503 is retried until then.
func poolCall(t *testing.T, base, pool string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := postJSON(t, base+"/v1/chat/completions", map[string]string{"x-upstream": pool},
			`{"model":"sim-model","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode == http.StatusOK && strings.Contains(body, `"chat.completion"`) {
			return
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond) // polling for the first scrape
	}
}

func postJSON(t *testing.T, url string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func getWith(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// waitLog waits for a log line containing every one of subs (the dataplane may log after
// answering).
func waitLog(t *testing.T, logs *syncBuffer, subs ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(logs.String(), "\n") {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with all of %q", subs)
		}
		time.Sleep(10 * time.Millisecond) // polling the log
	}
}
