package mcp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/sse"
)

// FuzzParseMessage checks the JSON-RPC envelope parser: it never panics, and what it accepts is a
// request, notification or response that survives re-encoding.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":"a","result":{}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"x"}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
		`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, e := parseMessage(body)
		if (m == nil) == (e == nil) {
			t.Fatalf("parseMessage(%q) = %v, %v: want exactly one", body, m, e)
		}
		if e != nil {
			if !json.Valid(encodeError(nil, e)) {
				t.Fatalf("error %v does not encode as JSON", e)
			}
			return
		}
		if m.kind() == kindInvalid {
			t.Fatalf("accepted invalid message %q", body)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode %q: %v", body, err)
		}
		m2, e2 := parseMessage(b)
		// The id may be re-escaped ("&" as "\u0026"): it must be the same JSON value, not the same bytes.
		if e2 != nil || m2.kind() != m.kind() || m2.Method != m.Method || !sameJSON(m2.ID, m.ID) {
			t.Fatalf("round trip of %q changed it: %s -> %+v %v", body, b, m2, e2)
		}
	})
}

// FuzzEventReader checks the text/event-stream parser never panics, terminates, and that what it
// reads writes back and reads again to the same event.
func FuzzEventReader(f *testing.F) {
	for _, s := range []string{
		"id: 1\ndata: \n\nevent: message\nid: 2\ndata: {\"jsonrpc\":\"2.0\"}\n\n",
		"data: a\ndata: b\r\n\r\n: comment\nretry: 10\n\n",
		"event: endpoint\ndata: /message?sessionId=x\n\n",
		"data",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		er := sse.NewReader(bytes.NewReader(stream), maxEventBytes)
		for range len(stream) + 1 {
			ev, err := er.NextBlock()
			if err != nil {
				return
			}
			var buf bytes.Buffer
			if err := writeEvent(&buf, ev); err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(ev.ID, "\r\n") || strings.ContainsAny(ev.Name, "\r\n") {
				continue // not representable; never produced by our own writers
			}
			back, err := sse.NewReader(&buf, maxEventBytes).NextBlock()
			if err != nil || back.ID != ev.ID || back.Name != ev.Name || !bytes.Equal(bytes.ReplaceAll(back.Data, []byte("\r"), nil), bytes.ReplaceAll(ev.Data, []byte("\r"), nil)) {
				t.Fatalf("event %+v wrote as %q and read back as %+v (%v)", ev, buf.String(), back, err)
			}
		}
		t.Fatal("reader did not terminate")
	})
}

// FuzzHandlePost sends arbitrary bodies and MCP headers through the whole handler, in front of an
// in-process Go SDK server: it never panics, never hangs, and every error it answers is JSON-RPC.
func FuzzHandlePost(f *testing.F) {
	upstreamURL := startStatelessServer(f, "one")
	h, err := New(Config{Targets: []Target{{Name: "one", URL: upstreamURL}, {Name: "two", URL: upstreamURL}}, SessionKey: testKey,
		MaxRequestBytes: 1 << 16, Rules: Rules{Deny: []string{"two_add"}}}, Deps{})
	if err != nil {
		f.Fatal(err)
	}
	sid, err := h.sealer.seal(&session{Version: "2025-11-25", Issued: time.Now(), Targets: []targetSession{{Name: "one"}, {Name: "two"}}}, "")
	if err != nil {
		f.Fatal(err)
	}
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"f","version":"0"}}`
	seeds := []struct {
		body, method, name string
		session            bool
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, "", "", true},
		{`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"one_echo","arguments":{"message":"x"}}}`, "", "", true},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"two_add","arguments":{"a":1,"b":2}}}`, "", "", true},
		{`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"one_add","arguments":{"a":1,"b":2},` + meta + `}}`, "tools/call", "one_add", false},
		{`{"jsonrpc":"2.0","id":5,"method":"server/discover","params":{` + meta + `}}`, "server/discover", "", false},
		{`{"jsonrpc":"2.0","id":6,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"f","version":"0"}}}`, "", "", false},
		{`{"jsonrpc":"2.0","id":"gw:one:7","result":{}}`, "", "", true},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`, "", "", true},
		{`{"jsonrpc":"2.0","id":8,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"one_x"}}}`, "", "", true},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.method, s.name, s.session)
	}
	f.Fuzz(func(t *testing.T, body []byte, method, name string, withSession bool) {
		req := httptest.NewRequest(http.MethodPost, "/mcp", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if withSession {
			req.Header.Set("Mcp-Session-Id", sid)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		if method != "" {
			req.Header["Mcp-Method"] = []string{method}
			req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		}
		if name != "" {
			req.Header["Mcp-Name"] = []string{name}
		}
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.ServeHTTP(rec, req); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("HANG: %q method=%q name=%q sess=%v", body, method, name, withSession)
		}
		res := rec.Result()
		out, _ := io.ReadAll(res.Body)
		switch {
		case res.StatusCode == http.StatusAccepted:
		case strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream"):
		case res.StatusCode >= 400 && len(out) > 0, res.StatusCode == 200:
			var m message
			if err := json.Unmarshal(out, &m); err != nil || m.JSONRPC != "2.0" {
				t.Fatalf("HTTP %d body is not JSON-RPC: %q", res.StatusCode, out)
			}
			if res.StatusCode >= 400 && res.StatusCode != http.StatusNotFound && m.Error == nil {
				t.Fatalf("HTTP %d without a JSON-RPC error: %q", res.StatusCode, out)
			}
		}
		if bytes.Contains(out, []byte(`"two_add"`)) && bytes.Contains(body, []byte(`"two_add"`)) && bytes.Contains(out, []byte(`"result"`)) && !bytes.Contains(out, []byte("isError")) {
			t.Fatalf("denied tool two_add answered with a result: %q", out)
		}
	})
}

// sameJSON reports whether two JSON texts are the same value (numbers compared as written).
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	decode := func(x []byte) (any, bool) {
		d := json.NewDecoder(bytes.NewReader(x))
		d.UseNumber()
		var v any
		return v, d.Decode(&v) == nil
	}
	va, oka := decode(a)
	vb, okb := decode(b)
	return oka && okb && reflect.DeepEqual(va, vb)
}
