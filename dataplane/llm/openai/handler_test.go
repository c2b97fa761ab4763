package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openaisdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
)

const (
	completion  = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"qwen3-8b","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":4,"total_tokens":54,"prompt_tokens_details":{"cached_tokens":32}}}`
	chunkPrefix = `{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"qwen3-8b",`
	streamOK    = "data: " + chunkPrefix + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n" +
		"data: " + chunkPrefix + `"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}` + "\n\n" +
		"data: " + chunkPrefix + `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		"data: " + chunkPrefix + `"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22}}` + "\n\n" +
		"data: [DONE]\n\n"
)

type env struct {
	url     string // the passthrough handler's server
	fake    *anthropictest.Server
	client  openaisdk.Client
	reg     *prometheus.Registry
	mu      sync.Mutex
	results []llm.Result
}

func (e *env) result(t *testing.T) llm.Result {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		if len(e.results) > 0 {
			r := e.results[len(e.results)-1]
			e.mu.Unlock()
			return r
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("no result reported")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := &env{fake: anthropictest.New(t, anthropictest.SchemaPath(t)), reg: prometheus.NewRegistry()}
	m, err := llm.NewMetrics(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Host: e.fake.Host, Port: e.fake.Port, Plaintext: true, Metrics: m,
		APIKey: func() (string, error) { return "vllm-key", nil },
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
		h.ServeHTTP(w, r.WithContext(llm.WithRoute(r.Context(), llm.RouteInfo{Route: "r", Backend: "vllm"})))
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.client = openaisdk.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("client-key"), option.WithMaxRetries(0))
	return e
}

func params() openaisdk.ChatCompletionNewParams {
	return openaisdk.ChatCompletionNewParams{Model: "qwen3-8b", Messages: []openaisdk.ChatCompletionMessageParamUnion{openaisdk.UserMessage("Hi")}}
}

func TestPassthroughNonStreaming(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Model = "qwen3-8b-instruct" })
	e.fake.SetChatReply(anthropictest.Reply{Body: []byte(completion)})
	var raw *http.Response
	cc, err := e.client.Chat.Completions.New(t.Context(), params(), option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if cc.RawJSON() != completion {
		t.Errorf("body changed in passthrough:\n%s", cc.RawJSON())
	}
	req := e.fake.Requests()[0]
	if req.Path != "/v1/chat/completions" || req.Header.Get("Authorization") != "Bearer vllm-key" {
		t.Errorf("upstream %s with Authorization %q", req.Path, req.Header.Get("Authorization"))
	}
	var sent struct{ Model string }
	_ = json.Unmarshal(req.Body, &sent)
	if sent.Model != "qwen3-8b-instruct" {
		t.Errorf("model override not applied: %s", req.Body)
	}
	r := e.result(t)
	if r.Usage.Input != 18 || r.Usage.CacheRead != 32 || r.Usage.Output != 4 || r.FinishReason != "stop" {
		t.Errorf("result %+v", r)
	}
	rt := llm.RouteInfo{Route: "r", Backend: "vllm"}
	m, _ := llm.NewMetrics(e.reg)
	// The upstream answers for "qwen3-8b", which is not configured: the label is the configured model.
	if got := testutil.ToFloat64(m.Counter(rt, "qwen3-8b-instruct", llm.TokenCacheRead)); got != 32 {
		t.Errorf("cache_read counter %v", got)
	}
}

func TestPassthroughStreamUsage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		always    bool
		askUsage  bool
		wantUsage bool
	}{
		{"client_did_not_ask", false, false, false},
		{"client_asked", false, true, true},
		{"always_include", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.AlwaysIncludeUsage = tc.always })
			e.fake.SetChatReply(anthropictest.Reply{SSE: true, Body: []byte(streamOK)})
			p := params()
			if tc.askUsage {
				p.StreamOptions = openaisdk.ChatCompletionStreamOptionsParam{IncludeUsage: openaisdk.Bool(true)}
			}
			stream := e.client.Chat.Completions.NewStreaming(t.Context(), p)
			var acc openaisdk.ChatCompletionAccumulator
			sawUsage := false
			for stream.Next() {
				c := stream.Current()
				sawUsage = sawUsage || len(c.Choices) == 0
				acc.AddChunk(c)
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if sawUsage != tc.wantUsage || acc.Choices[0].Message.Content != "Hi" {
				t.Errorf("usage chunk seen %v (want %v), content %q", sawUsage, tc.wantUsage, acc.Choices[0].Message.Content)
			}
			if body := string(e.fake.Requests()[0].Body); !strings.Contains(body, `"include_usage":true`) {
				t.Errorf("upstream not asked for usage: %s", body)
			}
			if r := e.result(t); r.Usage.Input != 20 || r.Usage.Output != 2 {
				t.Errorf("usage not recorded: %+v", r)
			}
		})
	}
}

func TestPassthroughErrors(t *testing.T) {
	cases := []struct {
		name       string
		reply      anthropictest.Reply
		wantStatus int
		wantType   string
	}{
		{"openai_shape", anthropictest.Reply{Status: 429, Body: []byte(`{"error":{"message":"slow","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`)}, 429, "rate_limit_error"},
		{"vllm_shape", anthropictest.Reply{Status: 400, Body: []byte(`{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}`)}, 400, "BadRequestError"},
		{"html", anthropictest.Reply{Status: 503, Body: []byte(`<html>down</html>`)}, 502, "server_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.fake.SetChatReply(tc.reply)
			_, err := e.client.Chat.Completions.New(t.Context(), params())
			var apiErr *openaisdk.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantStatus || apiErr.Type != tc.wantType {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestPassthroughBrokenStreamAndCancel(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.SetChatReply(anthropictest.Reply{SSE: true, Body: []byte(strings.Split(streamOK, "data: [DONE]")[0][:200])})
	stream := e.client.Chat.Completions.NewStreaming(t.Context(), params())
	for stream.Next() {
	}
	if stream.Err() == nil {
		t.Error("a stream cut before [DONE] must end in an error")
	}

	e.fake.SetChatReply(anthropictest.Reply{SSE: true, Hold: true, Body: []byte(strings.Split(streamOK, "\n\n")[1] + "\n\n")})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream = e.client.Chat.Completions.NewStreaming(ctx, params())
	if !stream.Next() {
		t.Fatalf("first chunk not flushed: %v", stream.Err())
	}
	cancel()
	select {
	case <-e.fake.Cancelled():
	case <-time.After(10 * time.Second):
		t.Fatal("upstream not cancelled")
	}
}
