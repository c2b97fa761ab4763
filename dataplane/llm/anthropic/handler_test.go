package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/infergw/gwctl/internal/testenv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
	"github.com/infergw/gwctl/dataplane/telemetry"
)

const secretKey = "sk-ant-api03-TESTSECRET-do-not-log-0123456789"

// syncBuffer collects log output written by server goroutines.
type syncBuffer = testenv.Buffer

type e2e struct {
	fake    *anthropictest.Server
	client  openai.Client
	url     string
	logs    *syncBuffer
	reg     *prometheus.Registry
	mu      sync.Mutex
	results []llm.Result
	keyPath string
}

// result waits for the n-th reported Result: handlers report after the response is
// written, so the client may see the response first.
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

// newE2E serves the handler over loopback in front of the fake Anthropic.
func newE2E(t *testing.T, mod func(*Config)) *e2e {
	t.Helper()
	e := &e2e{fake: anthropictest.New(t, anthropictest.SchemaPath(t)), logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	e.keyPath = filepath.Join(t.TempDir(), "Authorization")
	if err := os.WriteFile(e.keyPath, []byte(secretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	metrics, err := llm.NewMetrics(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Host: e.fake.Host, Port: e.fake.Port, Plaintext: true,
		APIKey:       llm.KeyFile("default/anthropic-key", e.keyPath),
		AllowedBetas: []string{"prompt-caching-2024-07-31"},
		Logger:       slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:      metrics,
		OnResult: func(_ context.Context, r llm.Result) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.results = append(e.results, r)
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(llm.WithRoute(r.Context(), llm.RouteInfo{Route: "default/chat", Backend: "default/anthropic"})))
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.client = openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("client-own-key"), option.WithMaxRetries(0))
	return e
}

func cassette(t *testing.T, name string) []anthropictest.Interaction {
	t.Helper()
	ins, err := anthropictest.LoadCassette(ref(t, "fixtures/anthropic-sdk-go/cassettes/"+name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

func userParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: "claude-haiku-4-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
}

func TestE2ENonStreaming(t *testing.T) {
	e := newE2E(t, nil)
	cc, err := e.client.Chat.Completions.New(t.Context(), userParams("Hi"), option.WithHeader("Anthropic-Beta", "prompt-caching-2024-07-31, evil-beta"))
	if err != nil {
		t.Fatal(err)
	}
	if cc.ID != "msg_default" || cc.Choices[0].Message.Content != "Hello!" || cc.Choices[0].FinishReason != "stop" || cc.Usage.PromptTokens != 10 {
		t.Errorf("unexpected completion: %s", cc.RawJSON())
	}
	reqs := e.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	h := reqs[0].Header
	if h.Get("X-Api-Key") != secretKey || h.Get("Authorization") != "" || h.Get("Anthropic-Version") != "2023-06-01" {
		t.Errorf("upstream credentials: x-api-key %q, authorization %q, version %q", h.Get("X-Api-Key"), h.Get("Authorization"), h.Get("Anthropic-Version"))
	}
	if got := h.Get("Anthropic-Beta"); got != "prompt-caching-2024-07-31" {
		t.Errorf("anthropic-beta %q, want only the allow-listed value", got)
	}
	if reqs[0].Path != "/v1/messages" {
		t.Errorf("upstream path %q", reqs[0].Path)
	}
	r := e.result(t, 1)
	if r.Status != 200 || r.RequestModel != "claude-haiku-4-5" || r.ResponseModel != "claude-haiku-4-5-20251001" || r.FinishReason != "stop" || r.Usage.Input != 10 || r.Route.Backend != "default/anthropic" {
		t.Errorf("result %+v", r)
	}
	in := testutil.ToFloat64(must(t, e.reg, "input"))
	out := testutil.ToFloat64(must(t, e.reg, "output"))
	if in != 10 || out != 3 {
		t.Errorf("metrics input %v output %v, want 10 and 3", in, out)
	}
}

// must returns the token counter of kind for the e2e route. Its backend configures no model, so
// the model label of what the client asked for is "other".
func must(t *testing.T, reg *prometheus.Registry, kind string) prometheus.Collector {
	t.Helper()
	m, err := llm.NewMetrics(reg) // returns the collector registered first
	if err != nil {
		t.Fatal(err)
	}
	return m.Counter(llm.RouteInfo{Route: "default/chat", Backend: "default/anthropic"}, telemetry.LabelOther, kind)
}

func TestE2EStreamingToolsFromCassette(t *testing.T) {
	e := newE2E(t, nil)
	ins := cassette(t, "tool_runner_streaming_all")
	e.fake.Push(ins[0].Reply())
	params := userParams("Weather in SF in fahrenheit?")
	params.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name: "get_weather", Description: openai.String("Get weather"),
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	})}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := e.client.Chat.Completions.NewStreaming(t.Context(), params)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		chunks++
		if !acc.AddChunk(stream.Current()) {
			t.Fatal("chunk rejected")
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	c := acc.Choices[0]
	if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("accumulated %+v", acc.ChatCompletion)
	}
	var args map[string]any
	if err := json.Unmarshal([]byte(c.Message.ToolCalls[0].Function.Arguments), &args); err != nil || args["city"] == nil {
		t.Errorf("arguments %q", c.Message.ToolCalls[0].Function.Arguments)
	}
	if acc.Usage.PromptTokens != 397 || acc.Usage.CompletionTokens == 0 {
		t.Errorf("usage %+v", acc.Usage)
	}
	if r := e.result(t, 1); !r.Stream || r.FinishReason != "tool_calls" || r.Usage.Input != 397 {
		t.Errorf("result %+v", r)
	}
}

func TestE2EToolRoundTripAndImages(t *testing.T) {
	e := newE2E(t, nil)
	ins := cassette(t, "tool_runner_basic")
	e.fake.Push(ins[0].Reply(), ins[1].Reply())
	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_weather"})}
	first, err := e.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "claude-3-7-sonnet-latest", Tools: tools,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("Weather here?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="}),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/sky.jpg"}),
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	tc := first.Choices[0].Message.ToolCalls
	if first.Choices[0].FinishReason != "tool_calls" || len(tc) != 1 {
		t.Fatalf("first turn %s", first.RawJSON())
	}
	second, err := e.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "claude-3-7-sonnet-latest", Tools: tools,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("Weather here?"),
			first.Choices[0].Message.ToParam(),
			openai.ToolMessage(`{"temp_f":68}`, tc[0].ID),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(second.Choices[0].Message.Content, "68") {
		t.Errorf("second turn %s", second.RawJSON())
	}
	reqs := e.fake.Requests()
	if !bytes.Contains(reqs[0].Body, []byte(`"source":{"type":"url","url":"https://example.com/sky.jpg"}`)) ||
		!bytes.Contains(reqs[0].Body, []byte(`"media_type":"image/png"`)) {
		t.Errorf("images not mapped: %s", reqs[0].Body)
	}
	if !bytes.Contains(reqs[1].Body, []byte(`"type":"tool_result","tool_use_id":"`+tc[0].ID+`"`)) {
		t.Errorf("tool result not sent: %s", reqs[1].Body)
	}
}

