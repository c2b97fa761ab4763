package mcp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// streamingUpstream is a target whose GET stream sends one notification and one server request,
// saying which Last-Event-ID it was given, and then ends.
func streamingUpstream(t *testing.T, name string, requestID int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "text/event-stream")
			last := r.Header.Get("Last-Event-ID")
			fmt.Fprintf(w, "id: e1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"%s last=%s\"}}\n\n", name, last)
			fmt.Fprintf(w, "id: e2\ndata: {\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"roots/list\"}\n\n", requestID)
		case http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			m, _ := parseMessage(body)
			if m != nil && m.Method == "initialize" {
				w.Header().Set("Mcp-Session-Id", name+"-session")
				out, _ := encodeResult(m.ID, map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "serverInfo": map[string]any{"name": name, "version": "1"}})
				writeJSON(w, http.StatusOK, out)
				return
			}
			if m != nil && m.kind() == kindResponse && string(m.ID) != fmt.Sprint(requestID) {
				http.Error(w, "unexpected response id "+string(m.ID), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func TestGetStreamsMerged(t *testing.T) {
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "alpha", URL: streamingUpstream(t, "alpha", 7)}, {Name: "beta", URL: streamingUpstream(t, "beta", 8)}}})
	sid := initializeRaw(t, gw.URL)
	get := func(last string) string {
		ctx, cancel := context.WithTimeout(testContext(t), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL, nil)
		req.Header.Set("Mcp-Session-Id", sid)
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	out := get("")
	for _, want := range []string{"id: alpha/e1", "id: beta/e2", "alpha last=", "beta last=", `"id":"gw:alpha:7"`, `"id":"gw:beta:8"`} {
		if !strings.Contains(out, want) {
			t.Errorf("merged stream lacks %q:\n%s", want, out)
		}
	}
	out = get("beta/e1")
	if !strings.Contains(out, "beta last=e1") || strings.Contains(out, "alpha last=e1") {
		t.Errorf("resumption: want beta resumed from e1 and alpha fresh:\n%s", out)
	}
	// The client's answer to beta's server request goes to beta with beta's own id.
	resp := postRaw(t, gw.URL, sid, `{"jsonrpc":"2.0","id":"gw:beta:8","result":{"roots":[]}}`, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("response to server request: %d %s", resp.StatusCode, resp.body)
	}
	resp = postRaw(t, gw.URL, sid, `{"jsonrpc":"2.0","id":"gw:nobody:7","result":{}}`, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("response for unknown target: %d %s", resp.StatusCode, resp.body)
	}
}
