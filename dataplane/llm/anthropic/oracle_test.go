package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	anthropicsdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/infergw/gwctl/dataplane/sse"
)

// TestStreamMatchesAccumulatedMessage is the stream oracle: every recorded Anthropic
// stream, translated by the state machine and accumulated by openai-go's
// ChatCompletionAccumulator, equals the non-streaming translation of the same stream
// accumulated by anthropic-sdk-go's Message.Accumulate.
func TestStreamMatchesAccumulatedMessage(t *testing.T) {
	fixtures := streamFixtures(t)
	for _, tc := range streamCases {
		// unknown_events_ignored has an orphan delta that the SDK (rightly) rejects.
		if !tc.wantErr && tc.jsonTool == "" && tc.name != "unknown_events_ignored" {
			fixtures = append(fixtures, streamFixture{name: "case-" + tc.name, sse: []byte(tc.in)})
		}
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			want, wantExt := viaAnthropicAccumulator(t, f.sse)
			got, gotExt := viaOpenAIAccumulator(t, f.sse)

			if got.ID != want.ID || got.Model != want.Model {
				t.Errorf("id/model: got %s/%s, want %s/%s", got.ID, got.Model, want.ID, want.Model)
			}
			if got.ServiceTier != want.ServiceTier {
				t.Errorf("service_tier: got %q, want %q", got.ServiceTier, want.ServiceTier)
			}
			if len(got.Choices) != 1 || len(want.Choices) != 1 {
				t.Fatalf("choices: got %d, want %d", len(got.Choices), len(want.Choices))
			}
			g, w := got.Choices[0], want.Choices[0]
			if g.FinishReason != w.FinishReason {
				t.Errorf("finish_reason: got %q, want %q", g.FinishReason, w.FinishReason)
			}
			if g.Message.Content != w.Message.Content {
				t.Errorf("content: got %q, want %q", g.Message.Content, w.Message.Content)
			}
			if gotExt.Reasoning != wantExt.Reasoning {
				t.Errorf("reasoning_content: got %q, want %q", gotExt.Reasoning, wantExt.Reasoning)
			}
			// Extensions openai-go does not accumulate: the stream's delta.annotations and
			// delta.thinking_blocks, rebuilt, equal the message's.
			if g, w := jsonOf(t, gotExt.Annotations), jsonOf(t, wantExt.Annotations); g != w {
				t.Errorf("annotations: got %s, want %s", g, w)
			}
			if g, w := jsonOf(t, gotExt.ThinkingBlocks), jsonOf(t, wantExt.ThinkingBlocks); g != w {
				t.Errorf("thinking_blocks: got %s, want %s", g, w)
			}
			if strings.Contains(string(f.sse), `"web_search_result_location"`) && len(wantExt.Annotations) == 0 ||
				strings.Contains(string(f.sse), `"signature_delta"`) && len(wantExt.ThinkingBlocks) == 0 {
				t.Errorf("fixture has citations or signatures but neither path produced them")
			}
			if len(w.Message.Annotations) != len(wantExt.Annotations) {
				t.Errorf("openai-go sees %d annotations in the message, want %d", len(w.Message.Annotations), len(wantExt.Annotations))
			}
			if len(g.Message.ToolCalls) != len(w.Message.ToolCalls) {
				t.Fatalf("tool calls: got %d, want %d", len(g.Message.ToolCalls), len(w.Message.ToolCalls))
			}
			for i := range w.Message.ToolCalls {
				gt, wt := g.Message.ToolCalls[i], w.Message.ToolCalls[i]
				if gt.ID != wt.ID || gt.Function.Name != wt.Function.Name || !sameJSON(gt.Function.Arguments, wt.Function.Arguments) {
					t.Errorf("tool call %d: got %s %s %s, want %s %s %s", i, gt.ID, gt.Function.Name, gt.Function.Arguments, wt.ID, wt.Function.Name, wt.Function.Arguments)
				}
			}
			gu, wu := got.Usage, want.Usage
			if gu.PromptTokens != wu.PromptTokens || gu.CompletionTokens != wu.CompletionTokens || gu.TotalTokens != wu.TotalTokens ||
				gu.PromptTokensDetails.CachedTokens != wu.PromptTokensDetails.CachedTokens ||
				gu.CompletionTokensDetails.ReasoningTokens != wu.CompletionTokensDetails.ReasoningTokens {
				t.Errorf("usage: got %+v, want %+v", gu, wu)
			}
			if gw, ww := gu.PromptTokensDetails.JSON.ExtraFields["cache_write_tokens"].Raw(), wu.PromptTokensDetails.JSON.ExtraFields["cache_write_tokens"].Raw(); gw != ww {
				t.Errorf("cache_write_tokens: got %s, want %s", gw, ww)
			}
			if gotExt.ServerToolUse != wantExt.ServerToolUse {
				t.Errorf("usage.server_tool_use: got %s, want %s", gotExt.ServerToolUse, wantExt.ServerToolUse)
			}
			if gu.TotalTokens == 0 && wu.TotalTokens == 0 && strings.Contains(string(f.sse), "output_tokens") {
				t.Errorf("usage missing from both sides")
			}
		})
	}
}

