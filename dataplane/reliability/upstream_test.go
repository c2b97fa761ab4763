package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

const (
	okMessage = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}`
	sseStart  = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
	sseEnd = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

func writeHead(c net.Conn, status int, contentType string, length int) {
	cl := "Transfer-Encoding: chunked\r\n"
	if length >= 0 {
		cl = fmt.Sprintf("Content-Length: %d\r\n", length)
	}
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: %s\r\n%s\r\n", status, http.StatusText(status), contentType, cl)
}

// chunk writes one chunk of a chunked body.
func chunk(c net.Conn, s string) error {
	_, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(s), s)
	return err
}

// assertOpenAIError checks an OpenAI-shaped error body (param and code a string or null, as
// OpenAI's API has them) and that it leaks nothing.
func assertOpenAIError(t *testing.T, status int, body []byte, wantStatus ...int) {
	t.Helper()
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("status %d: %v: %s", status, errNoOpenAIShape, body)
	}
	if len(wantStatus) > 0 {
		for _, w := range wantStatus {
			if status == w {
				goto ok
			}
		}
		t.Fatalf("status %d, want one of %v: %s", status, wantStatus, body)
	}
ok:
	if bytes.Contains(body, []byte(providerKey)) {
		t.Fatalf("the provider key is in an error body: %s", body)
	}
}

// Every upstream failure mode of the egress route (OpenAI client -> translation -> Anthropic
// API) ends in a bounded time with an OpenAI-shaped error, closes the upstream connection, and
// leaves the dataplane serving.
func TestUpstreamFaults(t *testing.T) {
	f, gw := egressFaultGateway(t)
	url := gw.URL + "/v1/chat/completions"
	model := "claude-haiku-4-5"

	healthy := func(t *testing.T) {
		t.Helper()
		f.set(func(c *net.TCPConn, _ *http.Request) {
			writeHead(c, 200, "application/json", len(okMessage))
			_, _ = io.WriteString(c, okMessage)
		})
		if st, _, b := post(t, url, "application/json", chatBody(model, false)); st != 200 || !bytes.Contains(b, []byte(`"hi"`)) {
			t.Fatalf("the gateway does not serve after the fault: %d %s", st, b)
		}
	}
	healthy(t)

	// Under the race detector reading 64 MiB can outlast the 2 s route timeout: 504 then.
	hugeStatus := []int{502}
	if testenv.RaceSlowdown > 1 {
		hugeStatus = append(hugeStatus, http.StatusGatewayTimeout)
	}
	cases := []struct {
		name   string
		mode   func(c *net.TCPConn, r *http.Request)
		status []int
	}{
		{"5xx", func(c *net.TCPConn, _ *http.Request) {
			b := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
			writeHead(c, 529, "application/json", len(b))
			_, _ = io.WriteString(c, b)
		}, []int{502, 503, 529}},
		{"connection reset before the first byte", func(c *net.TCPConn, _ *http.Request) { reset(c) }, []int{502}},
		{"connection reset after the first byte", func(c *net.TCPConn, _ *http.Request) {
			writeHead(c, 200, "application/json", len(okMessage))
			_, _ = io.WriteString(c, okMessage[:20])
			reset(c)
		}, []int{502}},
		{"huge response", func(c *net.TCPConn, _ *http.Request) {
			writeHead(c, 200, "application/json", -1)
			_ = chunk(c, `{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"`)
			line := strings.Repeat("a", 1<<20)
			for i := 0; i < 80; i++ { // 80 MiB, past the 64 MiB non-streaming bound
				if chunk(c, line) != nil {
					return
				}
			}
			_ = chunk(c, `"}]}`)
			_ = chunk(c, "")
		}, hugeStatus},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.set(tc.mode)
			start := time.Now()
			st, _, body := post(t, url, "application/json", chatBody(model, false))
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %s", d)
			}
			assertOpenAIError(t, st, body, tc.status...)
			healthy(t)
		})
	}

	t.Run("stream cut mid-message", func(t *testing.T) {
		f.set(func(c *net.TCPConn, _ *http.Request) {
			writeHead(c, 200, "text/event-stream", -1)
			_ = chunk(c, sseStart)
			_ = chunk(c, "event: content_block_delta\ndata: {\"type\":\"content_bl")
			reset(c)
		})
		st, _, body := post(t, url, "application/json", chatBody(model, true))
		if st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		if !bytes.Contains(body, []byte(`"hi"`)) {
			t.Fatalf("the part before the cut was not relayed: %s", body)
		}
		t.Logf("a cut stream ends with %q", tail(string(body), 160))
		// A client must be able to tell a cut stream from a finished one: an error event, no [DONE].
		if bytes.Contains(body, []byte("[DONE]")) || !bytes.Contains(body, []byte(`data: {"error":`)) {
			t.Fatalf("a cut stream does not end with an error event: %s", body)
		}
		healthy(t)
	})

	t.Run("complete stream for comparison", func(t *testing.T) {
		f.set(func(c *net.TCPConn, _ *http.Request) {
			writeHead(c, 200, "text/event-stream", -1)
			_ = chunk(c, sseStart+sseEnd)
			_ = chunk(c, "")
		})
		st, _, body := post(t, url, "application/json", chatBody(model, true))
		if st != 200 || !bytes.Contains(body, []byte("[DONE]")) {
			t.Fatalf("status %d: %s", st, body)
		}
	})

	t.Run("a stream that never ends is cut by the route timeout", func(t *testing.T) {
		f.set(endlessStream)
		for len(f.closed) > 0 {
			<-f.closed
		}
		start := time.Now()
		st, _, body := post(t, url, "application/json", chatBody(model, true))
		took := time.Since(start)
		if st != 200 || took > 6*time.Second {
			t.Fatalf("status %d after %s: %.300s", st, took, body)
		}
		t.Logf("a stream cut by the timeout ends with %q", tail(string(body), 160))
		if bytes.Contains(body, []byte("[DONE]")) {
			t.Fatalf("a stream cut by the timeout ends like a complete one: %.300s", body)
		}
		select {
		case <-f.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the upstream stream is still open after the route timeout")
		}
		healthy(t)
	})

	t.Run("a stream that never ends is closed upstream when the client goes", func(t *testing.T) {
		f.set(endlessStream)
		for len(f.closed) > 0 {
			<-f.closed
		}
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(chatBody(model, true)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		if _, err := io.ReadAtLeast(resp.Body, buf, 1); err != nil {
			t.Fatal(err)
		}
		cancel()
		resp.Body.Close()
		select {
		case <-f.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the upstream stream is still open 5s after the client went away")
		}
		healthy(t)
	})
}

