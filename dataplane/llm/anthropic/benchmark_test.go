package anthropic

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
	"github.com/infergw/gwctl/dataplane/llm/llmtest"
	openaibackend "github.com/infergw/gwctl/dataplane/llm/openai"
)

// benchRequest is a typical agent turn: system prompt, history with a tool round trip, tools.
var benchRequest = []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":0.2,"stream":false,
"messages":[{"role":"system","content":"` + strings.Repeat("You are a careful assistant. ", 20) + `"},
{"role":"user","content":"What's the weather in Paris and Rome? ` + strings.Repeat("Please be thorough. ", 10) + `"},
{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"18C and sunny"},
{"role":"tool","tool_call_id":"call_2","content":"24C and cloudy"},
{"role":"user","content":[{"type":"text","text":"And tomorrow?"},{"type":"image_url","image_url":{"url":"https://example.com/map.png"}}]}],
"tools":[` + weatherTool + `,{"type":"function","function":{"name":"get_time","description":"Current time","parameters":{"type":"object","properties":{"tz":{"type":"string"}}}}}],
"tool_choice":"auto","parallel_tool_calls":true,"user":"user-1234"}`)

var benchText = strings.Repeat("The forecast for tomorrow is mild with light winds. ", 12)

var benchResponse = []byte(`{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"` + benchText + `"},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris","day":"tomorrow"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":812,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":160,"service_tier":"standard"}}`)

// benchStream is a 60-delta text stream with usage, like the recorded cassettes.
func benchStream() []byte {
	var b bytes.Buffer
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5-20250929\",\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":812,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1024,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for i := 0; i < 60; i++ {
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

// openAIEquivalents are the OpenAI-shaped replies with the same content, for the passthrough.
func openAIEquivalents() (completion, stream []byte) {
	tr := newTranslator(&Config{}, quietLogger())
	c, _ := tr.translateResponse(context.Background(), benchResponse, created, "")
	st := tr.newStream(context.Background(), created, true, "")
	var rec recorder
	_ = st.run(bytes.NewReader(benchStream()), &rec)
	return c.Body, rec.Bytes()
}

func BenchmarkTranslateRequest(b *testing.B) {
	tr := newTranslator(&Config{}, quietLogger())
	b.SetBytes(int64(len(benchRequest)))
	b.ReportAllocs()
	defer llmtest.ReportCPU(b)()
	for b.Loop() {
		if _, err := tr.translateRequest(context.Background(), benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslateResponse(b *testing.B) {
	tr := newTranslator(&Config{}, quietLogger())
	b.SetBytes(int64(len(benchResponse)))
	b.ReportAllocs()
	for b.Loop() {
		c, ok := tr.translateResponse(context.Background(), benchResponse, created, "")
		if !ok {
			b.Fatal("not translated")
		}
		c.Buf.Release() // as llm.Upstream does once the body is written
	}
}

type discard struct{}

func (discard) Data([]byte) error { return nil }
func (discard) Done() error       { return nil }

func BenchmarkTranslateStream(b *testing.B) {
	tr := newTranslator(&Config{}, quietLogger())
	in := benchStream()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		st := tr.newStream(context.Background(), created, true, "")
		if err := st.run(bytes.NewReader(in), discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

// handlerBench serves either backend over loopback in front of the same fake upstream.
func handlerBench(b *testing.B, translate, stream bool) {
	fake := anthropictest.New(b, anthropictest.SchemaPath(b))
	fake.KeepRequests(false)
	fake.SkipValidation(true)
	comp, sse := openAIEquivalents()
	if stream {
		fake.SetDefault(anthropictest.Reply{SSE: true, Body: benchStream()})
		fake.SetChatReply(anthropictest.Reply{SSE: true, Body: sse})
	} else {
		fake.SetDefault(anthropictest.Reply{Body: benchResponse})
		fake.SetChatReply(anthropictest.Reply{Body: comp})
	}
	key := func() (string, error) { return "sk-bench", nil }
	var h http.Handler
	var err error
	if translate {
		h, err = NewHandler(Config{Host: fake.Host, Port: fake.Port, Plaintext: true, APIKey: key})
	} else {
		h, err = openaibackend.NewHandler(openaibackend.Config{Host: fake.Host, Port: fake.Port, Plaintext: true, APIKey: key})
	}
	if err != nil {
		b.Fatal(err)
	}
	body := benchRequest
	if stream {
		body = llmtest.StreamRequest(benchRequest)
	}
	llmtest.BenchChat(b, h, body)
}

// BenchmarkHandlerTranslate and BenchmarkHandlerPassthrough measure a whole request over
// loopback (client → backend handler → fake upstream) with equivalent replies; their ratio is
// the translation overhead.
func BenchmarkHandlerTranslate(b *testing.B) {
	b.Run("json", func(b *testing.B) { handlerBench(b, true, false) })
	b.Run("stream", func(b *testing.B) { handlerBench(b, true, true) })
}

func BenchmarkHandlerPassthrough(b *testing.B) {
	b.Run("json", func(b *testing.B) { handlerBench(b, false, false) })
	b.Run("stream", func(b *testing.B) { handlerBench(b, false, true) })
}

// BenchmarkRequestKeys is the strict read decodeRequest adds before decoding (part of
// BenchmarkTranslateRequest).
func BenchmarkRequestKeys(b *testing.B) {
	b.SetBytes(int64(len(benchRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if err := chatRequestKeys.Read(benchRequest, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// memTransport answers every call with the benchmark's Anthropic reply, in memory.
type memTransport struct{}

func (memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_1"}},
		Body:          io.NopCloser(bytes.NewReader(benchResponse)),
		ContentLength: int64(len(benchResponse)), Request: r}, nil
}

// memWriter is a ResponseWriter that keeps nothing but its headers and status, reused across
// requests.
type memWriter struct {
	h    http.Header
	code int
}

func (w *memWriter) Header() http.Header         { return w.h }
func (w *memWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *memWriter) WriteHeader(code int)        { w.code = code }

// memServe returns a function serving the benchmark's json request with the backend handler
// alone: an in-memory transport and writer, the request and writer reused.
func memServe(tb testing.TB) func() int {
	h, err := NewHandler(Config{Host: "upstream.test", APIKey: func() (string, error) { return "sk-bench", nil },
		Client: &http.Client{Transport: memTransport{}}})
	if err != nil {
		tb.Fatal(err)
	}
	w := &memWriter{h: http.Header{}}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.ContentLength = int64(len(benchRequest))
	var body bytes.Reader
	return func() int {
		body.Reset(benchRequest)
		r.Body = io.NopCloser(&body)
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, r)
		return w.code
	}
}

// BenchmarkHandlerServe is the backend handler's own work on a json request (read the body,
// translate, build and make the upstream call, translate the reply, write it), without the
// network: what it allocates and costs is the handler's (and the in-memory transport's).
func BenchmarkHandlerServe(b *testing.B) {
	serve := memServe(b)
	b.ReportAllocs()
	defer llmtest.ReportCPU(b)()
	for b.Loop() {
		if code := serve(); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
}
