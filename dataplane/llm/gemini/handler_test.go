package gemini

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/llm/gemini/geminitest"
	"github.com/infergw/gwctl/internal/testenv"
)

const secretKey = "AIzaSyTESTSECRET-do-not-log-0123456789"

type e2e struct {
	fake    *geminitest.Server
	client  openai.Client
	reg     *prometheus.Registry
	logs    *testenv.Buffer
	mu      sync.Mutex
	results []llm.Result
}

// newE2E serves the handler over loopback in front of the fake Gemini.
func newE2E(t *testing.T, mod func(*Config)) *e2e {
	t.Helper()
	e := &e2e{fake: geminitest.New(t, secretKey), reg: prometheus.NewRegistry(), logs: &testenv.Buffer{}}
	metrics, err := llm.NewMetrics(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Host: e.fake.Host, Port: e.fake.Port, Plaintext: true,
		APIKey: func() (string, error) { return secretKey, nil }, Metrics: metrics,
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil)),
		OnResult: func(_ context.Context, r llm.Result) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.results = append(e.results, r)
		}}
	if mod != nil {
		mod(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(llm.WithRoute(r.Context(), llm.RouteInfo{Route: "r", Backend: "gemini"})))
	}))
	t.Cleanup(srv.Close)
	e.client = openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("client-key"), option.WithMaxRetries(0))
	t.Cleanup(func() {
		if r := e.fake.Rejections(); len(r) > 0 {
			t.Errorf("the fake Gemini refused requests: %v", r)
		}
	})
	return e
}