func TestE2EErrors(t *testing.T) {
	anthropicErr := func(typ, msg string) []byte {
		return []byte(`{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_1"}`)
	}
	cases := []struct {
		name       string
		reply      anthropictest.Reply
		wantStatus int
		wantType   string
		wantCode   string
		wantRetry  string
	}{
		{"invalid_request", anthropictest.Reply{Status: 400, Body: anthropicErr("invalid_request_error", "max_tokens: too big")}, 400, "invalid_request_error", "invalid_request_error", ""},
		{"overloaded_529", anthropictest.Reply{Status: 529, Header: http.Header{"Retry-After": {"3"}}, Body: anthropicErr("overloaded_error", "Overloaded")}, 503, "server_error", "overloaded_error", "3"},
		{"rate_limited", anthropictest.Reply{Status: 429, Header: http.Header{"Retry-After": {"12"}, "Anthropic-Ratelimit-Requests-Remaining": {"0"}}, Body: anthropicErr("rate_limit_error", "slow down")}, 429, "rate_limit_error", "rate_limit_error", "12"},
		{"auth", anthropictest.Reply{Status: 401, Body: anthropicErr("authentication_error", "invalid x-api-key")}, 401, "authentication_error", "authentication_error", ""},
		{"html_502", anthropictest.Reply{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html>bad gateway</html>")}, 502, "server_error", "bad_upstream_response", ""},
		{"garbage_200", anthropictest.Reply{Status: 200, Body: []byte("not json")}, 502, "server_error", "bad_upstream_response", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, nil)
			e.fake.Push(tc.reply)
			var raw *http.Response
			_, err := e.client.Chat.Completions.New(t.Context(), userParams("Hi"), option.WithResponseInto(&raw))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("want *openai.Error, got %v", err)
			}
			if apiErr.StatusCode != tc.wantStatus || apiErr.Type != tc.wantType || apiErr.Code != tc.wantCode {
				t.Errorf("got %d %s %s, want %d %s %s (%s)", apiErr.StatusCode, apiErr.Type, apiErr.Code, tc.wantStatus, tc.wantType, tc.wantCode, apiErr.RawJSON())
			}
			if got := apiErr.Response.Header.Get("Retry-After"); got != tc.wantRetry {
				t.Errorf("retry-after %q, want %q", got, tc.wantRetry)
			}
			if r := e.result(t, 1); r.Status != tc.wantStatus || r.ErrorType != tc.wantType {
				t.Errorf("result %+v", r)
			}
		})
	}
}

