package mcp

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

func connect(t *testing.T, endpoint string, hc *http.Client, version string) *sdk.ClientSession {
	t.Helper()
	client := sdk.NewClient(&sdk.Implementation{Name: "gateway-test", Version: "1.0.0"}, nil)
	tr := &sdk.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc}
	cs, err := client.Connect(testContext(t), tr, &sdk.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect to %s: %v", endpoint, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(testContext(t), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

func callText(t *testing.T, cs *sdk.ClientSession, name string, args map[string]any) string {
	t.Helper()
	res, err := cs.CallTool(testContext(t), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("tools/call %s: tool error %+v", name, res.Content)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// everythingTools are the tools server-everything 2026.8.31 offers the Go SDK's client: the 13 it
// offers any client, plus get-roots-list because the SDK client declares the roots capability.
var everythingTools = []string{
	"echo", "get-annotated-message", "get-env", "get-resource-links", "get-resource-reference", "get-roots-list",
	"get-structured-content", "get-sum", "get-tiny-image", "gzip-file-as-resource",
	"simulate-research-query", "toggle-simulated-logging", "toggle-subscriber-updates",
	"trigger-long-running-operation",
}

func TestEverythingThroughGateway(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "everything", URL: ev.URL}}})

	for _, version := range []string{"", "2025-11-25", "2025-06-18"} {
		t.Run("version="+version, func(t *testing.T) {
			cs := connect(t, gw.URL, nil, version)
			init := cs.InitializeResult()
			if init.ServerInfo == nil || init.ServerInfo.Name != "mcp-servers/everything" {
				t.Errorf("serverInfo = %+v, want the target's own (one target is passed through)", init.ServerInfo)
			}
			want := version
			if want == "" {
				want = "2025-11-25" // the SDK tries 2026-07-28 first; the target answers discover with an error
			}
			if init.ProtocolVersion != want {
				t.Errorf("protocolVersion = %q, want %q", init.ProtocolVersion, want)
			}
			if got := toolNames(t, cs); !slices.Equal(got, everythingTools) {
				t.Errorf("tools = %v\nwant %v", got, everythingTools)
			}
			if got := callText(t, cs, "echo", map[string]any{"message": "hi"}); got != "Echo: hi" {
				t.Errorf("echo = %q", got)
			}
			if got := callText(t, cs, "get-sum", map[string]any{"a": 2, "b": 3}); !strings.Contains(got, "is 5") {
				t.Errorf("get-sum = %q", got)
			}
		})
	}
}

func TestSessionContinuesOnAnotherReplica(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	cfg := Config{Targets: []Target{{Name: "everything", URL: ev.URL}}}
	_, a := serveGateway(t, cfg)
	_, b := serveGateway(t, cfg) // a second replica: same config and key, no shared memory
	rr := &roundRobin{hosts: []string{strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(b.URL, "http://")}}
	cs := connect(t, a.URL, &http.Client{Transport: rr}, "2025-11-25")
	for i := range 4 {
		if got := callText(t, cs, "echo", map[string]any{"message": "r" + strconv.Itoa(i)}); got != "Echo: r"+strconv.Itoa(i) {
			t.Fatalf("echo via replica = %q", got)
		}
	}
	if got := toolNames(t, cs); len(got) != len(everythingTools) {
		t.Errorf("tools via replicas = %v", got)
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if len(rr.seen) != 2 || rr.seen[rr.hosts[0]] < 3 || rr.seen[rr.hosts[1]] < 3 {
		t.Errorf("requests per replica = %v, want both replicas used", rr.seen)
	}

	// A replica with another key cannot open the session: 404, so the client would re-initialize.
	_, other := serveGateway(t, Config{Targets: cfg.Targets, SessionKey: bytes.Repeat([]byte{7}, 32)})
	sid := initializeRaw(t, a.URL)
	resp := postRaw(t, other.URL, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.body, "Session not found") {
		t.Errorf("other key: %d %s, want 404 Session not found", resp.StatusCode, resp.body)
	}
}

func TestMultiplexTwoTargets(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "alpha", URL: ev.URL}, {Name: "beta", URL: ev.URL}}})
	cs := connect(t, gw.URL, nil, "")
	init := cs.InitializeResult()
	if init.ServerInfo.Name != "gwctl-mcp-gateway" || init.Capabilities.Tools == nil || init.Capabilities.Prompts == nil {
		t.Errorf("merged initialize = %+v / %+v", init.ServerInfo, init.Capabilities)
	}
	var want []string
	for _, p := range []string{"alpha_", "beta_"} {
		for _, n := range everythingTools {
			want = append(want, p+n)
		}
	}
	slices.Sort(want)
	if got := toolNames(t, cs); !slices.Equal(got, want) {
		t.Errorf("tools = %v\nwant %v", got, want)
	}
	if got := callText(t, cs, "beta_echo", map[string]any{"message": "b"}); got != "Echo: b" {
		t.Errorf("beta_echo = %q", got)
	}
	if _, err := cs.CallTool(testContext(t), &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "x"}}); err == nil || !strings.Contains(err.Error(), "Unknown tool") {
		t.Errorf("unprefixed call with two targets: err = %v, want Unknown tool", err)
	}
	prompts, err := cs.ListPrompts(testContext(t), nil)
	if err != nil || len(prompts.Prompts) == 0 || !strings.HasPrefix(prompts.Prompts[0].Name, "alpha_") {
		t.Fatalf("prompts/list = %+v, %v", prompts, err)
	}
	res, err := cs.GetPrompt(testContext(t), &sdk.GetPromptParams{Name: "beta_simple-prompt"})
	if err != nil || len(res.Messages) == 0 {
		t.Errorf("prompts/get beta_simple-prompt = %+v, %v", res, err)
	}
	resources, err := cs.ListResources(testContext(t), nil)
	if err != nil || len(resources.Resources) == 0 {
		t.Fatalf("resources/list = %v", err)
	}
	uri := resources.Resources[0].URI
	if !strings.HasPrefix(uri, "alpha+") {
		t.Errorf("resource uri %q, want alpha+ prefix", uri)
	}
	read, err := cs.ReadResource(testContext(t), &sdk.ReadResourceParams{URI: uri})
	if err != nil || len(read.Contents) == 0 {
		t.Fatalf("resources/read %s = %v", uri, err)
	}
	if read.Contents[0].URI != uri {
		t.Errorf("resources/read contents uri = %q, want the client-facing %q", read.Contents[0].URI, uri)
	}
}

