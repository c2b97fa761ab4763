package mcp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/sse"
)

// hangingUpstream initializes normally and then never answers a request.
func hangingUpstream(t *testing.T) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m, _ := parseMessage(body)
		switch {
		case m != nil && m.Method == "initialize":
			out, _ := encodeResult(m.ID, map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{"tools": map[string]any{}}, "serverInfo": map[string]any{"name": "hang", "version": "1"}})
			writeJSON(w, http.StatusOK, out)
		case m != nil && m.kind() == kindRequest:
			select {
			case <-r.Context().Done():
			case <-release:
			}
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL + "/mcp"
}

func TestHangingTargetDoesNotStallTheList(t *testing.T) {
	targets := []Target{{Name: "alpha", URL: startStaticServer(t)}, {Name: "stuck", URL: hangingUpstream(t)}}
	_, gw := serveGateway(t, Config{Targets: targets, FailureMode: FailOpen, FanoutTimeout: 300 * time.Millisecond})
	sid := initializeRaw(t, gw.URL)
	start := time.Now()
	resp := postRaw(t, gw.URL, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.body, `"result":{"tools":[]}`) {
		t.Fatalf("tools/list: %d %s", resp.StatusCode, resp.body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("tools/list took %v with a hanging target, want about the fan-out timeout", d)
	}

	_, closed := serveGateway(t, Config{Targets: targets, FanoutTimeout: 300 * time.Millisecond})
	sid = initializeRaw(t, closed.URL)
	resp = postRaw(t, closed.URL, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, nil)
	if !strings.Contains(resp.body, `"code":-32003`) || !strings.Contains(resp.body, `stuck`) {
		t.Errorf("FailClosed tools/list with a hanging target: %d %s, want -32003 naming it", resp.StatusCode, resp.body)
	}
}

func TestTargetKilledMidStream(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "everything", URL: ev.URL}}})
	sid := initializeRaw(t, gw.URL)
	ctx, cancel := context.WithTimeout(testContext(t), 20*time.Second)
	defer cancel()
	body := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"trigger-long-running-operation","arguments":{"duration":10,"steps":10},"_meta":{"progressToken":"p1"}}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	er := sse.NewReader(resp.Body, maxEventBytes)
	for {
		e, err := er.NextBlock()
		if err != nil {
			t.Fatalf("stream ended before the first progress notification: %v", err)
		}
		if strings.Contains(string(e.Data), "notifications/progress") {
			break
		}
	}
	killed := time.Now()
	ev.stop()
	for {
		e, err := er.NextBlock()
		if err != nil {
			t.Fatalf("stream ended without a JSON-RPC error for the call: %v", err)
		}
		if s := string(e.Data); strings.Contains(s, `"id":3`) {
			if !strings.Contains(s, `"code":-32003`) || !strings.Contains(s, "broke off") {
				t.Errorf("final event %s, want the unavailable error", s)
			}
			break
		}
	}
	if d := time.Since(killed); d > 2*time.Second {
		t.Errorf("error came %v after the kill, want at once", d)
	}
}
