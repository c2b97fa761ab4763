package reliability

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// okUpstream answers every messages request with a small valid message.
func okUpstream(c *net.TCPConn, _ *http.Request) {
	writeHead(c, 200, "application/json", len(okMessage))
	_, _ = io.WriteString(c, okMessage)
}

// canary is a loopback listener that must never be dialled.
type canary struct {
	ln   net.Listener
	hits atomic.Int64
}

func startCanary(t *testing.T) *canary {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.hits.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

// Hostile HTTP clients against the egress route: every bad request gets a bounded, client-shaped
// answer and changes nothing upstream.
func TestHostileHTTP(t *testing.T) {
	f := startFaultServer(t)
	f.set(okUpstream)
	_, res := renderPlatform(t, []string{"egress"}, egressSet(f.Port))
	gw := startGateway(t, res, gwOptions{MaxRequestBody: 1 << 20})
	url := gw.URL + "/v1/chat/completions"
	host := strings.TrimPrefix(gw.URL, "http://")

	t.Run("oversized body with Content-Length: 413", func(t *testing.T) {
		body := `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<20) + `"}]}`
		st, _, b := post(t, url, "application/json", body)
		if st != http.StatusRequestEntityTooLarge || !bytes.Contains(b, []byte(`"error"`)) {
			t.Fatalf("status %d: %.200s", st, b)
		}
	})

	// A model API request that body-based routing cannot read (not JSON, not an object, no
	// model, wrong content type) is refused with 400 in the OpenAI shape before routing; a
	// readable body with fields of the wrong type is refused by the translation.
	for _, tc := range []struct {
		name, ctype, body string
		status            []int
	}{
		{"invalid JSON", "application/json", `{"model":"claude-haiku-4-5","messages":[`, []int{400}},
		{"JSON of the wrong type", "application/json", `["model"]`, []int{400}},
		{"no model", "application/json", `{"messages":[{"role":"user","content":"x"}]}`, []int{400}},
		{"form content type", "application/x-www-form-urlencoded", "model=claude-haiku-4-5", []int{400}},
		{"JSON sent as text/plain", "text/plain", `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"x"}]}`, []int{400}},
		{"binary junk", "application/json", "\x00\xff\xfe{\x01", []int{400}},
		{"messages of the wrong type", "application/json", `{"model":"claude-haiku-4-5","messages":"hi"}`, []int{400}},
		{"huge max_tokens", "application/json", `{"model":"claude-haiku-4-5","max_tokens":1e400,"messages":[{"role":"user","content":"x"}]}`, []int{400}},
		{"negative max_tokens", "application/json", `{"model":"claude-haiku-4-5","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, []int{400}},
	} {
		t.Run(tc.name+": refused in the OpenAI shape", func(t *testing.T) {
			before := f.hits.Load()
			st, _, b := post(t, url, tc.ctype, tc.body, "X-Gateway-Base-Model-Name", "claude-haiku-4-5")
			assertOpenAIError(t, st, b, tc.status...)
			if f.hits.Load() != before {
				t.Fatal("an invalid request reached the upstream")
			}
		})
	}

	t.Run("absurd numbers of messages and tool calls are bounded", func(t *testing.T) {
		var sb strings.Builder
		sb.WriteString(`{"model":"claude-haiku-4-5","messages":[`)
		for i := 0; i < 20000; i++ {
			fmt.Fprintf(&sb, `{"role":"user","content":"m%d"},`, i)
		}
		sb.WriteString(`{"role":"assistant","content":null,"tool_calls":[`)
		for i := 0; i < 5000; i++ {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `{"id":"c%d","type":"function","function":{"name":"f","arguments":"{}"}}`, i)
		}
		sb.WriteString(`]}]}`)
		start := time.Now()
		st, _, b := post(t, url, "application/json", sb.String())
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %s", d)
		}
		// Under the 1 MiB body bound: served or refused in the client's shape, never a crash.
		if st != 200 && st != 400 && st != 413 {
			t.Fatalf("status %d: %.300s", st, b)
		}
		if st != 200 {
			assertOpenAIError(t, st, b)
		}
	})

	t.Run("header injection changes neither credentials nor upstream host", func(t *testing.T) {
		n := len(f.requests())
		st, _, b := post(t, url, "application/json", chatBody("claude-haiku-4-5", false),
			"X-Api-Key", "attacker-key", "Authorization", "Bearer "+clientToken, "Anthropic-Version", "1999-01-01",
			"X-Forwarded-Host", "evil.example", "Forwarded", "host=evil.example", "X-Original-URL", "/admin",
			"X-Gateway-Base-Model-Name", "claude-haiku-4-5")
		if st != 200 {
			t.Fatalf("status %d: %s", st, b)
		}
		reqs := f.requests()
		if len(reqs) != n+1 {
			t.Fatalf("%d upstream requests, want 1", len(reqs)-n)
		}
		got := reqs[n]
		if got.Header.Get("X-Api-Key") != providerKey || got.Header.Get("Authorization") != "" {
			t.Fatalf("upstream credentials: x-api-key %q authorization %q", got.Header.Get("X-Api-Key"), got.Header.Get("Authorization"))
		}
		if got.Host != fmt.Sprintf("127.0.0.1:%d", f.Port) || got.Path != "/v1/messages" {
			t.Fatalf("upstream host %q path %q", got.Host, got.Path)
		}
		if strings.Contains(fmt.Sprint(got.Header), clientToken) {
			t.Fatal("the client's token was forwarded to the provider")
		}
	})

	t.Run("CRLF in a raw header cannot smuggle a second request", func(t *testing.T) {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		body := chatBody("claude-haiku-4-5", false)
		fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Evil: a\rX-Api-Key: injected\r\nContent-Length: %d\r\n\r\n%s", host, len(body), body)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a bare CR in a header got %d", resp.StatusCode)
		}
	})

	t.Run("SSRF: no client value changes the upstream host; image URLs are never fetched", func(t *testing.T) {
		can := startCanary(t)
		evil := can.ln.Addr().String()
		n := len(f.requests())
		img := fmt.Sprintf(`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"http://%s/cat.png"}}]}]}`, evil)
		for _, r := range []struct {
			target, host, body string
		}{
			{"/v1/chat/completions", evil, chatBody("claude-haiku-4-5", false)},
			{"http://" + evil + "/v1/chat/completions", evil, chatBody("claude-haiku-4-5", false)},
			{"/v1/chat/completions", host, chatBody("http://"+evil+"/", false)},
			{"/v1/chat/completions", host, img},
			{"/v1/chat/completions?url=http://" + evil, host, chatBody("claude-haiku-4-5", false)},
			{"/v1/../../" + evil + "/v1/chat/completions", host, chatBody("claude-haiku-4-5", false)},
		} {
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nX-Forwarded-Host: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", r.target, r.host, evil, len(r.body), r.body)
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.ReadAll(c)
			c.Close()
		}
		if can.hits.Load() != 0 {
			t.Fatalf("the gateway connected to a client-chosen address %d times", can.hits.Load())
		}
		for _, r := range f.requests()[n:] {
			if r.Host != fmt.Sprintf("127.0.0.1:%d", f.Port) {
				t.Fatalf("upstream Host %q", r.Host)
			}
		}
	})

	t.Run("slow-loris headers are cut by the header timeout", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n", host)
		closed := false
		for time.Since(start) < 20*time.Second {
			if _, err := fmt.Fprintf(c, "X-Slow-%d: 1\r\n", time.Now().UnixNano()); err != nil {
				closed = true
				break
			}
			_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := c.Read(make([]byte, 512)); err != nil && !isTimeoutErr(err) {
				closed = true
				break
			}
		}
		if !closed {
			t.Fatal("a client trickling headers kept its connection for 20s")
		}
		if d := time.Since(start); d < 9*time.Second || d > 15*time.Second {
			t.Fatalf("closed after %s, want the 10s ReadHeaderTimeout", d)
		}
	})

	t.Run("a client that never reads its stream holds bounded memory upstream and in the gateway", func(t *testing.T) {
		var written atomic.Int64
		event := "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + strings.Repeat("z", 8000) + "\"}}\n\n"
		stopped := make(chan struct{})
		f.set(func(c *net.TCPConn, _ *http.Request) {
			defer close(stopped)
			writeHead(c, 200, "text/event-stream", -1)
			_ = chunk(c, sseStart)
			for written.Load() < 512<<20 {
				_ = c.SetWriteDeadline(time.Now().Add(3 * time.Second))
				if chunk(c, event) != nil {
					return
				}
				written.Add(int64(len(event)))
			}
		})
		defer f.set(okUpstream)
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		body := chatBody("claude-haiku-4-5", true)
		fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, len(body), body)
		select { // the upstream blocks on a full pipe and gives up after 3s
		case <-stopped:
		case <-time.After(30 * time.Second):
			t.Fatal("the upstream never blocked: the gateway buffers without bound")
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		c.Close()
		if w := written.Load(); w > 64<<20 {
			t.Fatalf("the gateway accepted %d MiB for a client that reads nothing", w>>20)
		}
		if grow := int64(after.HeapInuse) - int64(before.HeapInuse); grow > 64<<20 {
			t.Fatalf("heap grew %d MiB", grow>>20)
		}
		t.Logf("upstream wrote %d KiB before blocking", written.Load()>>10)
	})
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// A chunked body past --max-request-body gets 413 in the OpenAI shape, as one with a
// Content-Length does.
//
// Known bug (fails today): the bbr transformation in dataplane/wiring/transformation.go reads
// the body first and answers any read error as a plain-text 400 echoing the error
// ("reading request body: http: request body too large").
func TestOversizedChunkedBody(t *testing.T) {
	f := startFaultServer(t)
	f.set(okUpstream)
	_, res := renderPlatform(t, []string{"egress"}, egressSet(f.Port))
	gw := startGateway(t, res, gwOptions{MaxRequestBody: 1 << 20})
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"`)
		_, _ = io.WriteString(pw, strings.Repeat("x", 2<<20))
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/v1/chat/completions", pr) // no Content-Length: chunked
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assertOpenAIError(t, resp.StatusCode, b, http.StatusRequestEntityTooLarge)
	if f.hits.Load() != 0 {
		t.Fatal("an oversized request reached the upstream")
	}
}
