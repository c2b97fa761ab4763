package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"google.golang.org/genai"

	"github.com/infergw/gwctl/dataplane/sse"
)

// TestStreamMatchesMergedResponse is the stream oracle: every clean recorded-shape stream,
// translated and accumulated by openai-go's ChatCompletionAccumulator, equals the non-streamed
// translation of the same events merged with the SDK's types (parts appended per candidate,
// the last finish reason, usage, version and id).
func TestStreamMatchesMergedResponse(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream/*.sse")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		if strings.HasPrefix(name, "error") || strings.HasPrefix(name, "truncated") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			merged := mergeWithSDK(t, in)
			c, ok := testTranslator().translateResponse(context.Background(), merged, created, "gemini-2.5-flash")
			if !ok {
				t.Fatalf("merged response not translated: %s", merged)
			}
			var want openai.ChatCompletion
			if err := json.Unmarshal(c.Body, &want); err != nil {
				t.Fatal(err)
			}
			got := accumulate(t, in, candidatesOf(name))
			if got.ID != want.ID || got.Model != want.Model || len(got.Choices) != len(want.Choices) {
				t.Fatalf("got %s\nwant %s", jsonOf(t, got), c.Body)
			}
			for i := range want.Choices {
				g, w := got.Choices[i], want.Choices[i]
				if g.FinishReason != w.FinishReason || g.Message.Content != w.Message.Content ||
					jsonOf(t, g.Message.ToolCalls) != jsonOf(t, w.Message.ToolCalls) {
					t.Errorf("choice %d:\n got %s\nwant %s", i, jsonOf(t, g), jsonOf(t, w))
				}
			}
			if got.Usage.PromptTokens != want.Usage.PromptTokens || got.Usage.CompletionTokens != want.Usage.CompletionTokens ||
				got.Usage.TotalTokens != want.Usage.TotalTokens || got.Usage.PromptTokensDetails.CachedTokens != want.Usage.PromptTokensDetails.CachedTokens ||
				got.Usage.CompletionTokensDetails.ReasoningTokens != want.Usage.CompletionTokensDetails.ReasoningTokens {
				t.Errorf("usage:\n got %s\nwant %s", jsonOf(t, got.Usage), jsonOf(t, want.Usage))
			}
		})
	}
}

// mergeWithSDK decodes every event into genai.GenerateContentResponse and merges them.
func mergeWithSDK(t *testing.T, stream []byte) []byte {
	t.Helper()
	var out genai.GenerateContentResponse
	byIndex := map[int32]*genai.Candidate{}
	rd := sse.NewReader(bytes.NewReader(stream), 0)
	defer rd.Release()
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r genai.GenerateContentResponse
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			t.Fatalf("event does not decode into the SDK's type: %v", err)
		}
		out.ModelVersion, out.ResponseID, out.UsageMetadata = r.ModelVersion, r.ResponseID, r.UsageMetadata
		for _, c := range r.Candidates {
			m, ok := byIndex[c.Index]
			if !ok {
				m = &genai.Candidate{Index: c.Index, Content: &genai.Content{Role: "model"}}
				byIndex[c.Index] = m
				out.Candidates = append(out.Candidates, m)
			}
			if c.Content != nil {
				m.Content.Parts = append(m.Content.Parts, c.Content.Parts...)
			}
			if c.FinishReason != "" {
				m.FinishReason = c.FinishReason
			}
		}
	}
	b, err := json.Marshal(&out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// accumulate translates stream and feeds the chunks to openai-go's accumulator.
func accumulate(t *testing.T, stream []byte, n int64) openai.ChatCompletion {
	t.Helper()
	out, err := translateStream(t, stream, true, n)
	if err != nil {
		t.Fatalf("stream failed: %v", err)
	}
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(out))}
	s := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(resp), nil)
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		if !acc.AddChunk(s.Current()) {
			t.Fatalf("accumulator refused %s", s.Current().RawJSON())
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return acc.ChatCompletion
}