// extensions are the response fields beyond openai-go's ChatCompletion that both paths
// must agree on.
type extensions struct {
	Reasoning      string
	Annotations    []any
	ThinkingBlocks []any
	ServerToolUse  string // raw usage.server_tool_use (openai-go keeps only typed usage fields)
}

// viaAnthropicAccumulator accumulates the stream with anthropic-sdk-go and translates the
// resulting Message with the non-streaming translation.
func viaAnthropicAccumulator(t *testing.T, body []byte) (openai.ChatCompletion, extensions) {
	t.Helper()
	var msg anthropicsdk.Message
	rd := sse.NewReader(bytes.NewReader(body), 0)
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var e anthropicsdk.MessageStreamEventUnion
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			t.Fatalf("sdk cannot parse event %s: %v", ev.Data, err)
		}
		if err := msg.Accumulate(e); err != nil {
			t.Fatalf("sdk accumulate: %v", err)
		}
	}
	raw := msg.RawJSON()
	if raw == "" {
		t.Fatal("accumulated message has no JSON")
	}
	tr := newTranslator(&Config{}, quietLogger())
	c, ok := tr.translateResponse(t.Context(), []byte(raw), created, "")
	if !ok {
		t.Fatalf("accumulated message not translated: %s", raw)
	}
	var out openai.ChatCompletion
	if err := json.Unmarshal(c.Body, &out); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Choices []struct {
			Message struct {
				ReasoningContent string `json:"reasoning_content"`
				Annotations      []any  `json:"annotations"`
				ThinkingBlocks   []any  `json:"thinking_blocks"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(c.Body, &r); err != nil {
		t.Fatal(err)
	}
	m := r.Choices[0].Message
	return out, extensions{Reasoning: m.ReasoningContent, Annotations: m.Annotations, ThinkingBlocks: m.ThinkingBlocks,
		ServerToolUse: out.Usage.JSON.ExtraFields["server_tool_use"].Raw()}
}

// viaOpenAIAccumulator translates the stream and accumulates our chunks with openai-go,
// parsing the wire format with its own SSE decoder. Extension deltas are accumulated as a
// client replaying thinking would: reasoning_content since the last thinking block is the
// text of the block a thinking_blocks signature closes.
func viaOpenAIAccumulator(t *testing.T, sse []byte) (openai.ChatCompletion, extensions) {
	t.Helper()
	out, err := translateStream(t, Config{}, sse, true, "")
	if err != nil {
		t.Fatalf("stream failed: %v", err)
	}
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(out))}
	stream := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(resp), nil)
	var (
		acc       openai.ChatCompletionAccumulator
		ext       extensions
		reasoning strings.Builder
		thinking  strings.Builder // of the open thinking block
	)
	for stream.Next() {
		chunk := stream.Current()
		if !acc.AddChunk(chunk) {
			t.Fatalf("accumulator rejected chunk %s", chunk.RawJSON())
		}
		if f, ok := chunk.Usage.JSON.ExtraFields["server_tool_use"]; ok {
			ext.ServerToolUse = f.Raw()
		}
		for _, c := range chunk.Choices {
			x := c.Delta.JSON.ExtraFields
			if f, ok := x["reasoning_content"]; ok {
				var s string
				_ = json.Unmarshal([]byte(f.Raw()), &s)
				reasoning.WriteString(s)
				thinking.WriteString(s)
			}
			if f, ok := x["annotations"]; ok {
				var list []any
				if err := json.Unmarshal([]byte(f.Raw()), &list); err != nil {
					t.Fatalf("delta.annotations: %v", err)
				}
				ext.Annotations = append(ext.Annotations, list...)
			}
			if f, ok := x["thinking_blocks"]; ok {
				var list []map[string]any
				if err := json.Unmarshal([]byte(f.Raw()), &list); err != nil {
					t.Fatalf("delta.thinking_blocks: %v", err)
				}
				for _, b := range list {
					if b["type"] == "thinking" {
						b["thinking"] = thinking.String()
						thinking.Reset()
					}
					ext.ThinkingBlocks = append(ext.ThinkingBlocks, b)
				}
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("openai-go stream error: %v", err)
	}
	ext.Reasoning = reasoning.String()
	return acc.ChatCompletion, ext
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
