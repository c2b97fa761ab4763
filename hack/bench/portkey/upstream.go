package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/infergw/gwctl/hack/bench/loadgen"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

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
// shape (for the passthrough and the direct baseline). SSE events are flushed one by one.
type upstream struct {
	msgEvents, chatEvents [][]byte
	chat                  []byte
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	stream := bytes.Contains(body, []byte(`"stream":true`))
	switch {
	case r.Method != http.MethodPost:
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
	case r.URL.Path == "/v1/messages" && stream:
		writeSSE(w, u.msgEvents)
	case r.URL.Path == "/v1/messages":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_bench")
		_, _ = w.Write(anthropicMessage)
	case r.URL.Path == "/v1/chat/completions" && stream:
		writeSSE(w, u.chatEvents)
	case r.URL.Path == "/v1/chat/completions":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(u.chat)
	default:
		http.NotFound(w, r)
	}
}

func writeSSE(w http.ResponseWriter, events [][]byte) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	f := w.(http.Flusher)
	for _, e := range events {
		_, _ = w.Write(e)
		f.Flush()
	}
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
func serveUpstream(ctx context.Context) (string, error) {
	u := &upstream{msgEvents: splitEvents(anthropicStream())}
	addr, err := loadgen.Serve(ctx, u)
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
