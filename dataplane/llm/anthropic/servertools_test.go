package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
)

// webSearchParams asks with web_search_options (openai-go's own types) and passes an
// Anthropic web_fetch server tool through tools[].
func webSearchParams() (openai.ChatCompletionNewParams, option.RequestOption) {
	p := userParams("Weather in Paris?")
	p.WebSearchOptions = openai.ChatCompletionNewParamsWebSearchOptions{
		SearchContextSize: "medium",
		UserLocation: openai.ChatCompletionNewParamsWebSearchOptionsUserLocation{
			Approximate: openai.ChatCompletionNewParamsWebSearchOptionsUserLocationApproximate{
				City: openai.String("Paris"), Country: openai.String("FR"), Timezone: openai.String("Europe/Paris"),
			},
		},
	}
	return p, option.WithJSONSet("tools", []any{map[string]any{"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 2}})
}

// TestE2EWebSearch runs web search end to end with the real OpenAI client: the fake
// Anthropic validates the server tools it receives, and the citations it answers with come
// back as url_citation annotations, streamed or not.
func TestE2EWebSearch(t *testing.T) {
	e := newE2E(t, func(c *Config) {
		c.WebSearch = true
		c.ServerTools = []string{"web_fetch_20250910"}
	})
	var cited string
	for _, tc := range responseCases {
		if tc.name == "web_search_citations" {
			cited = tc.in
		}
	}
	e.fake.Push(anthropictest.Reply{Body: []byte(cited)}, anthropictest.Reply{SSE: true, Body: []byte(webSearchStream)})

	params, tools := webSearchParams()
	cc, err := e.client.Chat.Completions.New(t.Context(), params, tools)
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	var body struct {
		Tools []map[string]any `json:"tools"`
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Tools) != 2 || body.Tools[0]["type"] != "web_fetch_20250910" || body.Tools[1]["type"] != "web_search_20250305" ||
		body.Tools[1]["max_uses"] != 5.0 || body.Tools[1]["user_location"].(map[string]any)["city"] != "Paris" {
		t.Errorf("upstream tools %s", reqs[0].Body)
	}
	m := cc.Choices[0].Message
	if len(m.ToolCalls) != 0 || len(m.Annotations) != 3 {
		t.Fatalf("message %s", m.RawJSON())
	}
	a := m.Annotations[0].URLCitation
	if a.URL != "https://meteo.example/paris" || a.Title != "Paris forecast" ||
		string([]rune(m.Content)[a.StartIndex:a.EndIndex]) != "Paris: 18°C 😀 and sunny" {
		t.Errorf("annotation %+v does not delimit the cited block in %q", a, m.Content)
	}
	if r := e.result(t, 1); !r.Usage.HasWebSearch || r.Usage.WebSearch != 1 {
		t.Errorf("usage %+v", r.Usage)
	}

	stream := e.client.Chat.Completions.NewStreaming(t.Context(), params, tools)
	var (
		acc         openai.ChatCompletionAccumulator
		annotations []openai.ChatCompletionMessageAnnotation
	)
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		for _, c := range chunk.Choices {
			if f, ok := c.Delta.JSON.ExtraFields["annotations"]; ok {
				var list []openai.ChatCompletionMessageAnnotation
				if err := json.Unmarshal([]byte(f.Raw()), &list); err != nil {
					t.Fatal(err)
				}
				annotations = append(annotations, list...)
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != m.Content || len(annotations) != 2 || annotations[0].URLCitation.RawJSON() != m.Annotations[0].URLCitation.RawJSON() {
		t.Errorf("stream content %q annotations %+v, want %q and the non-streamed %+v", acc.Choices[0].Message.Content, annotations, m.Content, m.Annotations[:2])
	}
}

// TestE2EServerToolNotAllowed: a server tool type the backend does not allow is our 400,
// naming the tool, and nothing reaches Anthropic.
func TestE2EServerToolNotAllowed(t *testing.T) {
	e := newE2E(t, func(c *Config) { c.ServerTools = []string{"web_fetch_20250910"} })
	_, err := e.client.Chat.Completions.New(t.Context(), userParams("Run it"),
		option.WithJSONSet("tools", []any{map[string]any{"type": "code_execution_20250825", "name": "code_execution"}}))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "tools[0].type" || !strings.Contains(apiErr.Message, "web_fetch_20250910") {
		t.Fatalf("got %v", err)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("upstream got %d requests", n)
	}
}

func TestServerToolsConfig(t *testing.T) {
	key := func() (string, error) { return "k", nil }
	for _, bad := range [][]string{{""}, {"function"}, {"web_search_20250305", " "}} {
		if _, err := NewHandler(Config{APIKey: key, ServerTools: bad}); err == nil {
			t.Errorf("ServerTools %q accepted", bad)
		}
	}
	if _, err := NewHandler(Config{APIKey: key, ServerTools: []string{"web_search_20250305", "code_execution_20250825"}}); err != nil {
		t.Error(err)
	}
}