// egressFaultGateway serves the egress route, its request timeout shortened to 2s, against a
// fault server.
func egressFaultGateway(t *testing.T) (*faultServer, *gateway) {
	f := startFaultServer(t)
	_, res := renderPlatform(t, []string{"egress"}, egressSet(f.Port))
	shorter := bytes.Replace(res, []byte("request: 300s"), []byte("request: 2s"), 1)
	if bytes.Equal(shorter, res) {
		t.Fatal("the egress route has no 300s request timeout to shorten")
	}
	return f, startGateway(t, shorter, gwOptions{})
}

// An upstream slower than the route's request timeout gets a 504 in the OpenAI shape, and the
// upstream connection is closed.
func TestUpstreamSlowPastRouteTimeout(t *testing.T) {
	f, gw := egressFaultGateway(t)
	f.set(func(c *net.TCPConn, _ *http.Request) {
		_, _ = io.Copy(io.Discard, c) // never answers; returns when the gateway gives up
	})
	start := time.Now()
	st, _, body := post(t, gw.URL+"/v1/chat/completions", "application/json", chatBody("claude-haiku-4-5", false))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s with a 2s route timeout", d)
	}
	select {
	case <-f.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream connection is still open after the route timeout")
	}
	assertOpenAIError(t, st, body, http.StatusGatewayTimeout)
}

// endlessStream starts a message and then sends pings until the connection breaks.
func endlessStream(c *net.TCPConn, _ *http.Request) {
	writeHead(c, 200, "text/event-stream", -1)
	if chunk(c, sseStart) != nil {
		return
	}
	for {
		if chunk(c, "event: ping\ndata: {\"type\":\"ping\"}\n\n") != nil {
			return
		}
		time.Sleep(20 * time.Millisecond) // the upstream's ping interval
	}
}