func TestE2EValidationErrorNamesParam(t *testing.T) {
	e := newE2E(t, nil)
	p := userParams("Hi")
	p.N = openai.Int(3)
	_, err := e.client.Chat.Completions.New(t.Context(), p)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "n" {
		t.Fatalf("want 400 param n, got %v", err)
	}
	if len(e.fake.Requests()) != 0 {
		t.Error("an invalid request reached the upstream")
	}
}

func streamBody(parts ...string) []byte { return []byte(strings.Join(parts, "")) }

func TestE2EMidStreamError(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"error_event", startEv + textEv + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"},
		{"eof_without_message_stop", startEv + textEv + deltaEv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, nil)
			e.fake.Push(anthropictest.Reply{SSE: true, Body: streamBody(tc.body)})
			stream := e.client.Chat.Completions.NewStreaming(t.Context(), userParams("Hi"))
			var content strings.Builder
			for stream.Next() {
				for _, c := range stream.Current().Choices {
					content.WriteString(c.Delta.Content)
				}
			}
			if stream.Err() == nil {
				t.Fatal("a broken upstream stream must surface as a client stream error")
			}
			if content.String() != "Hello" {
				t.Errorf("content before the error %q", content.String())
			}
			if r := e.result(t, 1); r.ErrorType != "server_error" {
				t.Errorf("result %+v", r)
			}
		})
	}
}

// TestE2EClientCancelMidStream checks that chunks are flushed at once (the client reads the
// first chunk while the upstream is still open) and that a client leaving cancels the
// upstream request.
func TestE2EClientCancelMidStream(t *testing.T) {
	e := newE2E(t, nil)
	e.fake.Push(anthropictest.Reply{SSE: true, Hold: true, Body: streamBody(startEv,
		"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"partial\"}}\n\n")})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream := e.client.Chat.Completions.NewStreaming(ctx, userParams("Hi"))
	got := ""
	for got != "partial" && stream.Next() {
		for _, c := range stream.Current().Choices {
			got += c.Delta.Content
		}
	}
	if got != "partial" {
		t.Fatalf("did not receive the flushed chunk: %q, err %v", got, stream.Err())
	}
	cancel()
	select {
	case <-e.fake.Cancelled():
	case <-time.After(10 * time.Second):
		t.Fatal("upstream request was not cancelled after the client went away")
	}
	if r := e.result(t, 1); r.ErrorType != "client_closed_request" {
		t.Errorf("result %+v", r)
	}
}

func TestE2EAlwaysIncludeUsage(t *testing.T) {
	e := newE2E(t, func(c *Config) { c.AlwaysIncludeUsage = true })
	e.fake.Push(anthropictest.Reply{SSE: true, Body: streamBody(startEv, textEv, deltaEv, stopEv)})
	stream := e.client.Chat.Completions.NewStreaming(t.Context(), userParams("Hi"))
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Usage.PromptTokens != 60 || acc.Usage.CompletionTokens != 5 {
		t.Errorf("usage %+v, want the forced usage chunk", acc.Usage)
	}
}

