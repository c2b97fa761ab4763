package mcp

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchClient posts pre-encoded messages over one keep-alive connection pool.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}}

func benchPost(b *testing.B, url, sid, version string, body []byte) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	if version != "" {
		req.Header.Set("Mcp-Protocol-Version", version)
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"result"`)) {
		b.Fatalf("HTTP %d: %s", resp.StatusCode, out)
	}
}

func benchInit(b *testing.B, url string) string {
	ireq, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(initRequest))
	ireq.Header.Set("Content-Type", "application/json")
	ireq.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := benchClient.Do(ireq)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	r2, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	r2.Body.Close()
	return sid
}

// startStaticServer is the cheapest possible MCP upstream: it answers initialize and every request
// with a fixed JSON result, so a benchmark against it measures the gateway, not the server.
func startStaticServer(b testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m, e := parseMessage(body)
		switch {
		case e != nil:
			writeRPCError(w, http.StatusBadRequest, nil, e)
		case m.kind() != kindRequest:
			w.WriteHeader(http.StatusAccepted)
		case m.Method == "initialize":
			w.Header().Set("Mcp-Session-Id", "static-session")
			out, _ := encodeResult(m.ID, map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{"tools": map[string]any{}},
				"serverInfo": map[string]any{"name": "static", "version": "1"}})
			writeJSON(w, http.StatusOK, out)
		default:
			out, _ := encodeResult(m.ID, map[string]any{"content": []any{map[string]any{"type": "text", "text": "3"}}})
			writeJSON(w, http.StatusOK, out)
		}
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func percentile(d []time.Duration, p float64) float64 {
	slices.Sort(d)
	return float64(d[int(float64(len(d)-1)*p)].Nanoseconds()) / 1e3
}

// benchmarkDirectVsGateway alternates one tools/call straight to the target with one through the
// gateway and reports both latency distributions and the difference (µs).
func benchmarkDirectVsGateway(b *testing.B, direct, gw func()) {
	direct()
	gw()
	var d, g []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		direct()
		t1 := time.Now()
		gw()
		t2 := time.Now()
		d = append(d, t1.Sub(t0))
		g = append(g, t2.Sub(t1))
	}
	b.StopTimer()
	dp50, dp99 := percentile(d, .5), percentile(d, .99)
	gp50, gp99 := percentile(g, .5), percentile(g, .99)
	b.ReportMetric(dp50, "direct-p50-µs")
	b.ReportMetric(dp99, "direct-p99-µs")
	b.ReportMetric(gp50, "gw-p50-µs")
	b.ReportMetric(gp99, "gw-p99-µs")
	b.ReportMetric(gp50-dp50, "added-p50-µs")
	b.ReportMetric(gp99-dp99, "added-p99-µs")
}

// BenchmarkToolsCall: tools/call direct to the target vs through the gateway handler on loopback,
// for an in-process Go SDK server (JSON responses, 2025-11-25 session at the gateway, and 2026-07-28
// end to end) and for server-everything (SSE responses, upstream session).
func BenchmarkToolsCall(b *testing.B) {
	call := []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`)
	b.Run("upstream=static/session", func(b *testing.B) {
		up := startStaticServer(b)
		_, gw := serveGateway(b, Config{Targets: []Target{{Name: "one", URL: up}}})
		sid := benchInit(b, gw.URL)
		benchmarkDirectVsGateway(b,
			func() { benchPost(b, up, "static-session", "2025-11-25", call) },
			func() { benchPost(b, gw.URL, sid, "2025-11-25", call) })
	})
	b.Run("upstream=go-sdk/session", func(b *testing.B) {
		up := startStatelessServer(b, "one")
		_, gw := serveGateway(b, Config{Targets: []Target{{Name: "one", URL: up}}})
		sid := benchInit(b, gw.URL)
		benchmarkDirectVsGateway(b,
			func() { benchPost(b, up, "", "2025-11-25", call) },
			func() { benchPost(b, gw.URL, sid, "2025-11-25", call) })
	})
	b.Run("upstream=go-sdk/2026-07-28", func(b *testing.B) {
		up := startStatelessServer(b, "one")
		_, gw := serveGateway(b, Config{Targets: []Target{{Name: "one", URL: up}}})
		modern := []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"b","version":"0"}}}}`)
		post := func(url string) {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(modern))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
			req.Header.Set("Mcp-Method", "tools/call")
			req.Header.Set("Mcp-Name", "add")
			resp, err := benchClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Contains(out, []byte(`"result"`)) {
				b.Fatalf("HTTP %d: %s", resp.StatusCode, out)
			}
		}
		benchmarkDirectVsGateway(b, func() { post(up) }, func() { post(gw.URL) })
	})
	b.Run("upstream=everything/session", func(b *testing.B) {
		ev := startEverything(b, "streamableHttp")
		_, gw := serveGateway(b, Config{Targets: []Target{{Name: "everything", URL: ev.URL}}})
		echo := []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"bench"}}}`)
		dsid, gsid := benchInit(b, ev.URL), benchInit(b, gw.URL)
		benchmarkDirectVsGateway(b,
			func() { benchPost(b, ev.URL, dsid, "2025-11-25", echo) },
			func() { benchPost(b, gw.URL, gsid, "2025-11-25", echo) })
	})
}

func BenchmarkSessionID(b *testing.B) {
	k, err := newSealer(testKey, 0)
	if err != nil {
		b.Fatal(err)
	}
	s := &session{Version: "2025-11-25", Issued: time.Now(), Targets: []targetSession{
		{Name: "alpha", SessionID: "0d1bedba-4587-4b87-89d1-f41596115019", Version: "2025-11-25"},
		{Name: "beta", SessionID: "e5094e04-317c-48bc-a932-c40d25b671cc", Version: "2025-11-25"},
	}}
	id, _ := k.seal(s, "https://auth.example.com\x00alice")
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.seal(s, "https://auth.example.com\x00alice"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(id)), "id-bytes")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.open(id, "https://auth.example.com\x00alice"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParseMessage(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"bench"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, e := parseMessage(body); e != nil {
			b.Fatal(e)
		}
	}
}
