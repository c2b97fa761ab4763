package mcp

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/sse"
)

type rawResponse struct {
	*http.Response
	body string
}

// postRaw POSTs one JSON-RPC message as a 2025-11-25 client would.
func postRaw(t *testing.T, url, sid, body string, extra http.Header) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{resp, string(b)}
}

const initRequest = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`

func initializeRaw(t *testing.T, url string) string {
	t.Helper()
	return initializeRawWith(t, url, nil)
}

// initializeRawWith initializes a session and sends notifications/initialized; it returns the session id.
func initializeRawWith(t *testing.T, url string, extra http.Header) string {
	t.Helper()
	resp := postRaw(t, url, "", initRequest, extra)
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" || !strings.Contains(resp.body, `"result"`) {
		t.Fatalf("initialize: %d sid=%q %s", resp.StatusCode, sid, resp.body)
	}
	n := postRaw(t, url, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, extra)
	if n.StatusCode != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %s", n.StatusCode, n.body)
	}
	return sid
}

func TestSessionProtocol(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "everything", URL: ev.URL}}, MaxRequestBytes: 4096})
	sid := initializeRaw(t, gw.URL)
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`

	tampered := []byte(sid)
	tampered[len(tampered)/2] ^= 1
	if tampered[len(tampered)/2] == '-' || tampered[len(tampered)/2] == '_' {
		tampered[len(tampered)/2] = 'A'
	}
	tests := []struct {
		name, sid, body string
		wantStatus      int
		wantBody        string
	}{
		{"no session", "", list, 400, "Mcp-Session-Id header is required"},
		{"forged session", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", list, 404, "Session not found"},
		{"tampered session", string(tampered), list, 404, "Session not found"},
		{"upstream id as session", "9e4b558c-45a7-4b3f-814c-ba71aae42a69", list, 404, "Session not found"},
		{"batch", sid, "[" + list + "]", 400, "batches are not supported"},
		{"not json", sid, "{", 400, "-32700"},
		{"wrong version", sid, `{"jsonrpc":"1.0","id":1,"method":"ping"}`, 400, "-32600"},
		{"too large", sid, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"` + strings.Repeat("x", 5000) + `"}}}`, 413, "larger than 4096 bytes"},
		{"ping", sid, `{"jsonrpc":"2.0","id":4,"method":"ping"}`, 200, `"result":{}`},
		{"unknown tool (one target: the target answers)", sid, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"nope"}}`, 200, `Tool nope not found`},
		{"tools/call", sid, `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"message":"raw"}}}`, 200, "Echo: raw"},
		{"notification", sid, `{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := postRaw(t, gw.URL, tt.sid, tt.body, nil)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(resp.body, tt.wantBody) {
				t.Errorf("%d %q, want %d containing %q", resp.StatusCode, resp.body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus >= 400 && !strings.Contains(resp.body, `"jsonrpc":"2.0"`) {
				t.Errorf("error body is not JSON-RPC: %s", resp.body)
			}
		})
	}

	t.Run("Last-Event-ID resumption", func(t *testing.T) {
		resp := postRaw(t, gw.URL, sid, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"message":"replay"}}}`, nil)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("content type %q, want the target's SSE passed through", ct)
		}
		first, err := sse.NewReader(strings.NewReader(resp.body), maxEventBytes).NextBlock()
		if err != nil || first.ID == "" {
			t.Fatalf("priming event: %+v %v", first, err)
		}
		ctx, cancel := context.WithTimeout(testContext(t), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL, nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		req.Header.Set("Last-Event-ID", first.ID)
		get, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer get.Body.Close()
		if get.StatusCode != http.StatusOK {
			t.Fatalf("GET with Last-Event-ID: %d", get.StatusCode)
		}
		er := sse.NewReader(get.Body, maxEventBytes)
		for {
			ev, err := er.NextBlock()
			if err != nil {
				t.Fatalf("replayed stream ended before the echo result: %v", err)
			}
			if strings.Contains(string(ev.Data), "Echo: replay") {
				break
			}
		}
	})

	t.Run("DELETE", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(testContext(t), http.MethodDelete, gw.URL, nil)
		req.Header.Set("Mcp-Session-Id", sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE: %v %v", resp, err)
		}
		resp.Body.Close()
		after := postRaw(t, gw.URL, sid, list, nil)
		if after.StatusCode != http.StatusNotFound {
			t.Errorf("after DELETE: %d %s, want 404 so the client initializes again", after.StatusCode, after.body)
		}
	})
}

func TestLegacyTransportsAndStatelessRouting(t *testing.T) {
	sse := startEverything(t, "sse")
	streamable := startEverything(t, "streamableHttp")
	tests := []struct {
		name string
		cfg  Config
	}{
		{"SSE target", Config{Targets: []Target{{Name: "old", URL: sse.URL, Protocol: SSE}}}},
		{"sessionRouting Stateless", Config{Targets: []Target{{Name: "everything", URL: streamable.URL}}, SessionRouting: Stateless}},
		{"SSE and streamable multiplexed", Config{Targets: []Target{{Name: "old", URL: sse.URL, Protocol: SSE}, {Name: "new", URL: streamable.URL}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, gw := serveGateway(t, tt.cfg)
			cs := connect(t, gw.URL, nil, "")
			prefix := ""
			if len(tt.cfg.Targets) > 1 {
				prefix = "old_"
			}
			if got := toolNames(t, cs); !slices.Contains(got, prefix+"get-sum") {
				t.Errorf("tools = %v", got)
			}
			if got := callText(t, cs, prefix+"get-sum", map[string]any{"a": 20, "b": 22}); !strings.Contains(got, "is 42") {
				t.Errorf("get-sum = %q", got)
			}
		})
	}
}