// TestSecretNeverLeaks: the API key is absent from every log line and client response,
// including when the upstream echoes it and when the secret is missing.
func TestSecretNeverLeaks(t *testing.T) {
	e := newE2E(t, nil)
	e.fake.Push(
		anthropictest.Reply{Status: 401, Body: []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + secretKey + `"}}`)},
		anthropictest.Reply{Status: 500, Body: []byte(`<html>` + secretKey + `</html>`)},
		anthropictest.Reply{SSE: true, Body: streamBody(startEv, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom "+secretKey+"\"}}\n\n")},
	)
	var bodies []string
	post := func(body string) {
		resp, err := http.Post(e.url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, string(b))
	}
	post(`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}]}`)
	post(`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}]}`)
	post(`{"model":"claude-haiku-4-5","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
	post(`{"model":"claude-haiku-4-5","n":4,"messages":[{"role":"user","content":"` + secretKey[:10] + `"}]}`)
	if err := os.Remove(e.keyPath); err != nil {
		t.Fatal(err)
	}
	post(`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}]}`)

	last := bodies[len(bodies)-1]
	if !strings.Contains(last, "default/anthropic-key") || !strings.Contains(last, "backend_credentials_unavailable") {
		t.Errorf("missing-secret error should name the secret: %s", last)
	}
	if r := e.result(t, 5); r.Status < 500 {
		t.Errorf("missing secret answered %d, want 5xx", r.Status)
	}
	for i, b := range bodies {
		if strings.Contains(b, secretKey) {
			t.Errorf("response %d contains the API key: %s", i, b)
		}
	}
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("no logs captured")
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, secretKey) {
			t.Errorf("log line contains the API key: %s", line)
		}
	}
}

func TestNewHandlerConfig(t *testing.T) {
	if _, err := NewHandler(Config{}); err == nil {
		t.Error("a handler without an API key source must be rejected")
	}
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "https://api.anthropic.com/v1/messages"},
		{Config{Host: "proxy.internal", Port: 8443, PathPrefix: "/anthropic/v1/"}, "https://proxy.internal:8443/anthropic/v1/messages"},
		{Config{Host: "::1", Port: 80, Plaintext: true}, "http://[::1]:80/v1/messages"},
	}
	for _, tc := range cases {
		tc.cfg.APIKey = func() (string, error) { return "k", nil }
		h, err := NewHandler(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if h.url != tc.want {
			t.Errorf("url %q, want %q", h.url, tc.want)
		}
	}
	if _, err := NewHandler(Config{Host: "a/b", APIKey: func() (string, error) { return "k", nil }}); err == nil {
		t.Error("a host with a path must be rejected")
	}
}

func TestUpstreamHeaders(t *testing.T) {
	h, err := NewHandler(Config{APIKey: func() (string, error) { return "k", nil }, Version: "2023-06-01",
		Betas: []string{"fixed-beta"}, AllowedBetas: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	in := http.Header{}
	in.Set("Authorization", "Bearer client-key")
	in.Add("Anthropic-Beta", "a, evil")
	in.Add("X-Anthropic-Beta", "b,a")
	for _, tc := range []struct{ key, wantAPIKey, wantAuth string }{
		{"sk-ant-api03-x", "sk-ant-api03-x", ""},
		{"sk-ant-oat01-x", "", "Bearer sk-ant-oat01-x"},
	} {
		req, _ := http.NewRequest(http.MethodPost, "http://x", nil)
		(&call{h: h.h}).RequestHeaders(req.Header, in, tc.key)
		if req.Header.Get("X-Api-Key") != tc.wantAPIKey || req.Header.Get("Authorization") != tc.wantAuth {
			t.Errorf("key %s: x-api-key %q authorization %q", tc.key, req.Header.Get("X-Api-Key"), req.Header.Get("Authorization"))
		}
		if got := req.Header.Get("Anthropic-Beta"); got != "fixed-beta,a,b" {
			t.Errorf("anthropic-beta %q", got)
		}
		if req.Header.Get("Anthropic-Version") != "2023-06-01" { // Accept and Content-Type: llm.TestUpstream
			t.Errorf("headers %v", req.Header)
		}
	}
	out := http.Header{}
	lower := "anthropic-ratelimit-requests-limit" // not in canonical form: the match must not depend on case
	(&call{}).ResponseHeaders(out, http.Header{"Request-Id": {"req_1"}, "Anthropic-Ratelimit-Tokens-Remaining": {"9"}, "Retry-After": {"2"}, "X-Api-Key": {"never"}, "Set-Cookie": {"c"}, lower: {"50"}, "Anthropic-Rate": {"short"}})
	if out.Get("Anthropic-Request-Id") != "req_1" || out.Get("Anthropic-Ratelimit-Tokens-Remaining") != "9" || out.Get("Retry-After") != "2" || out.Get("X-Api-Key") != "" || out.Get("Set-Cookie") != "" ||
		out[lower] == nil || out.Get("Anthropic-Rate") != "" {
		t.Errorf("forwarded headers %v", out)
	}
}
