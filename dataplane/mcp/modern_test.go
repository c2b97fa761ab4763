package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

type addArgs struct {
	A int `json:"a"`
	B int `json:"b"`
}

type echoArgs struct {
	Message string `json:"message"`
}

// startStatelessServer runs an in-process 2026-07-28 MCP server built with the Go SDK
// (stateless streamable HTTP), with the tools add and echo.
func startStatelessServer(t testing.TB, name string) string {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: name, Version: "1.0.0"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "add", Description: "adds two integers"}, func(_ context.Context, _ *sdk.CallToolRequest, a addArgs) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: strconvItoa(a.A + a.B)}}}, nil, nil
	})
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "echoes"}, func(_ context.Context, _ *sdk.CallToolRequest, a echoArgs) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: name + ": " + a.Message}}}, nil, nil
	})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func strconvItoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestStatelessGeneration(t *testing.T) {
	one := startStatelessServer(t, "one")
	two := startStatelessServer(t, "two")

	t.Run("single target", func(t *testing.T) {
		_, gw := serveGateway(t, Config{Targets: []Target{{Name: "one", URL: one}}})
		cs := connect(t, gw.URL, nil, "") // the SDK's default: 2026-07-28
		if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
			t.Fatalf("negotiated %q, want 2026-07-28 end to end", v)
		}
		if got := toolNames(t, cs); !slices.Equal(got, []string{"add", "echo"}) {
			t.Errorf("tools = %v", got)
		}
		if got := callText(t, cs, "add", map[string]any{"a": 2, "b": 40}); got != "42" {
			t.Errorf("add = %q", got)
		}
	})
	t.Run("two targets", func(t *testing.T) {
		_, gw := serveGateway(t, Config{Targets: []Target{{Name: "one", URL: one}, {Name: "two", URL: two}}, Rules: Rules{Deny: []string{"two_add"}}})
		cs := connect(t, gw.URL, nil, "")
		if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
			t.Fatalf("negotiated %q", v)
		}
		if got := toolNames(t, cs); !slices.Equal(got, []string{"one_add", "one_echo", "two_echo"}) {
			t.Errorf("tools = %v", got)
		}
		if got := callText(t, cs, "two_echo", map[string]any{"message": "hi"}); got != "two: hi" {
			t.Errorf("two_echo = %q", got)
		}
		if _, err := cs.CallTool(testContext(t), &sdk.CallToolParams{Name: "two_add", Arguments: map[string]any{"a": 1, "b": 1}}); err == nil || !strings.Contains(err.Error(), "Unknown tool") {
			t.Errorf("denied two_add: %v", err)
		}
	})
	t.Run("legacy client, modern server", func(t *testing.T) {
		_, gw := serveGateway(t, Config{Targets: []Target{{Name: "one", URL: one}}})
		cs := connect(t, gw.URL, nil, "2025-11-25")
		if got := callText(t, cs, "echo", map[string]any{"message": "old"}); got != "one: old" {
			t.Errorf("echo = %q", got)
		}
	})
}

func TestModernHeaderChecks(t *testing.T) {
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "one", URL: startStatelessServer(t, "one")}}})
	call := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"raw","version":"0"}}}}`
	tests := []struct {
		name       string
		header     http.Header
		wantStatus int
		wantBody   string
	}{
		{"matching", http.Header{"Mcp-Method": {"tools/call"}, "Mcp-Name": {"echo"}}, 200, `one: x`},
		{"base64 name", http.Header{"Mcp-Method": {"tools/call"}, "Mcp-Name": {"=?base64?ZWNobw==?="}}, 200, `one: x`},
		{"method mismatch", http.Header{"Mcp-Method": {"tools/list"}, "Mcp-Name": {"echo"}}, 400, `-32020`},
		{"name mismatch", http.Header{"Mcp-Method": {"tools/call"}, "Mcp-Name": {"get-env"}}, 400, `-32020`},
		{"missing name", http.Header{"Mcp-Method": {"tools/call"}}, 400, `-32020`},
		{"missing method", http.Header{"Mcp-Name": {"echo"}}, 400, `-32020`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Mcp-Protocol-Version": {"2026-07-28"}}
			for k, v := range tt.header {
				h[k] = v
			}
			resp := postRaw(t, gw.URL, "", call, h)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(resp.body, tt.wantBody) {
				t.Errorf("%d %s, want %d containing %s", resp.StatusCode, resp.body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// A 2026-07-28 client in front of one modern and one 2025-11-25 target: server/discover fails on the
// older one, the client falls back to initialize, and both targets serve it in one session.
func TestMixedGenerationsFallBack(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "modern", URL: startStatelessServer(t, "modern")}, {Name: "legacy", URL: ev.URL}}})
	cs := connect(t, gw.URL, nil, "")
	if v := cs.InitializeResult().ProtocolVersion; v != "2025-11-25" {
		t.Errorf("negotiated %q, want the fallback to 2025-11-25", v)
	}
	if got := callText(t, cs, "modern_add", map[string]any{"a": 1, "b": 2}); got != "3" {
		t.Errorf("modern_add = %q", got)
	}
	if got := callText(t, cs, "legacy_echo", map[string]any{"message": "m"}); got != "Echo: m" {
		t.Errorf("legacy_echo = %q", got)
	}
}