func TestOneTargetDownDegradesTheList(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	dead := "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/mcp"
	targets := []Target{{Name: "alpha", URL: ev.URL}, {Name: "dead", URL: dead}}

	t.Run("FailOpen", func(t *testing.T) {
		_, gw := serveGateway(t, Config{Targets: targets, FailureMode: FailOpen})
		cs := connect(t, gw.URL, nil, "2025-11-25")
		got := toolNames(t, cs)
		if len(got) != len(everythingTools) || !strings.HasPrefix(got[0], "alpha_") {
			t.Errorf("tools = %v, want alpha's only", got)
		}
		if got := callText(t, cs, "alpha_echo", map[string]any{"message": "ok"}); got != "Echo: ok" {
			t.Errorf("alpha_echo = %q", got)
		}
	})
	t.Run("FailClosed", func(t *testing.T) {
		_, gw := serveGateway(t, Config{Targets: targets})
		client := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, nil)
		_, err := client.Connect(testContext(t), &sdk.StreamableClientTransport{Endpoint: gw.URL}, &sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err == nil || !strings.Contains(err.Error(), `"dead" is unavailable`) {
			t.Errorf("connect = %v, want the dead target named", err)
		}
	})
}

func TestToolRules(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	rules := Rules{
		Allow:  append(slices.Clone(ReadOnlyEverythingTools), "get-env"),
		Claims: []ClaimRule{{Claim: "roles", Values: []string{"admin"}, Tools: []string{"get-env"}}},
	}
	claims := func(r *http.Request) map[string]any {
		if role := r.Header.Get("X-Test-Role"); role != "" {
			return map[string]any{"iss": "test", "sub": "user-" + role, "roles": []any{role}}
		}
		return nil
	}
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "everything", URL: ev.URL}}, Rules: rules, Claims: claims})

	cs := connect(t, gw.URL, nil, "")
	want := slices.Sorted(slices.Values(ReadOnlyEverythingTools))
	if got := toolNames(t, cs); !slices.Equal(got, want) {
		t.Errorf("tools = %v\nwant %v", got, want)
	}
	for _, tool := range []string{"toggle-simulated-logging", "get-env"} {
		_, err := cs.CallTool(testContext(t), &sdk.CallToolParams{Name: tool, Arguments: map[string]any{}})
		if err == nil || !strings.Contains(err.Error(), "Unknown tool: "+tool) {
			t.Errorf("tools/call %s: err = %v, want a JSON-RPC Unknown tool error", tool, err)
		}
	}
	if got := callText(t, cs, "get-sum", map[string]any{"a": 1, "b": 1}); !strings.Contains(got, "is 2") {
		t.Errorf("allowed get-sum = %q", got)
	}

	admin := connect(t, gw.URL, &http.Client{Transport: headerTransport{"X-Test-Role", "admin"}}, "")
	if got := toolNames(t, admin); !slices.Contains(got, "get-env") {
		t.Errorf("admin tools = %v, want get-env", got)
	}
	// An admin's session id does not work for another principal.
	sid := initializeRawWith(t, gw.URL, http.Header{"X-Test-Role": {"admin"}})
	resp := postRaw(t, gw.URL, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, http.Header{"X-Test-Role": {"viewer"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("session of another principal: %d %s, want 404", resp.StatusCode, resp.body)
	}
}

type headerTransport struct{ k, v string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.k, h.v)
	return http.DefaultTransport.RoundTrip(r)
}

func TestTargetKilledMidSession(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "everything", URL: ev.URL}}})
	cs := connect(t, gw.URL, nil, "2025-11-25")
	if got := callText(t, cs, "echo", map[string]any{"message": "before"}); got != "Echo: before" {
		t.Fatalf("echo = %q", got)
	}
	ev.stop()
	start := time.Now()
	_, err := cs.CallTool(testContext(t), &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "after"}})
	if err == nil || !strings.Contains(err.Error(), `MCP target "everything" is unavailable`) {
		t.Errorf("echo after kill: err = %v, want a JSON-RPC unavailable error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("error took %v, want at once", d)
	}
	if _, err := cs.ListTools(testContext(t), nil); err == nil {
		t.Error("tools/list after kill succeeded")
	}
}
