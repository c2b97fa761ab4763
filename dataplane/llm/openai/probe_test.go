package openai

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// probeCases are chunks that needsProbe must let through undecoded (false) or send to the
// decoder (true); a false must be one encoding/json finds nothing in (see probeMisses).
var probeCases = map[string]bool{
	`{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`: false,
	`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`:            true,
	`{"choices":[],"usage":{"prompt_tokens":1}}`:                             true,
	`{"choices":[{"delta":{"content":"x"}}],"usage": {"prompt_tokens":1}}`:   true,
	`{"error":{"message":"x"}}`:                                              true,
	`not json`:                                                               true,
	``:                                                                       true,
	`{"choices":[{"delta":{"content":"x"},"finish_reason":null}],"usage":null}`:      false,
	`{"choices":[{"delta":{},"finish_reason": "length"}],"usage":null}`:              true,
	`{"choices":[{"delta":{"content":""usage":"},"finish_reason":null}],"usage" :1}`: false,
	`{"choices":[],"usage":` + "\n  " + `{"prompt_tokens":1}}`:                       true,
	`{"choices":[{"delta":{"content":"the word \"usage\":{ appears"}}]}`:             false, // escaped quotes: content, not usage
	// Keys as encoding/json matches them: case-insensitively, blanks before the colon, escapes.
	`{"choices":[],"Usage":{"prompt_tokens":1}}`:                  true,
	`{"choices":[{"delta":{},"FINISH_REASON":"stop"}]}`:           true,
	`{"choices":[],"usage"` + " \t\r\n" + `:{"prompt_tokens":1}}`: true,
	`{"choices":[],"us\u0061ge":{"prompt_tokens":1}}`:             true,
	`{"choices":[],"uſage":{"prompt_tokens":1}}`:                  true, // ſ folds to s
	`{"Error":"x"}`: true,
	`{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"usage\":{\"a\":1},\"error\":1}"}}]}}]}`: false,
	`{"choices":[{"delta":{"content":"a:b: \"c\" : d"},"finish_reason":null}]}`:                               false,
	`{"object":"error","message":"x"}`: false, // vLLM's top-level error: nothing to decode (no error member)
}

func TestNeedsProbe(t *testing.T) {
	for in, want := range probeCases {
		if got := scanKeys([]byte(in)); got != want {
			t.Errorf("%s: got %v, want %v", in, got, want)
		}
		if miss := probeMisses([]byte(in)); miss != "" {
			t.Errorf("%s: %s", in, miss)
		}
	}
}

// probeMisses reports a chunk scanKeys lets through although encoding/json reads in it what
// the decoded path acts on: usage, a finish reason, an error. (A chunk encoding/json rejects is
// relayed undecoded, as before: only chunks that may carry these are checked.)
func probeMisses(data []byte) string {
	if scanKeys(data) {
		return ""
	}
	return decodedMisses(data)
}

// decodedMisses reports what encoding/json reads in a chunk relayed undecoded that the decoded
// path acts on: usage, a finish reason, an error.
func decodedMisses(data []byte) string {
	var p responseProbe
	if json.Unmarshal(data, &p) != nil {
		return "" // content is relayed unchecked, as it was: only the decoded chunks are
	}
	for _, c := range p.Choices {
		if c.FinishReason != nil && *c.FinishReason != "" {
			return "undecoded, but it has a finish reason"
		}
	}
	switch {
	case p.Usage != nil:
		return "undecoded, but it has usage"
	case len(p.Error) > 0 && string(p.Error) != "null":
		return "undecoded, but it has an error"
	}
	return ""
}

// FuzzNeedsProbe checks that needsProbe's scan never lets through a chunk that encoding/json reads
// usage, a finish reason or an error from.
func FuzzNeedsProbe(f *testing.F) {
	for in := range probeCases {
		f.Add([]byte(in))
	}
	for _, ev := range strings.Split(string(benchChatStream()), "\n\n") {
		f.Add([]byte(strings.TrimPrefix(ev, "data: ")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if miss := probeMisses(data); miss != "" {
			t.Errorf("%q: %s", data, miss)
		}
	})
}

// benchChatStream is an OpenAI stream of 60 content deltas, a finish chunk and a usage chunk,
// in the layout of OpenAI's chunks.
func benchChatStream() []byte {
	const head = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4.1-2025-04-14","system_fingerprint":null,"choices":[`
	var b strings.Builder
	b.WriteString(head + `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
	for i := range 60 {
		fmt.Fprintf(&b, head+`{"index":0,"delta":{"content":"word %d, "},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n", i)
	}
	b.WriteString(head + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}` + "\n\n")
	b.WriteString(head + `],"usage":{"prompt_tokens":1836,"completion_tokens":160,"total_tokens":1996,"prompt_tokens_details":{"cached_tokens":1024}}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

func BenchmarkNeedsProbe(b *testing.B) {
	var events [][]byte
	for _, ev := range strings.Split(string(benchChatStream()), "\n\n") {
		if ev != "" {
			events = append(events, []byte(strings.TrimPrefix(ev, "data: ")))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, ev := range events {
			scanKeys(ev)
		}
	}
}

// decodeCases are chunks and completions the fast decoder reads (or leaves to encoding/json)
// exactly as json.Unmarshal does.
var decodeCases = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"usage":null}`,
	`{"id":"c","choices":[],"usage":{"prompt_tokens":1836,"completion_tokens":160,"total_tokens":1996,"prompt_tokens_details":{"cached_tokens":1024,"cache_write_tokens":3},"completion_tokens_details":{"reasoning_tokens":7}}}`,
	`{"id":"c","choices":[],"usage":{"prompt_tokens":1,"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":null}}}`,
	`{"id":null,"model":null,"choices":null,"usage":null,"error":null}`,
	`{"choices":[null,{"finish_reason":null},{"finish_reason":"length"}]}`,
	`{"error":{"message":"boom","type":"server_error"}}`,
	`{"id":"a\u00e9\n","model":"caf\u00e9"}`,
	`{"ID":"upper","Model":"m"}`,      // case folding: encoding/json's
	`{"id":"a","id":"b"}`,             // duplicates: encoding/json's
	`{"usage":{"prompt_tokens":1.5}}`, // a type error: encoding/json's
	`{"usage":{"prompt_tokens":99999999999999999999}}`,
	`{"choices":[{"finish_reason":5}]}`,
	`{"id":"x"} trailing`,
	`[1]`,
	`null`,
	`{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":4,"total_tokens":54,"prompt_tokens_details":{"cached_tokens":32}}}`,
}

func TestProbeDecode(t *testing.T) {
	for _, in := range decodeCases {
		if diff := decodeDiff([]byte(in)); diff != "" {
			t.Errorf("%s: %s", in, diff)
		}
	}
}

// decodeDiff compares responseProbe.decode with json.Unmarshal on data.
func decodeDiff(data []byte) string {
	var got, want responseProbe
	gotErr, wantErr := got.decode(data), json.Unmarshal(data, &want)
	if (gotErr == nil) != (wantErr == nil) {
		return fmt.Sprintf("decode error %v, encoding/json's %v", gotErr, wantErr)
	}
	if wantErr != nil {
		return ""
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		return fmt.Sprintf("decoded %s, encoding/json %s", g, w)
	}
	return ""
}

func FuzzProbeDecode(f *testing.F) {
	for _, in := range decodeCases {
		f.Add([]byte(in))
	}
	for in := range probeCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if diff := decodeDiff(data); diff != "" {
			t.Errorf("%q: %s", data, diff)
		}
	})
}
