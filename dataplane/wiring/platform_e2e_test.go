package wiring_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/dataplane/telemetry"
	"github.com/infergw/gwctl/dataplane/telemetry/otlptest"
	"github.com/infergw/gwctl/dataplane/wiring"
	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
)

const providerKey = "sk-ant-e2e-0123456789abcdef"

// renderGatewayResources renders the bundled platform with set and returns the dataplane
// ConfigMap's resources.yaml: exactly what the dataplane serves in a cluster.
func renderGatewayResources(t *testing.T, enable []string, set []string) []byte {
	t.Helper()
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Platform(context.Background(), cat, platform.Options{Enable: enable, Set: set})
	if err != nil {
		t.Fatal(err)
	}
	res, ok := out.GatewayResources()
	if !ok {
		t.Fatal("no dataplane-resources ConfigMap in the render")
	}
	return res
}

type gatewayUnderTest struct {
	url  string
	logs *syncBuffer
}

func startDataplane(t *testing.T, resources []byte, resolveMap map[string]string, pools map[string][]string) *gatewayUnderTest {
	t.Helper()
	return startDataplaneWith(t, resources, resolveMap, wiring.Options{SessionKey: make([]byte, 32), PoolEndpoints: pools})
}

// startDataplaneWith serves resources with the installer options opts.
func startDataplaneWith(t *testing.T, resources []byte, resolveMap map[string]string, opts wiring.Options) *gatewayUnderTest {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "resources.yaml"), resources, 0o644); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(filepath.Join(secrets, "anthropic-api-key"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "anthropic-api-key", "Authorization"), []byte(providerKey), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	d := bootstrap.New(bootstrap.Settings{
		Config: []string{filepath.Join(dir, "resources.yaml")}, SecretsDir: secrets, Resolve: resolveMap,
		AssumeServices: true, WatchInterval: 50 * time.Millisecond,
	}, slog.New(slog.NewJSONHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := wiring.Install(ctx, d, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Load(); err != nil {
		t.Fatalf("the dataplane refused the rendered platform: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return &gatewayUnderTest{url: "http://" + ln.Addr().String(), logs: logs}
}

// The bundled platform with egress and mcp on, rendered by gwctl and served by the dataplane:
// an OpenAI client reaches the (fake) Anthropic API through the egress route, and an MCP client
// with a token from a real OIDC issuer reaches the real example server through JWT, the tool
// policy and the rate limit.
func TestRenderedPlatformEndToEnd(t *testing.T) {
	fake := anthropictest.New(t, anthropictest.SchemaPath(t))
	everything := testenv.StartEverything(t, "streamableHttp")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	issuerPort := testenv.FreePort(t)
	issuer := testenv.StartOIDCIssuer(t, issuerPort, key, "k1")
	collector := otlptest.NewGRPC(t)
	var sims []string
	for i := 0; i < 2; i++ {
		sim, err := vllmsim.New(vllmsim.Config{Model: "llama-3-8b-instruct", Seed: uint64(i + 1), DecodePerToken: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		sims = append(sims, sim.Addr())
	}

	resources := renderGatewayResources(t, []string{"egress", "mcp", "fallback", "observability"}, []string{
		"observability.randomSampling=true",
		"secretStore.name=secret-store",
		"egress.host=127.0.0.1", "egress.port=" + strconv.Itoa(fake.Port),
		"identity.issuer=" + issuer.URL, "identity.jwksPath=/jwks", "identity.port=" + strconv.Itoa(issuerPort), "identity.audience=gateway",
	})
	gw := startDataplane(t, resources, map[string]string{
		"mcp-server-everything.mcp":    everything.Addr,
		"dex.dex":                      fmt.Sprintf("127.0.0.1:%d", issuerPort),
		"otel-collector.observability": collector.Endpoint,
	}, map[string][]string{"vllm.inference": sims})

	t.Run("egress: OpenAI client through the translation", func(t *testing.T) {
		client := openai.NewClient(option.WithBaseURL(gw.url+"/v1"), option.WithAPIKey("client-key-never-forwarded"))
		resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "claude-haiku-4-5",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hi")},
		})
		if err != nil {
			t.Fatalf("chat completion: %v", err)
		}
		if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || resp.Usage.PromptTokens == 0 {
			t.Fatalf("response %+v", resp)
		}
		reqs := fake.Requests()
		last := reqs[len(reqs)-1]
		if last.Header.Get("X-Api-Key") != providerKey || last.Header.Get("Authorization") != "" {
			t.Fatalf("upstream credentials: x-api-key %q, authorization %q", last.Header.Get("X-Api-Key"), last.Header.Get("Authorization"))
		}
		if strings.Contains(gw.logs.String(), providerKey) {
			t.Fatal("the provider key appears in the dataplane's logs")
		}
	})

	t.Run("tracing: a server span per request at the OTLP collector", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, gw.url+"/v1/chat/completions", strings.NewReader(`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// The server span continues the client's trace and carries the GenAI attributes; the
		// upstream call is its child, and the trace context reached the provider.
		deadline := time.Now().Add(15 * time.Second)
		for {
			var server, client *otlptest.Span
			for _, sp := range collector.Spans() {
				sp := sp
				switch {
				case sp.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736":
				case sp.ParentSpanID == "00f067aa0ba902b7":
					server = &sp
				case server != nil && sp.ParentSpanID == server.SpanID:
					client = &sp
				}
			}
			if server != nil && client == nil {
				for _, sp := range collector.Spans() {
					if sp.ParentSpanID == server.SpanID {
						sp := sp
						client = &sp
					}
				}
			}
			if server != nil && client != nil {
				if server.Attributes["gen_ai.request.model"] != "claude-haiku-4-5" || server.Attributes["gen_ai.provider.name"] != "anthropic" || server.Attributes["gen_ai.usage.input_tokens"] == nil {
					t.Fatalf("server span without GenAI attributes: %+v", server.Attributes)
				}
				if got := fake.Requests()[len(fake.Requests())-1].Header.Get("traceparent"); !strings.Contains(got, "4bf92f3577b34da6a3ce929d0e0e4736") {
					t.Fatalf("traceparent upstream %q", got)
				}
				return
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond) // polling the collector
		}
		t.Fatalf("no span of the client's trace among %+v", collector.Spans())
	})

	t.Run("local model: body-based routing to the InferencePool's picker", func(t *testing.T) {
		client := openai.NewClient(option.WithBaseURL(gw.url+"/v1"), option.WithAPIKey("none"))
		for i := 0; i < 4; i++ {
			resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:     "llama-3-8b-instruct",
				Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage(fmt.Sprintf("question %d", i))},
				MaxTokens: openai.Int(4),
			})
			if err != nil {
				t.Fatalf("chat completion through the pool: %v", err)
			}
			if resp.Model != "llama-3-8b-instruct" || resp.Usage.CompletionTokens == 0 {
				t.Fatalf("response %+v", resp)
			}
		}
		// With frontend.tracing on, the pick is a child span naming the pool and the endpoint.
		deadline := time.Now().Add(15 * time.Second)
		for {
			found := false
			for _, sp := range collector.Spans() {
				if sp.Name == telemetry.SpanEndpointPick && sp.ParentSpanID != "" && sp.Attributes["inference.pool"] == "inference/vllm" && sp.Attributes["inference.endpoint"] != nil {
					found = true
				}
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no endpoint-pick span for the pool")
			}
			time.Sleep(100 * time.Millisecond) // polling the collector
		}
	})

	t.Run("unknown model: 404", func(t *testing.T) {
		resp, err := http.Post(gw.url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"nope","messages":[{"role":"user","content":"x"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})

	t.Run("mcp: no token gets 401 with resource metadata", func(t *testing.T) {
		resp, err := http.Post(gw.url+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		meta, err := http.Get(gw.url + "/.well-known/oauth-protected-resource/mcp")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(meta.Body)
		meta.Body.Close()
		var doc map[string]any
		if meta.StatusCode != 200 || json.Unmarshal(body, &doc) != nil || fmt.Sprint(doc["authorization_servers"]) != "["+issuer.URL+"]" {
			t.Fatalf("protected-resource metadata: %d %s", meta.StatusCode, body)
		}
	})

	t.Run("mcp: tools through JWT, tool policy and rate limit", func(t *testing.T) {
		token := issuer.Token(t, "")
		hc := &http.Client{Transport: bearer{token: token}}
		client := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		session, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: gw.url + "/mcp", HTTPClient: hc}, nil)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer session.Close()
		tools, err := session.ListTools(ctx, nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		names := map[string]bool{}
		for _, tl := range tools.Tools {
			names[tl.Name] = true
		}
		if !names["echo"] || !names["get-sum"] || names["get-env"] || names["toggle-simulated-logging"] {
			t.Fatalf("the read-only tool policy is not applied: %v", names)
		}
		res, err := session.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "hi"}})
		if err != nil || res.IsError || len(res.Content) == 0 {
			t.Fatalf("tools/call echo: %v %+v", err, res)
		}
		if _, err := session.CallTool(ctx, &sdk.CallToolParams{Name: "get-env"}); err == nil {
			t.Fatal("a tool outside the policy was callable")
		}
		// The bucket holds 10 and refills 5 per second: a burst of 20 calls must see 429s.
		limited := 0
		for i := 0; i < 20; i++ {
			req, _ := http.NewRequest(http.MethodPost, gw.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				limited++
				if resp.Header.Get("x-ratelimit-limit") != "10" {
					t.Fatalf("x-ratelimit-limit %q, want 10", resp.Header.Get("x-ratelimit-limit"))
				}
			}
		}
		if limited == 0 {
			t.Fatal("no 429 after spending the bucket")
		}
		// With frontend.tracing on, the JWT check and the rate limit are child spans of the request's.
		deadline := time.Now().Add(15 * time.Second)
		for {
			names := map[string]bool{}
			for _, sp := range collector.Spans() {
				if sp.ParentSpanID != "" {
					names[sp.Name] = true
				}
			}
			if names[telemetry.SpanJWT] && names[telemetry.SpanRateLimit] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no JWT and rate-limit child spans; got %v", names)
			}
			time.Sleep(100 * time.Millisecond) // polling the collector
		}
	})
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// syncBuffer collects log output written by server goroutines.
type syncBuffer = testenv.Buffer
