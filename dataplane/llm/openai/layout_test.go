package openai

import (
	"bytes"
	"testing"
)

const (
	layoutHead = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":`
	layoutTail = `},"logprobs":null,"finish_reason":null}],"usage":null}`
)

func TestChunkLayout(t *testing.T) {
	learnt := layoutHead + `"Hello"` + layoutTail
	for _, tc := range []struct {
		name  string
		learn string
		chunk string
		want  bool
	}{
		{"same layout, other text", learnt, layoutHead + `"world, \"quoted\" \\ \u00e9 \n"` + layoutTail, true},
		{"empty text", learnt, layoutHead + `""` + layoutTail, true},
		{"text that looks like keys", learnt, layoutHead + `"\"usage\":{\"prompt_tokens\":1},\"finish_reason\":\"stop\""` + layoutTail, true},
		{"a quote ends the string early", learnt, layoutHead + `"a","finish_reason":"stop","x":"b"` + layoutTail, false},
		{"an escaped closing quote", learnt, layoutHead + `"a\"` + layoutTail, false},
		{"no string", learnt, layoutHead + `null` + layoutTail, false},
		{"finish chunk", learnt, layoutHead + `"x"},"logprobs":null,"finish_reason":"stop"}],"usage":null}`, false},
		{"usage chunk", learnt, `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1}}`, false},
		{"another id", learnt, `{"id":"chatcmpl-2"` + layoutHead[len(`{"id":"chatcmpl-1"`):] + `"x"` + layoutTail, false},
		{"tool arguments", `{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]}}]}`,
			`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"city\":\"Paris\"}"}}]}}]}`, true},
		{"nothing learnt from two strings", `{"choices":[{"delta":{"role":"assistant","content":""}}]}`, `{"choices":[{"delta":{"role":"assistant","content":"x"}}]}`, false},
		{"nothing learnt from invalid JSON", layoutHead + `"Hello"` + layoutTail + `}`, layoutHead + `"x"` + layoutTail + `}`, false},
		{"nothing learnt without a delta string", `{"choices":[{"delta":{}}],"x":"y"}`, `{"choices":[{"delta":{}}],"x":"z"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l chunkLayout
			l.learn([]byte(tc.learn))
			if got := l.match([]byte(tc.chunk)); got != tc.want {
				t.Errorf("match(%s) after learning %s = %v, want %v", tc.chunk, tc.learn, got, tc.want)
			}
		})
	}
}

func TestChunkLayoutTries(t *testing.T) {
	var l chunkLayout
	for range maxLayoutTries {
		l.learn([]byte(`{"choices":[{"delta":{"role":"assistant","content":""}}]}`))
	}
	l.learn([]byte(layoutHead + `"Hello"` + layoutTail))
	if l.match([]byte(layoutHead + `"x"` + layoutTail)) {
		t.Errorf("a layout learnt after %d tries", maxLayoutTries)
	}
}

// FuzzChunkLayout checks that a chunk matching a layout learnt from another one that needed
// no decoding needs none either: encoding/json reads no usage, finish reason or error in it.
func FuzzChunkLayout(f *testing.F) {
	f.Add([]byte(layoutHead+`"Hello"`+layoutTail), []byte(`"world"`))
	f.Add([]byte(layoutHead+`"Hello"`+layoutTail), []byte(`"a","finish_reason":"stop","b":"`))
	f.Add([]byte(`{"choices":[{"delta":{"content":"x"}}],"usage":null}`), []byte(`"\"},\"usage\":{\"a\":1}"`))
	f.Fuzz(func(t *testing.T, learn, lit []byte) {
		if scanKeys(learn) {
			return
		}
		var l chunkLayout
		l.learn(learn)
		if len(l.head) == 0 {
			return
		}
		chunk := bytes.Join([][]byte{l.head, lit, l.tail}, nil)
		if !l.match(chunk) {
			return
		}
		if miss := decodedMisses(chunk); miss != "" {
			t.Errorf("%q matches the layout of %q: %s", chunk, learn, miss)
		}
	})
}

// TestChunkLayoutStream checks that the content deltas of an OpenAI stream take the layout
// path: the first delta teaches it, the others match it, the finish and usage chunks do not.
func TestChunkLayoutStream(t *testing.T) {
	p := &passthrough{first: true}
	matched := 0
	for _, ev := range bytes.Split(benchChatStream(), []byte("\n\n")) {
		data, ok := bytes.CutPrefix(ev, []byte("data: "))
		if !ok || string(data) == "[DONE]" {
			continue
		}
		if !p.first && p.layout.match(data) {
			matched++
		}
		if _, err := p.StreamEvent(t.Context(), data, discard{}); err != nil {
			t.Fatal(err)
		}
	}
	if !probeKeys {
		t.Skip("GWCTL_NOFAST: every chunk is decoded")
	}
	if matched != 59 {
		t.Errorf("%d of the 60 content deltas after the first matched the layout, want 59", matched)
	}
}

type discard struct{}

func (discard) Data([]byte) error { return nil }
func (discard) Done() error       { return nil }
