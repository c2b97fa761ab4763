package vllmsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// completionRequest holds the fields of an OpenAI chat or text completion request the simulator uses.
type completionRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Prompt              json.RawMessage `json:"prompt"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// promptText renders the prompt the way a chat template would: roles and contents in order,
// so requests sharing leading messages share leading KV blocks.
func (r *completionRequest) promptText(chat bool) (string, error) {
	var b strings.Builder
	if chat {
		if len(r.Messages) == 0 {
			return "", fmt.Errorf("messages: at least one message is required")
		}
		for _, m := range r.Messages {
			b.WriteString("<|")
			b.WriteString(m.Role)
			b.WriteString("|>")
			text, err := contentText(m.Content)
			if err != nil {
				return "", err
			}
			b.WriteString(text)
			b.WriteString("\n")
		}
		return b.String(), nil
	}
	if len(r.Prompt) == 0 {
		return "", fmt.Errorf("prompt: required")
	}
	var s string
	if err := json.Unmarshal(r.Prompt, &s); err == nil {
		return s, nil
	}
	var parts []string
	if err := json.Unmarshal(r.Prompt, &parts); err != nil {
		return "", fmt.Errorf("prompt: want a string or an array of strings")
	}
	return strings.Join(parts, ""), nil
}

func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("message content: want a string or an array of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

var vocabulary = strings.Fields("the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there one all we their")

// words returns n deterministic pseudo-words.
func words(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(' ')
		b.WriteString(vocabulary[rng.IntN(len(vocabulary))])
	}
	return b.String()
}

// writeError answers in OpenAI's error shape.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": status,
	}})
}

func chunkJSON(id, object, model string, created int64, chat bool, text string, first bool, finish *string) []byte {
	choice := map[string]any{"index": 0, "finish_reason": finish, "logprobs": nil}
	if chat {
		delta := map[string]any{}
		if first {
			delta["role"] = "assistant"
		}
		if text != "" || first {
			delta["content"] = text
		}
		choice["delta"] = delta
	} else {
		choice["text"] = text
	}
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": object, "created": created, "model": model, "choices": []any{choice},
	})
	return b
}

func nowUnix() int64 { return time.Now().Unix() }
