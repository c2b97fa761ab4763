package jsonstrict

import (
	"encoding/json"
	"strings"
	"testing"
)

// benchBody is a chat completion request of a typical shape: a few messages, a tool.
var benchBody = []byte(`{"model":"claude-sonnet-4-5","stream":false,"max_completion_tokens":1024,"temperature":0.7,` +
	`"messages":[{"role":"system","content":"You are a helpful assistant. ` + strings.Repeat("Answer briefly and cite sources. ", 20) + `"},` +
	`{"role":"user","content":"` + strings.Repeat("What is the weather in Paris today? ", 30) + `"},` +
	`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
	`{"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21,\"sky\":\"clear\"}"}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}`)

// BenchmarkRead is the strict reader on a request body, capturing the passthrough's fields;
// BenchmarkEncodingJSONProbe is the encoding/json decode it replaces there.
func BenchmarkRead(b *testing.B) {
	s := NewSchema()
	s.Capture("model")
	s.Capture("stream")
	s.Capture("stream_options", "include_usage")
	vals := make([]Value, s.Slots())
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Read(benchBody, vals); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSONProbe(b *testing.B) {
	var probe struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		if err := json.Unmarshal(benchBody, &probe); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckMCP(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"everything_echo","arguments":{"message":"hello"},"_meta":{"progressToken":7}}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(body); err != nil {
			b.Fatal(err)
		}
	}
}
