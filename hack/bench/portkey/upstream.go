package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/infergw/gwctl/hack/bench/loadgen"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"

	"github.com/infergw/gwctl/dataplane/llm/anthropic"
)

// chatRequest is a typical agent turn (the dataplane's own benchmark request): system prompt,
// history with a tool round trip, an image part, two tools.
var chatRequest = []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":0.2,"stream":false,
"messages":[{"role":"system","content":"` + strings.Repeat("You are a careful assistant. ", 20) + `"},
{"role":"user","content":"What's the weather in Paris and Rome? ` + strings.Repeat("Please be thorough. ", 10) + `"},
{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"18C and sunny"},
{"role":"tool","tool_call_id":"call_2","content":"24C and cloudy"},
{"role":"user","content":[{"type":"text","text":"And tomorrow?"},{"type":"image_url","image_url":{"url":"https://example.com/map.png"}}]}],
"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},{"type":"function","function":{"name":"get_time","description":"Current time","parameters":{"type":"object","properties":{"tz":{"type":"string"}}}}}],
"tool_choice":"auto","parallel_tool_calls":true,"user":"user-1234"}`)

func streamRequest() []byte {
	return bytes.Replace(chatRequest, []byte(`"stream":false`), []byte(`"stream":true,"stream_options":{"include_usage":true}`), 1)
}

var anthropicMessage = []byte(`{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"` +
	strings.Repeat("The forecast for tomorrow is mild with light winds. ", 12) +
	`"},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris","day":"tomorrow"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":812,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":160,"service_tier":"standard"}}`)

// anthropicStream is a 60-delta text stream with pings and usage, like recorded cassettes.
func anthropicStream() []byte {
	var b bytes.Buffer
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5-20250929\",\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":812,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1024,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for i := range 60 {
		fmt.Fprintf(&b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word %d, \"}}\n\n", i)
		if i%20 == 0 {
			b.WriteString("event: ping\ndata: {\"type\": \"ping\"}\n\n")
		}
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	b.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":160}}\n\n")
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return b.Bytes()
}

// upstream is the fake provider: POST /v1/messages answers the canned Anthropic Message or
// stream (by the request's "stream"), POST /v1/chat/completions the same content in OpenAI's
// shape (for the passthrough and the direct baseline). Every reply is rendered once at start;
// a request costs the fake one read of its body and the writes below.
//
// Write pattern of a stream (the same for every gateway): a real provider's stream reaches a
// gateway in TCP segments that each carry several events (the provider's front end and TLS
// records batch what the model produced since the last segment), not one segment per event.
// The fake keeps the recorded events' bytes and count and writes them in whole events,
// flushing when the next event would take the segment past segment bytes (1,400 by default:
// one Ethernet MSS), so the 68-event Anthropic stream (8,262 bytes) is 6 writes. A request
// whose URL has ?segment=N uses N instead; ?segment=0 writes and flushes every event on its
// own (the rig before the seventh session).
type upstream struct {
	msgEvents, chatEvents [][]byte
	chat                  []byte
	segment               int
	bodies                sync.Pool // *[]byte request body buffers
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bp, _ := u.bodies.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 8<<10)
		bp = &b
	}
	defer u.bodies.Put(bp)
	body, _ := readAll(r.Body, (*bp)[:0])
	*bp = body
	stream := bytes.Contains(body, []byte(`"stream":true`))
	segment := u.segment
	if q := r.URL.RawQuery; q != "" {
		if n, err := strconv.Atoi(r.URL.Query().Get("segment")); err == nil {
			segment = n
		}
	}
	switch {
	case r.Method != http.MethodPost:
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
	case r.URL.Path == "/v1/messages" && stream:
		writeSSE(w, u.msgEvents, segment)
	case r.URL.Path == "/v1/messages":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_bench")
		_, _ = w.Write(anthropicMessage)
	case r.URL.Path == "/v1/chat/completions" && stream:
		writeSSE(w, u.chatEvents, segment)
	case r.URL.Path == "/v1/chat/completions":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(u.chat)
	default:
		http.NotFound(w, r)
	}
}

// readAll is io.ReadAll into buf's spare capacity.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// writeSSE writes events in whole events, flushing each time the next one would take the
// segment past segment bytes (every event on its own when segment <= 0).
func writeSSE(w http.ResponseWriter, events [][]byte, segment int) {
	h := w.Header()
	h["Content-Type"] = []string{"text/event-stream"}
	h["Cache-Control"] = []string{"no-cache"}
	f := w.(http.Flusher)
	n := 0
	for _, e := range events {
		if segment > 0 && n > 0 && n+len(e) > segment {
			f.Flush()
			n = 0
		}
		_, _ = w.Write(e)
		n += len(e)
		if segment <= 0 {
			f.Flush()
		}
	}
	// Otherwise the last segment goes out with the end of the reply (net/http's terminating chunk), as
	// one write.
}

// segments is how many writes writeSSE makes for events.
func segments(events [][]byte, segment int) int {
	if segment <= 0 {
		return len(events)
	}
	count, n := 0, 0
	for _, e := range events {
		if n > 0 && n+len(e) > segment {
			count++
			n = 0
		}
		n += len(e)
	}
	return count + 1
}

// splitEvents splits an SSE body into its events, each with its blank-line terminator.
func splitEvents(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\n\n"))
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+2])
		b = b[i+2:]
	}
	return out
}

// serveUpstream starts the fake provider. Its OpenAI-shaped replies are the dataplane's own
// translation of the Anthropic ones, so all targets return the same content.
func serveUpstream(ctx context.Context, segment int) (string, error) {
	u := &upstream{msgEvents: splitEvents(anthropicStream()), segment: segment}
	mux := http.NewServeMux()
	mux.Handle("/", u)
	mux.HandleFunc("/debug/pprof/", pprof.Index) // -driverprofile
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	addr, err := loadgen.Serve(ctx, mux)
	if err != nil {
		return "", err
	}
	host, port, err := splitAddr(addr)
	if err != nil {
		return "", err
	}
	h, err := anthropic.NewHandler(anthropic.Config{Host: host, Port: port, Plaintext: true, APIKey: func() (string, error) { return "sk-bench", nil }})
	if err != nil {
		return "", err
	}
	for _, stream := range []bool{false, true} {
		body := chatRequest
		if stream {
			body = streamRequest()
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body)).WithContext(ctx))
		if rec.Code != http.StatusOK {
			return "", fmt.Errorf("building the OpenAI reply: status %d: %s", rec.Code, rec.Body.Bytes())
		}
		if stream {
			u.chatEvents = splitEvents(rec.Body.Bytes())
		} else {
			u.chat = rec.Body.Bytes()
		}
	}
	return addr, nil
}
