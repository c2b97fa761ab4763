package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// TestEncodeMatchesEncodingJSON: the hand-written upstream body is what encoding/json writes for
// the same request (raw parts compacted), on every translated request case and on values with
// the strings, numbers and server tools encoding/json is particular about.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	var reqs []messagesRequest
	for _, tc := range requestCases {
		cfg := tc.cfg
		cfg.APIKey = func() (string, error) { return "k", nil }
		up, err := newTranslator(&cfg, quietLogger()).translateRequest(context.Background(), []byte(tc.in))
		if err != nil {
			continue
		}
		var r messagesRequest
		var raw struct{ Tools []json.RawMessage }
		if err := errors.Join(json.Unmarshal(up.Body, &r), json.Unmarshal(up.Body, &raw)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i := range r.Tools {
			if r.Tools[i].InputSchema == nil { // a server tool, sent as it came
				r.Tools[i].Raw = raw.Tools[i]
			}
		}
		reqs = append(reqs, r)
	}
	desc, yes := "<b>&amp;</b> \u2028\u2029 \x7f é \xff\xfe \"q\" \\ \t\n\x01", true
	temps := []float64{0, -0.5, 1e-7, 1e-6, 123456789.125, 1e21, 2.5e-300}
	for i := range temps {
		reqs = append(reqs, messagesRequest{
			Model: desc, MaxTokens: -1, Temperature: &temps[i], TopP: &temps[len(temps)-1-i],
			System:        []block{{Type: "text", Text: desc, CacheControl: json.RawMessage(`{"type": "ephemeral"}`)}},
			Messages:      []turn{{Role: "user", Content: []block{{Type: "image", Source: &source{Type: "url", URL: desc}}, {Type: "tool_result", ToolUseID: "t", Content: json.RawMessage(` [ {"type":"text","text":"<x>"} ] `)}}}},
			Metadata:      &metadata{UserID: desc},
			StopSequences: []string{desc, ""},
			Stream:        true,
			Thinking:      json.RawMessage(`{"type":"enabled","budget_tokens":1024}`),
			ToolChoice:    &toolChoice{Type: "tool", Name: desc, DisableParallelToolUse: &yes},
			Tools: []tool{
				{Raw: json.RawMessage(`{"type":"web_search_20250305","name":"web_search","max_uses":3}`), Name: "web_search"},
				{Name: "f", Description: &desc, InputSchema: json.RawMessage(`{"type":"object","properties":{}}`), Strict: true, CacheControl: json.RawMessage(`{"type":"ephemeral"}`)},
			},
			OutputConfig: &outputConfig{Effort: "low", Format: &jsonFormat{Type: "json_schema", Schema: json.RawMessage(`{"type":"object"}`)}},
		})
	}
	for i := range reqs {
		r := &reqs[i]
		want, err := r.encodeJSON(0)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := json.Compact(&got, r.appendJSON(nil)); err != nil {
			t.Fatalf("appendJSON wrote invalid JSON: %v\n%s", err, r.appendJSON(nil))
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("request %d:\n got %s\nwant %s", i, got.Bytes(), want)
		}
	}
}

// BenchmarkEncodeRequest writes the upstream body of benchRequest by hand and with encoding/json
// (what GWCTL_NOFAST=anthropic runs).
func BenchmarkEncodeRequest(b *testing.B) {
	up, lerr := newTranslator(&Config{}, quietLogger()).translateRequest(context.Background(), benchRequest)
	if lerr != nil {
		b.Fatal(lerr)
	}
	var r messagesRequest
	if err := json.Unmarshal(up.Body, &r); err != nil {
		b.Fatal(err)
	}
	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = r.appendJSON(make([]byte, 0, len(benchRequest)+256))
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.encodeJSON(len(benchRequest) + 256); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecode decodes benchRequest and benchResponse with the hand-written decoders and with
// encoding/json (what GWCTL_NOFAST=anthropic runs).
func BenchmarkDecode(b *testing.B) {
	b.Run("request/hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var in chatRequest
			if s := newScanner(benchRequest); !s.chatRequest(&in) || !s.End() {
				b.Fatal("declined")
			}
		}
	})
	b.Run("request/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var in chatRequest
			if err := json.Unmarshal(benchRequest, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("message/hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m message
			if s := newScanner(benchResponse); !s.message(&m) || !s.End() {
				b.Fatal("declined")
			}
		}
	})
	b.Run("message/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m message
			if err := json.Unmarshal(benchResponse, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
