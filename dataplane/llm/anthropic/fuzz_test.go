package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// FuzzTranslateRequest: no input panics; every accepted input yields a JSON object with a
// positive max_tokens and at least one message, no larger than a small multiple of the input.
func FuzzTranslateRequest(f *testing.F) {
	for _, tc := range requestCases {
		f.Add([]byte(tc.in))
	}
	tr := newTranslator(&Config{WebSearch: true, ServerTools: []string{"web_search_20250305", "web_fetch_20250910"}}, quietLogger())
	f.Fuzz(func(t *testing.T, in []byte) {
		up, err := tr.translateRequest(context.Background(), in)
		if err != nil {
			if err.Status != 400 || bytes.Contains(err.AppendJSON(nil), in) && len(in) > 40 {
				t.Fatalf("bad error %+v", err)
			}
			return
		}
		var out struct {
			MaxTokens int64             `json:"max_tokens"`
			Messages  []json.RawMessage `json:"messages"`
		}
		if jerr := json.Unmarshal(up.Body, &out); jerr != nil {
			t.Fatalf("output is not JSON: %v\n%s", jerr, up.Body)
		}
		if out.MaxTokens <= 0 || len(out.Messages) == 0 {
			t.Fatalf("max_tokens %d, %d messages", out.MaxTokens, len(out.Messages))
		}
		// Escaping may grow strings (\u2028 is 6 bytes for 3), defaults add a little.
		if len(up.Body) > 3*len(in)+1024 {
			t.Fatalf("output %d bytes for %d input bytes", len(up.Body), len(in))
		}
	})
}

// FuzzTranslateStream: arbitrary upstream streams never panic and always end in either
// [DONE] or an error event.
func FuzzTranslateStream(f *testing.F) {
	for _, tc := range streamCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := translateStream(t, Config{}, in, true, jsonToolName)
		if err == nil && !bytes.HasSuffix(out, []byte("data: [DONE]\n\n")) {
			t.Fatalf("clean stream without [DONE]: %s", out)
		}
		if err != nil && bytes.Contains(out, []byte("[DONE]")) {
			t.Fatalf("failed stream with [DONE]: %s", out)
		}
	})
}
