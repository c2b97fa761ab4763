package anthropictest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Validate checks an upstream request: Anthropic headers (a key, anthropic-version, JSON
// content type, no client credentials beside the key), the body against CreateMessageParams,
// and the rules Anthropic enforces beyond its schema.
func (s *Server) Validate(h http.Header, body []byte) error {
	if h.Get("X-Api-Key") == "" && !strings.HasPrefix(h.Get("Authorization"), "Bearer sk-ant-oat") {
		return errors.New("missing x-api-key")
	}
	if h.Get("X-Api-Key") != "" && h.Get("Authorization") != "" {
		return errors.New("both x-api-key and Authorization sent (client credentials leaked upstream?)")
	}
	if h.Get("Anthropic-Version") == "" {
		return errors.New("missing anthropic-version header")
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		return fmt.Errorf("content-type %q, want application/json", h.Get("Content-Type"))
	}
	return ValidateBody(s.schema, body)
}

// ValidateBody checks a request body against CreateMessageParams (see CompileSchema) and the
// rules Anthropic enforces beyond its schema.
func ValidateBody(schema *jsonschema.Schema, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	if err := schema.Validate(v); err != nil {
		return fmt.Errorf("body does not match CreateMessageParams: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return errors.New("body is not a JSON object")
	}
	return semantic(obj)
}

// semantic checks rules from Anthropic's error messages that the schema does not encode.
func semantic(req map[string]any) error {
	if mt, _ := req["max_tokens"].(json.Number); mt == "0" {
		return errors.New("max_tokens must be at least 1")
	}
	if sys, ok := req["system"].([]any); ok {
		for i, b := range sys {
			if err := nonEmptyText(b); err != nil {
				return fmt.Errorf("system[%d]: %w", i, err)
			}
		}
	}
	msgs, _ := req["messages"].([]any)
	if len(msgs) == 0 {
		return errors.New("messages: at least one message is required")
	}
	var pendingToolUse []string
	for i, m := range msgs {
		msg, _ := m.(map[string]any)
		role, _ := msg["role"].(string)
		content, isArray := msg["content"].([]any)
		if !isArray {
			if s, _ := msg["content"].(string); strings.TrimSpace(s) == "" {
				return fmt.Errorf("messages[%d]: content must be non-empty", i)
			}
		}
		if isArray && len(content) == 0 {
			return fmt.Errorf("messages[%d]: content must be non-empty", i)
		}
		for j, b := range content {
			if err := nonEmptyText(b); err != nil {
				return fmt.Errorf("messages[%d].content[%d]: %w", i, j, err)
			}
		}
		if role == "user" && len(pendingToolUse) > 0 {
			for k, id := range pendingToolUse {
				if k >= len(content) {
					return fmt.Errorf("messages[%d]: tool_use ids %v need tool_result blocks first", i, pendingToolUse)
				}
				b, _ := content[k].(map[string]any)
				if b["type"] != "tool_result" || b["tool_use_id"] != id {
					return fmt.Errorf("messages[%d].content[%d]: expected tool_result for %s first", i, k, id)
				}
			}
		}
		pendingToolUse = nil
		if role == "assistant" {
			if err := thinkingFirst(content); err != nil {
				return fmt.Errorf("messages[%d]: %w", i, err)
			}
			for _, b := range content {
				blk, _ := b.(map[string]any)
				if blk["type"] == "tool_use" {
					id, _ := blk["id"].(string)
					pendingToolUse = append(pendingToolUse, id)
				}
			}
			if i == len(msgs)-1 && len(content) > 0 {
				last, _ := content[len(content)-1].(map[string]any)
				if t, _ := last["text"].(string); last["type"] == "text" && t != strings.TrimRight(t, " \t\r\n") {
					return fmt.Errorf("messages[%d]: final assistant content cannot end with trailing whitespace", i)
				}
			}
		}
	}
	names := map[string]bool{}
	tools, _ := req["tools"].([]any)
	for i, t := range tools {
		tool, _ := t.(map[string]any)
		name, _ := tool["name"].(string)
		if names[name] {
			return fmt.Errorf("tools[%d]: tool names must be unique (%q)", i, name)
		}
		names[name] = true
	}
	if tc, ok := req["tool_choice"].(map[string]any); ok {
		if _, ok := req["tools"]; !ok && tc["type"] != "none" && tc["type"] != "auto" {
			return errors.New("tool_choice requires tools")
		}
		if name, _ := tc["name"].(string); tc["type"] == "tool" && !names[name] {
			return fmt.Errorf("tool_choice names tool %q, which is not in tools", name)
		}
	}
	return nil
}

// thinkingFirst checks an assistant turn's replayed reasoning: thinking and redacted_thinking
// blocks come before any other block, and thinking is signed.
func thinkingFirst(content []any) error {
	other := false
	for j, b := range content {
		blk, _ := b.(map[string]any)
		switch blk["type"] {
		case "thinking", "redacted_thinking":
			if other {
				return fmt.Errorf("content[%d]: thinking blocks must come first in an assistant turn", j)
			}
			if sig, _ := blk["signature"].(string); blk["type"] == "thinking" && sig == "" {
				return fmt.Errorf("content[%d]: thinking block without a signature", j)
			}
		default:
			other = true
		}
	}
	return nil
}

func nonEmptyText(b any) error {
	blk, _ := b.(map[string]any)
	if blk["type"] != "text" {
		return nil
	}
	if t, _ := blk["text"].(string); strings.TrimSpace(t) == "" {
		return errors.New("text content blocks must contain non-whitespace text")
	}
	return nil
}
