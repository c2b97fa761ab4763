package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// finishReason maps an Anthropic stop_reason to OpenAI's finish_reason; unknown values are
// logged and become "stop".
func finishReason(ctx context.Context, log *slog.Logger, stop string) string {
	switch stop {
	case "end_turn", "stop_sequence", "pause_turn", "":
		return "stop"
	case "max_tokens", "model_context_window_exceeded", "compaction":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	log.WarnContext(ctx, "unknown Anthropic stop_reason mapped to stop", "stop_reason", stop)
	return "stop"
}

// serviceTier maps usage.service_tier; "" means omit.
func serviceTier(t string) string {
	switch t {
	case "standard":
		return "default"
	case "priority":
		return "priority"
	}
	return ""
}

// merge applies Anthropic usage u over acc: output always, other counters only when present
// (anthropic-sdk-go's Message.Accumulate rule; message_delta counts are cumulative).
func (u *usage) mergeInto(acc *llm.Usage) {
	if u.OutputTokens != nil {
		acc.Output = *u.OutputTokens
	}
	if u.InputTokens != nil {
		acc.Input = *u.InputTokens
	}
	if u.CacheCreationInputTokens != nil {
		acc.CacheWrite = *u.CacheCreationInputTokens
	}
	if u.CacheReadInputTokens != nil {
		acc.CacheRead = *u.CacheReadInputTokens
	}
	if u.CacheCreation != nil {
		acc.HasCacheSplit = true
		acc.CacheWrite5m = u.CacheCreation.Ephemeral5m
		acc.CacheWrite1h = u.CacheCreation.Ephemeral1h
	}
	if u.OutputTokensDetails != nil && u.OutputTokensDetails.ThinkingTokens != nil {
		acc.HasReasoning = true
		acc.Reasoning = *u.OutputTokensDetails.ThinkingTokens
	}
	if u.ServerToolUse != nil {
		acc.HasWebSearch = true
		acc.WebSearch = u.ServerToolUse.WebSearchRequests
		if u.ServerToolUse.WebFetchRequests != nil {
			acc.HasWebFetch = true
			acc.WebFetch = *u.ServerToolUse.WebFetchRequests
		}
	}
}

// completion is a translated non-streaming response.
type completion struct {
	Body         []byte
	Buf          *llm.Buffer // holds Body; the caller releases it once Body is written
	Model        string
	ID           string
	FinishReason string
	Usage        llm.Usage
}

// translateResponse maps an Anthropic Message body to an OpenAI chat.completion body.
// ok is false when the body is not a Message.
func (t *translator) translateResponse(ctx context.Context, body []byte, created int64, jsonTool string) (*completion, bool) {
	rs := replies.Get().(*replyScratch)
	defer rs.release()
	return t.translateResponseIn(ctx, body, created, jsonTool, rs)
}

// translateResponseIn is translateResponse with the reply's values in rs, which the result
// does not point into.
func (t *translator) translateResponseIn(ctx context.Context, body []byte, created int64, jsonTool string, rs *replyScratch) (*completion, bool) {
	m := &rs.m
	*m = message{}
	if err := decodeMessageIn(body, m, rs); err != nil || m.ID == "" {
		return nil, false
	}
	var u llm.Usage
	m.Usage.mergeInto(&u)
	finish := finishReason(ctx, t.log, m.StopReason)

	text, reasoning := rs.text[:0], rs.reasoning[:0]
	defer func() { rs.text, rs.reasoning = text[:0], reasoning[:0] }() // their arrays, cleared with the scratch
	var annotations []byte
	hasText := false
	nTools := 0
	size := 512            // the body's members besides text, reasoning, annotations and the blocks counted below
	runes, counted := 0, 0 // characters in text[:counted], counted only for cited blocks
	for i := range m.Content {
		c := &m.Content[i]
		switch c.Type {
		case "text":
			if len(c.Citations) > 0 {
				runes += utf8.RuneCount(text[counted:])
				counted = len(text)
				end := runes + utf8.RuneCountInString(c.Text)
				for j := range c.Citations {
					if url, title, ok := c.Citations[j].urlCitation(); ok {
						annotations = appendAnnotation(annotations, len(annotations) == 0, url, title, runes, end)
					}
				}
			}
			text = append(text, c.Text...)
			hasText = true
		case "thinking":
			reasoning = append(reasoning, c.Thinking...)
			size += 64 + len(c.Thinking) + len(c.Signature) // thinking_blocks repeats it
		case "redacted_thinking":
			size += 64 + len(c.Data)
		case "tool_use":
			if jsonTool != "" && c.Name == jsonTool {
				text = appendCompact(text, c.Input)
				hasText = true
				if finish == "tool_calls" {
					finish = "stop"
				}
				continue
			}
			nTools++
			size += 64 + len(c.ID) + len(c.Name) + 2*len(c.Input) // arguments: the input as an escaped string
		}
	}
	if jsonTool != "" && nTools == 0 && finish == "tool_calls" {
		finish = "stop"
	}

	// Sized so the body is written without growing (a grown body is copied and allocated again).
	out := llm.GetBuffer()
	b := slices.Grow(out.B[:0], size+len(text)+len(reasoning)+len(annotations))
	b = append(b, `{"id":`...)
	b = jsonvalue.AppendStringNoHTML(b, m.ID)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = jsonvalue.AppendStringNoHTML(b, m.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if hasText {
		b = jsonvalue.AppendStringNoHTML(b, jsonscan.AliasString(text))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"refusal":null`...)
	if len(annotations) > 0 {
		b = append(b, `,"annotations":[`...)
		b = append(b, annotations...)
		b = append(b, ']')
	}
	if len(reasoning) > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = jsonvalue.AppendStringNoHTML(b, jsonscan.AliasString(reasoning))
	}
	b = appendThinkingBlocks(b, m.Content)
	if nTools > 0 {
		b = append(b, `,"tool_calls":[`...)
		first := true
		for i := range m.Content {
			c := &m.Content[i]
			if c.Type != "tool_use" || (jsonTool != "" && c.Name == jsonTool) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"id":`...)
			b = jsonvalue.AppendStringNoHTML(b, c.ID)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = jsonvalue.AppendStringNoHTML(b, c.Name)
			b = append(b, `,"arguments":`...)
			rs.input = appendCompact(rs.input[:0], c.Input)
			b = jsonvalue.AppendStringNoHTML(b, jsonscan.AliasString(rs.input))
			b = append(b, `}}`...)
		}
		b = append(b, ']')
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	b = jsonvalue.AppendStringNoHTML(b, finish)
	b = append(b, `}],"usage":`...)
	b = u.AppendOpenAI(b, llm.UsageFormat{CacheSplit: t.cacheSplit})
	if st := serviceTier(m.Usage.ServiceTier); st != "" {
		b = append(b, `,"service_tier":`...)
		b = jsonvalue.AppendStringNoHTML(b, st)
	}
	b = append(b, `,"system_fingerprint":null}`...)
	// Model and ID outlive the body they alias (metric label, trace attributes).
	out.B = b
	return &completion{Body: b, Buf: out, Model: strings.Clone(m.Model), ID: strings.Clone(m.ID), FinishReason: finish, Usage: u}, true
}

// appendThinkingBlocks adds the thinking_blocks extension (LiteLLM's shape: signed thinking
// and redacted thinking, in order) so clients can replay them on the next turn. Unsigned
// thinking is left out: Anthropic would reject it on replay.
func appendThinkingBlocks(b []byte, content []responseBlock) []byte {
	first := true
	for i := range content {
		c := &content[i]
		if !(c.Type == "thinking" && c.Signature != "" || c.Type == "redacted_thinking" && c.Data != "") {
			continue
		}
		if first {
			b = append(b, `,"thinking_blocks":[`...)
			first = false
		} else {
			b = append(b, ',')
		}
		if c.Type == "thinking" {
			b = append(b, `{"type":"thinking","thinking":`...)
			b = jsonvalue.AppendStringNoHTML(b, c.Thinking)
			b = append(b, `,"signature":`...)
			b = jsonvalue.AppendStringNoHTML(b, c.Signature)
		} else {
			b = append(b, `{"type":"redacted_thinking","data":`...)
			b = jsonvalue.AppendStringNoHTML(b, c.Data)
		}
		b = append(b, '}')
	}
	if !first {
		b = append(b, ']')
	}
	return b
}

// appendCompact appends raw JSON without insignificant whitespace; an absent input is {}.
func appendCompact(dst []byte, raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return append(dst, "{}"...)
	}
	if sc := newScanner(raw); fastJSON && sc.Skip(0) && sc.End() {
		return appendCompactValid(dst, raw)
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return append(dst, raw...)
	}
	return buf.Bytes()
}

// appendCompactValid appends valid JSON without the whitespace between tokens, as
// json.Compact does, without its buffer.
func appendCompactValid(dst, raw []byte) []byte {
	inString := false
	start := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, raw[start:i]...)
			start = i + 1
		}
	}
	return append(dst, raw[start:]...)
}
