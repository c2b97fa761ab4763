package reliability

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/dataplane/wiring"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/internal/testenv/bundled"
)

// providerKey and clientToken are recognisable fakes: no log line, error body, metric or
// rendered file may ever contain them.
const (
	providerKey = "sk-ant-RELIABILITY-provider-key-7f3a9c"
	clientToken = "client-token-RELIABILITY-b61e04"
)

// renderPlatform renders the bundled platform (see bundled.Render).
func renderPlatform(t testing.TB, enable, set []string) (stream, resources []byte) {
	t.Helper()
	return bundled.Render(t, enable, set)
}

// egressSet are the --set values pointing the egress route at a local upstream.
func egressSet(port int) []string {
	return []string{"secretStore.name=secret-store", "egress.host=127.0.0.1", "egress.port=" + strconv.Itoa(port)}
}

// identitySet are the --set values for the real OIDC issuer on port.
func identitySet(iss *testenv.OIDCIssuer, port int) []string {
	return []string{"identity.issuer=" + iss.URL, "identity.jwksPath=/jwks", "identity.port=" + strconv.Itoa(port), "identity.audience=gateway"}
}

// gwOptions configure one dataplane under test.
type gwOptions struct {
	Resolve         map[string]string
	Pools           map[string][]string
	Redis           *redis.Client
	RedisFailClosed bool
	MaxRequestBody  int64
	ShutdownTimeout time.Duration
	SessionKey      []byte
	Dir             string    // config directory to reuse (restart with the same config); "" makes one
	Listen          string    // traffic address; "" picks a free loopback port
	LogWriter       io.Writer // receives the JSON log lines; nil collects them in gateway.Logs
}

// gateway is a running dataplane: traffic on URL, admin (/metrics, /readyz) on Admin, debug
// (/configz) on Debug.
type gateway struct {
	URL, Admin, Debug string
	Dir               string // holds resources.yaml and secrets/anthropic-api-key/Authorization
	Logs              *testenv.Buffer
	D                 *bootstrap.Dataplane

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// configFile is the path of the served gateway resources.
func (g *gateway) configFile() string { return filepath.Join(g.Dir, "resources.yaml") }

// secretFile is the path of the mounted provider key.
func (g *gateway) secretFile() string {
	return filepath.Join(g.Dir, "secrets", "anthropic-api-key", "Authorization")
}

// Stop drains the dataplane (as SIGTERM does) and returns what Run returned.
func (g *gateway) Stop() error {
	g.once.Do(func() { g.cancel(); g.err = <-g.done })
	return g.err
}

// startGateway serves resources with the real dataplane; it is stopped at cleanup.
func startGateway(t testing.TB, resources []byte, o gwOptions) *gateway {
	t.Helper()
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "resources.yaml"), resources, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "secrets", "anthropic-api-key"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "secrets", "anthropic-api-key", "Authorization"), []byte(providerKey), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logs := &testenv.Buffer{}
	var logOut io.Writer = logs
	if o.LogWriter != nil {
		logOut = o.LogWriter
	}
	d := bootstrap.New(bootstrap.Settings{
		Config: []string{filepath.Join(dir, "resources.yaml")}, SecretsDir: filepath.Join(dir, "secrets"), Resolve: o.Resolve,
		AssumeServices: true, WatchInterval: 50 * time.Millisecond, MaxRequestBody: o.MaxRequestBody,
		ShutdownTimeout: o.ShutdownTimeout,
	}, slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug})))
	key := o.SessionKey
	if key == nil {
		key = make([]byte, 32)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := wiring.Install(ctx, d, wiring.Options{SessionKey: key, PoolEndpoints: o.Pools, Redis: o.Redis, RedisFailClosed: o.RedisFailClosed}); err != nil {
		cancel()
		t.Fatal(err)
	}
	if _, err := d.Load(); err != nil {
		cancel()
		t.Fatalf("the dataplane refused the rendered platform: %v", err)
	}
	addr := o.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debug, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{URL: "http://" + ln.Addr().String(), Admin: "http://" + admin.Addr().String(), Debug: "http://" + debug.Addr().String(),
		Dir: dir, Logs: logs, D: d, cancel: cancel, done: make(chan error, 1)}
	go func() {
		g.done <- d.RunListeners(ctx, server.Listeners{Bindings: []server.Binding{{Listener: ln}}, Admin: admin, Debug: debug})
	}()
	t.Cleanup(func() { _ = g.Stop() })
	return g
}

// startSims starts n vLLM simulators serving model; they are closed at cleanup.
func startSims(t testing.TB, n int, model string) ([]*vllmsim.Server, []string) {
	t.Helper()
	var sims []*vllmsim.Server
	var addrs []string
	for i := 0; i < n; i++ {
		sim, err := vllmsim.New(vllmsim.Config{Model: model, Seed: uint64(i + 1), DecodePerToken: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		sims = append(sims, sim)
		addrs = append(addrs, sim.Addr())
	}
	return sims, addrs
}

// issuer is a real OIDC issuer with the key it signs with.
type issuer struct {
	*testenv.OIDCIssuer
	Key  *rsa.PrivateKey
	Port int
}

func startIssuer(t testing.TB) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	return &issuer{OIDCIssuer: testenv.StartOIDCIssuer(t, port, key, "k1"), Key: key, Port: port}
}

// post sends body to the gateway and returns the status, headers and body.
func post(t testing.TB, url, contentType, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// chatBody is an OpenAI chat completion request.
func chatBody(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"stream":%t,"max_tokens":8,"messages":[{"role":"user","content":"Say hi"}]}`, model, stream)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

var errNoOpenAIShape = errors.New("not an OpenAI error body")

// startEverythingOrSkip runs the MCP example server and returns its host:port.
func startEverythingOrSkip(t testing.TB) string {
	t.Helper()
	return testenv.StartEverything(t, "streamableHttp").Addr
}
