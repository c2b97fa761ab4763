package wiring_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/dataplane/wiring"
	"github.com/infergw/gwctl/internal/testenv"
)

// The bundled platform with gateway.tls on, rendered by gwctl and served by the dataplane with
// the certificate cert-manager would write mounted where the chart mounts it: an OpenAI client
// and an MCP client (with a real OIDC token) reach their backends over HTTPS (h2).
func TestRenderedPlatformOverHTTPS(t *testing.T) {
	fake := anthropictest.New(t, anthropictest.SchemaPath(t))
	everything := testenv.StartEverything(t, "streamableHttp")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	issuerPort := testenv.FreePort(t)
	issuer := testenv.StartOIDCIssuer(t, issuerPort, key, "k1")
	resources := renderGatewayResources(t, []string{"egress", "mcp"}, []string{
		"gateway.tls.issuer=letsencrypt", "gateway.tls.hostname=gw.example.test",
		"secretStore.name=secret-store",
		"egress.host=127.0.0.1", "egress.port=" + strconv.Itoa(fake.Port),
		"identity.issuer=" + issuer.URL, "identity.jwksPath=/jwks", "identity.port=" + strconv.Itoa(issuerPort), "identity.audience=gateway",
	})

	ca := testenv.NewCA(t, "test issuer")
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	testenv.WriteSecret(t, secrets, "gateway-tls", ca.Issue(t, testenv.Leaf{Names: []string{"gw.example.test"}}))
	if err := os.MkdirAll(filepath.Join(secrets, "anthropic-api-key"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "anthropic-api-key", "Authorization"), []byte(providerKey), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resources.yaml"), resources, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	d := bootstrap.New(bootstrap.Settings{
		Config: []string{filepath.Join(dir, "resources.yaml")}, SecretsDir: secrets, AssumeServices: true, WatchInterval: 50 * time.Millisecond,
		Resolve: map[string]string{"mcp-server-everything.mcp": everything.Addr, "dex.dex": "127.0.0.1:" + strconv.Itoa(issuerPort)},
	}, slog.New(slog.NewJSONHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := wiring.Install(ctx, d, wiring.Options{SessionKey: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Load(); err != nil {
		t.Fatalf("the dataplane refused the rendered platform: %v", err)
	}
	ln80, _ := net.Listen("tcp", "127.0.0.1:0")
	ln443, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() {
		done <- d.RunBindings(ctx, []server.Binding{{Listener: ln80, Port: 80}, {Listener: ln443, Port: 443}}, nil)
	}()
	t.Cleanup(func() { cancel(); <-done })

	// The client's DNS: gw.example.test is the HTTPS binding.
	base := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.Pool()},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ln443.Addr().String())
		},
	}
	t.Cleanup(base.CloseIdleConnections)

	t.Run("openai-go over HTTPS", func(t *testing.T) {
		var proto string
		client := openai.NewClient(option.WithBaseURL("https://gw.example.test/v1"), option.WithAPIKey("client-key"),
			option.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				resp, err := base.RoundTrip(r)
				if err == nil {
					proto = resp.Proto
				}
				return resp, err
			})}))
		resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "claude-haiku-4-5",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hi")},
		})
		if err != nil {
			t.Fatalf("chat completion: %v", err)
		}
		if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || proto != "HTTP/2.0" {
			t.Fatalf("response %+v over %s", resp, proto)
		}
	})

	t.Run("MCP SDK client over HTTPS", func(t *testing.T) {
		token := issuer.Token(t, "")
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+token)
			return base.RoundTrip(r)
		})}
		client := sdk.NewClient(&sdk.Implementation{Name: "e2e-tls", Version: "1"}, nil)
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		session, err := client.Connect(cctx, &sdk.StreamableClientTransport{Endpoint: "https://gw.example.test/mcp", HTTPClient: hc}, nil)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer session.Close()
		res, err := session.CallTool(cctx, &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "over tls"}})
		if err != nil || res.IsError || len(res.Content) == 0 {
			t.Fatalf("tools/call echo: %v %+v", err, res)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
