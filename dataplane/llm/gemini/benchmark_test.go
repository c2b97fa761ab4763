package gemini

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm/gemini/geminitest"
	"github.com/infergw/gwctl/dataplane/llm/llmtest"
	openaibackend "github.com/infergw/gwctl/dataplane/llm/openai"
)

// benchRequest is the agent turn of the Anthropic benchmarks (system prompt, a tool round
// trip, tools, an image URL), for a Gemini model.
var benchRequest = []byte(`{"model":"gemini-2.5-flash","max_tokens":1024,"temperature":0.2,"stream":false,
"messages":[{"role":"system","content":"` + strings.Repeat("You are a careful assistant. ", 20) + `"},
{"role":"user","content":"What's the weather in Paris and Rome? ` + strings.Repeat("Please be thorough. ", 10) + `"},
{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"18C and sunny"},
{"role":"tool","tool_call_id":"call_2","content":"24C and cloudy"},
{"role":"user","content":[{"type":"text","text":"And tomorrow?"},{"type":"image_url","image_url":{"url":"https://example.com/map.png"}}]}],
"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"]}}},{"type":"function","function":{"name":"get_time","description":"Current time","parameters":{"type":"object","properties":{"tz":{"type":"string"}}}}}],
"tool_choice":"auto","parallel_tool_calls":true,"user":"user-1234"}`)

var benchText = strings.Repeat("The forecast for tomorrow is mild with light winds. ", 12)

var benchResponse = []byte(`{"candidates":[{"content":{"parts":[{"text":"` + benchText + `"},{"functionCall":{"name":"get_weather","args":{"city":"Paris","day":"tomorrow"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1836,"candidatesTokenCount":160,"totalTokenCount":1996,"cachedContentTokenCount":1024,"promptTokensDetails":[{"modality":"TEXT","tokenCount":1836}]},"modelVersion":"gemini-2.5-flash","responseId":"bench-1"}`)

// benchStream is a 60-event text stream with cumulative usage, in Gemini's framing (CRLF).
func benchStream() []byte {
	var b bytes.Buffer
	for i := 0; i < 60; i++ {
		finish := ""
		if i == 59 {
			finish = `"finishReason":"STOP",`
		}
		fmt.Fprintf(&b, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"word %d, \"}],\"role\":\"model\"},%s\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":1836,\"candidatesTokenCount\":%d,\"totalTokenCount\":%d,\"cachedContentTokenCount\":1024},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"bench-1\"}\r\n\r\n", i, finish, i+1, 1837+i)
	}
	return b.Bytes()
}

// openAIEquivalents are the OpenAI-shaped replies with the same content, for the passthrough.
func openAIEquivalents(b *testing.B) (completion, stream []byte) {
	tr := testTranslator()
	c, ok := tr.translateResponse(context.Background(), benchResponse, created, "gemini-2.5-flash")
	if !ok {
		b.Fatal("bench response not translated")
	}
	out, err := translateStream(b, benchStream(), true, 1)
	if err != nil {
		b.Fatal(err)
	}
	return c.Body, out
}

func BenchmarkTranslateRequest(b *testing.B) {
	tr := testTranslator()
	b.SetBytes(int64(len(benchRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.translateRequest(context.Background(), benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslateResponse(b *testing.B) {
	tr := testTranslator()
	b.SetBytes(int64(len(benchResponse)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tr.translateResponse(context.Background(), benchResponse, created, "gemini-2.5-flash"); !ok {
			b.Fatal("not translated")
		}
	}
}

type discard struct{}

func (discard) Data([]byte) error { return nil }
func (discard) Done() error       { return nil }

func BenchmarkTranslateStream(b *testing.B) {
	tr := testTranslator()
	in := benchStream()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		st := tr.newStream(context.Background(), created, &upstreamRequest{Model: "gemini-2.5-flash", IncludeUsage: true, Candidates: 1})
		if err := st.run(bytes.NewReader(in), discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

// handlerBench serves either backend over loopback in front of the same fake upstream, as the
// Anthropic package's handler benchmarks do. Both streams come from the same code, pre-rendered:
// 60 Gemini events (16.5 KB) or their 64 OpenAI chunks (15.0 KB), one write and flush per event,
// or all in one write with burst.
func handlerBench(b *testing.B, translate, stream, burst bool) {
	fake := geminitest.New(b, "bench-key")
	fake.KeepRequests(false)
	fake.SkipValidation(true)
	comp, sse := openAIEquivalents(b)
	fake.SetDefault(geminitest.Reply{Body: benchResponse}, geminitest.Reply{SSE: true, Burst: burst, Body: benchStream()})
	if stream {
		fake.SetChatReply(geminitest.Reply{SSE: true, Burst: burst, Body: sse})
	} else {
		fake.SetChatReply(geminitest.Reply{Body: comp})
	}
	key := func() (string, error) { return "bench-key", nil }
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
// the Gemini translation's overhead. In stream the fake writes and flushes each event while
// the handler, in the same process, reads them: how often the handler drains the socket and
// sleeps depends on how fast it is against the fake's writes, so that figure moves with
// scheduling (a faster reader wakes more often). burst sends the same events in one write,
// which leaves the handlers' own work.
func BenchmarkHandlerTranslate(b *testing.B) {
	b.Run("json", func(b *testing.B) { handlerBench(b, true, false, false) })
	b.Run("stream", func(b *testing.B) { handlerBench(b, true, true, false) })
	b.Run("burst", func(b *testing.B) { handlerBench(b, true, true, true) })
}

func BenchmarkHandlerPassthrough(b *testing.B) {
	b.Run("json", func(b *testing.B) { handlerBench(b, false, false, false) })
	b.Run("stream", func(b *testing.B) { handlerBench(b, false, true, false) })
	b.Run("burst", func(b *testing.B) { handlerBench(b, false, true, true) })
}