// result waits for the n-th Result: it is reported after the response is written.
func (e *e2e) result(t *testing.T, n int) llm.Result {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		if len(e.results) >= n {
			r := e.results[n-1]
			e.mu.Unlock()
			return r
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("result %d not reported", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestE2ENonStreaming(t *testing.T) {
	e := newE2E(t, nil)
	e.fake.Push(geminitest.Reply{Body: fixture(t, "response/thinking-cached.json"), Header: http.Header{"X-Goog-Request-Id": {"g-1"}}})
	var raw *http.Response
	cc, err := e.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-pro", Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Which is older?")},
		ReasoningEffort: openai.ReasoningEffortLow,
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if cc.Choices[0].Message.Content != "Rome was founded long before Paris grew into a city." || cc.Choices[0].FinishReason != "stop" || cc.Model != "gemini-2.5-pro" {
		t.Errorf("completion %s", cc.RawJSON())
	}
	u := cc.Usage
	if u.PromptTokens != 2100 || u.PromptTokensDetails.CachedTokens != 2048 || u.CompletionTokens != 212 || u.CompletionTokensDetails.ReasoningTokens != 198 || u.TotalTokens != 2312 {
		t.Errorf("usage %s", u.RawJSON())
	}
	if raw.Header.Get("X-Goog-Request-Id") != "g-1" {
		t.Errorf("response headers %v", raw.Header)
	}
	req := e.fake.Requests()[0]
	if req.Path != "/v1beta/models/gemini-2.5-pro:generateContent" || req.Decoded.SystemInstruction.Parts[0].Text != "Be brief." ||
		*req.Decoded.GenerationConfig.ThinkingConfig.ThinkingBudget != 1024 {
		t.Errorf("upstream request %s %s", req.Path, req.Body)
	}
	r := e.result(t, 1)
	if r.Provider != "gemini" || r.RequestModel != "gemini-2.5-pro" || r.ResponseID != "think-1" || r.Usage.Input != 52 || r.Usage.CacheRead != 2048 || r.Usage.Output != 212 {
		t.Errorf("result %+v", r)
	}
	m, _ := llm.NewMetrics(e.reg)
	if got := testutil.ToFloat64(m.Counter(llm.RouteInfo{Route: "r", Backend: "gemini"}, "other", llm.TokenCacheRead)); got != 2048 {
		t.Errorf("cache_read counter %v", got)
	}
}

func TestE2EStreamingToolRoundTrip(t *testing.T) {
	e := newE2E(t, func(c *Config) { c.Model = "gemini-2.5-flash" })
	e.fake.Push(geminitest.Reply{SSE: true, Body: fixture(t, "stream/tools.sse")})
	weather := openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_weather",
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})
	clock := openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_time"})
	p := openai.ChatCompletionNewParams{Model: "client-model", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris, and the time?")},
		Tools: []openai.ChatCompletionToolUnionParam{weather, clock}, StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}
	stream := e.client.Chat.Completions.NewStreaming(t.Context(), p)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("accumulator refused %s", stream.Current().RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	msg := acc.Choices[0].Message
	if len(msg.ToolCalls) != 2 || msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` ||
		acc.Choices[0].FinishReason != "tool_calls" || acc.Usage.TotalTokens != 190 || acc.Usage.CompletionTokensDetails.ReasoningTokens != 45 {
		t.Fatalf("accumulated %s", jsonOf(t, acc.ChatCompletion))
	}
	if r := e.fake.Requests()[0]; r.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || r.Query != "alt=sse" {
		t.Errorf("upstream %s?%s", r.Path, r.Query)
	}

	// The next turn replays the calls (with the thought signature riding in the id) and the results.
	p.Messages = append(p.Messages, msg.ToParam(),
		openai.ToolMessage("18C", msg.ToolCalls[0].ID), openai.ToolMessage(`{"time":"12:00"}`, msg.ToolCalls[1].ID))
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
	cc, err := e.client.Chat.Completions.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Choices[0].Message.Content != "Hello!" {
		t.Errorf("second turn %s", cc.RawJSON())
	}
	turns := e.fake.Requests()[1].Decoded.Contents
	if len(turns) != 3 || turns[1].Role != "model" || turns[1].Parts[1].FunctionCall.Name != "get_weather" || len(turns[1].Parts[1].ThoughtSignature) == 0 ||
		turns[2].Parts[0].FunctionResponse.Response["output"] != "18C" || turns[2].Parts[1].FunctionResponse.Response["time"] != "12:00" {
		t.Errorf("replayed turns %s", jsonOf(t, turns))
	}
	r := e.result(t, 1)
	if !r.Stream || r.FinishReason != "tool_calls" || r.Usage.Output != 70 || r.ResponseModel != "gemini-2.5-flash" {
		t.Errorf("stream result %+v", r)
	}
}

func TestE2EImagesAndCandidates(t *testing.T) {
	e := newE2E(t, nil)
	e.fake.Push(geminitest.Reply{Body: fixture(t, "response/two-candidates.json")})
	cc, err := e.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash-lite", N: openai.Int(2),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("Flip"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/webp;base64,UklGRg=="}),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/coin.png"}),
		})}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cc.Choices) != 2 || cc.Choices[1].Message.Content != "Tails, and then some" || cc.Choices[1].FinishReason != "length" {
		t.Errorf("choices %s", cc.RawJSON())
	}
	parts := e.fake.Requests()[0].Decoded.Contents[0].Parts
	if len(parts) != 3 || parts[1].InlineData.MIMEType != "image/webp" || parts[2].FileData.FileURI != "https://example.com/coin.png" ||
		e.fake.Requests()[0].Decoded.GenerationConfig.CandidateCount != 2 {
		t.Errorf("parts %s", jsonOf(t, parts))
	}
}

func TestE2EErrors(t *testing.T) {
	for _, tc := range []struct {
		name             string
		reply            geminitest.Reply
		status           int
		typ, code        string
		retryAfter, part string
	}{
		{"invalid argument", geminitest.Reply{Status: 400, Body: geminitest.ErrorBody(400, "INVALID_ARGUMENT", "Invalid value at 'contents[0]'")}, 400, "invalid_request_error", "INVALID_ARGUMENT", "", "contents[0]"},
		{"api key invalid is a 401", geminitest.Reply{Status: 400, Body: []byte(`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`)}, 401, "authentication_error", "invalid_api_key", "", "API key not valid"},
		{"permission", geminitest.Reply{Status: 403, Body: geminitest.ErrorBody(403, "PERMISSION_DENIED", "denied")}, 403, "permission_error", "PERMISSION_DENIED", "", ""},
		{"model not found", geminitest.Reply{Status: 404, Body: geminitest.ErrorBody(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta")}, 404, "invalid_request_error", "model_not_found", "", ""},
		{"quota", geminitest.Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: geminitest.ErrorBody(429, "RESOURCE_EXHAUSTED", "quota")}, 429, "rate_limit_error", "RESOURCE_EXHAUSTED", "7", ""},
		{"overloaded", geminitest.Reply{Status: 503, Body: geminitest.ErrorBody(503, "UNAVAILABLE", "The model is overloaded.")}, 503, "server_error", "UNAVAILABLE", "", ""},
		{"key echoed is redacted", geminitest.Reply{Status: 400, Body: geminitest.ErrorBody(400, "INVALID_ARGUMENT", "bad key "+secretKey)}, 400, "invalid_request_error", "INVALID_ARGUMENT", "", "[REDACTED]"},
		{"html", geminitest.Reply{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html>bad gateway</html>")}, 502, "server_error", "bad_upstream_response", "", ""},
		{"garbage 200", geminitest.Reply{Body: []byte("not json")}, 502, "server_error", "bad_upstream_response", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, nil)
			e.fake.Push(tc.reply)
			var raw *http.Response
			_, err := e.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, option.WithResponseInto(&raw))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status || apiErr.Type != tc.typ || apiErr.Code != tc.code || !strings.Contains(apiErr.Message, tc.part) {
				t.Fatalf("got %v", err)
			}
			if raw.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("Retry-After %q", raw.Header.Get("Retry-After"))
			}
			if strings.Contains(apiErr.RawJSON(), secretKey) || strings.Contains(e.logs.String(), secretKey) {
				t.Error("the API key reached the client or the log")
			}
		})
	}
}

func TestE2EValidationErrorNamesParam(t *testing.T) {
	e := newE2E(t, nil)
	_, err := e.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", N: openai.Int(9),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "n" || len(e.fake.Requests()) != 0 {
		t.Fatalf("got %v", err)
	}
}

func TestE2EStreamFailures(t *testing.T) {
	for _, name := range []string{"error-midstream", "truncated"} {
		t.Run(name, func(t *testing.T) {
			e := newE2E(t, nil)
			e.fake.Push(geminitest.Reply{SSE: true, Body: fixture(t, "stream/"+name+".sse")})
			stream := e.client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
			n := 0
			for stream.Next() {
				n++
			}
			if stream.Err() == nil || n == 0 {
				t.Fatalf("after %d chunks: err %v, want a stream error", n, stream.Err())
			}
			if r := e.result(t, 1); r.ErrorType != "server_error" || !r.HasUsage {
				t.Errorf("result %+v", r)
			}
		})
	}
}

func TestE2EClientCancelMidStream(t *testing.T) {
	e := newE2E(t, nil)
	first := strings.SplitAfter(string(fixture(t, "stream/text.sse")), "\r\n\r\n")[0]
	e.fake.Push(geminitest.Reply{SSE: true, Hold: true, Body: []byte(first)})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream := e.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if !stream.Next() {
		t.Fatalf("first chunk not flushed: %v", stream.Err())
	}
	cancel()
	select {
	case <-e.fake.Cancelled():
	case <-time.After(10 * time.Second):
		t.Fatal("upstream not cancelled")
	}
	if r := e.result(t, 1); r.ErrorType != "client_closed_request" {
		t.Errorf("result %+v", r)
	}
}

func TestNewHandlerConfig(t *testing.T) {
	key := func() (string, error) { return "k", nil }
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, false},
		{Config{APIKey: key}, true},
		{Config{APIKey: key, Model: "gemini/../x"}, false},
		{Config{APIKey: key, Host: "a/b"}, false},
	} {
		if _, err := NewHandler(tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%+v: err %v", tc.cfg, err)
		}
	}
}
