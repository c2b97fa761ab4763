package gemini

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"unsafe"

	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// finishReason maps a Gemini finishReason to OpenAI's vocabulary; a candidate that called a
// function finishes with tool_calls. Blocked content is content_filter; anything else ends
// as stop, logged, and never passes through raw.
func finishReason(ctx context.Context, log *slog.Logger, reason string, calledTools bool) string {
	switch reason {
	case "STOP", "":
		if calledTools {
			return "tool_calls"
		}
		return "stop"
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR":
		return "content_filter"
	}
	if calledTools {
		return "tool_calls"
	}
	log.WarnContext(ctx, "unknown or unmapped Gemini finishReason; reporting stop", "finish_reason", truncateRunes(reason, 64))
	return "stop"
}

// usage converts usageMetadata: promptTokenCount includes the cached part (cachedContentTokenCount)
// and toolUsePromptTokenCount is prompt too; completion is candidates plus thoughts, and
// thoughts are the reasoning tokens.
func (u *usageMetadata) usage() llm.Usage {
	var out llm.Usage
	prompt := u.PromptTokenCount + u.ToolUsePromptTokenCount
	out.CacheRead = min(max(u.CachedContentTokenCount, 0), prompt)
	out.Input = max(prompt-out.CacheRead, 0)
	out.Output = max(u.CandidatesTokenCount, 0)
	if u.ThoughtsTokenCount != nil {
		out.HasReasoning, out.Reasoning = true, max(*u.ThoughtsTokenCount, 0)
		out.Output += out.Reasoning
	}
	return out
}

// completion is a translated non-streaming response.
type completion struct {
	Body         []byte
	Model        string
	ID           string
	FinishReason string
	Usage        llm.Usage
	HasUsage     bool
}

// translateResponse maps a GenerateContentResponse to an OpenAI chat.completion; ok is false
// when the body is not one.
func (t *translator) translateResponse(ctx context.Context, body []byte, created int64, model string) (completion, bool) {
	rs := replies.Get().(*replyScratch)
	defer rs.release() // the reply is read only here; what is returned is copied or new
	return t.translateReply(ctx, body, created, model, rs)
}

// translateReply is translateResponse with the decoded reply in rs.
func (t *translator) translateReply(ctx context.Context, body []byte, created int64, model string, rs *replyScratch) (completion, bool) {
	r := &rs.r
	// Strings may alias body: all but the id and model (cloned) are only read while it is valid.
	if err := decodeReply(body, r, rs); err != nil || r.Error != nil || (len(r.Candidates) == 0 && r.PromptFeedback == nil && r.UsageMetadata == nil) {
		return completion{}, false
	}
	c := completion{ID: strings.Clone(r.ResponseID), Model: strings.Clone(r.ModelVersion)}
	if c.ID == "" {
		c.ID = "chatcmpl-gemini-" + strconv.FormatInt(created, 10)
	}
	if c.Model == "" {
		c.Model = model
	}
	if r.UsageMetadata != nil {
		c.Usage, c.HasUsage = r.UsageMetadata.usage(), true
	}
	b := make([]byte, 0, 512+len(body))
	b = append(b, `{"id":`...)
	b = jsonvalue.AppendStringNoHTML(b, c.ID)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = jsonvalue.AppendStringNoHTML(b, c.Model)
	b = append(b, `,"choices":[`...)
	if len(r.Candidates) == 0 {
		// The prompt itself was blocked (promptFeedback.blockReason): one empty choice.
		c.FinishReason = "content_filter"
		b = append(b, `{"index":0,"message":{"role":"assistant","content":null,"refusal":null},"logprobs":null,"finish_reason":"content_filter"}`...)
	}
	for i := range r.Candidates {
		cand := &r.Candidates[i]
		if i > 0 {
			b = append(b, ',')
		}
		var text, reasoning joined
		var callsBuf [4]*responsePart
		calls := callsBuf[:0]
		if cand.Content != nil {
			for j := range cand.Content.Parts {
				p := &cand.Content.Parts[j]
				switch {
				case p.FunctionCall != nil:
					calls = append(calls, p)
				case p.Thought:
					reasoning.add(p.Text)
				default:
					text.add(p.Text)
				}
			}
		}
		hasText := text.s != "" // some part has text
		finish := finishReason(ctx, t.log, cand.FinishReason, len(calls) > 0)
		if i == 0 {
			c.FinishReason = finish
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, cand.Index, 10)
		b = append(b, `,"message":{"role":"assistant","content":`...)
		if hasText {
			b = jsonvalue.AppendStringNoHTML(b, text.text())
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"refusal":null`...)
		if reasoning.s != "" {
			b = append(b, `,"reasoning_content":`...)
			b = jsonvalue.AppendStringNoHTML(b, reasoning.text())
		}
		if len(calls) > 0 {
			b = append(b, `,"tool_calls":[`...)
			for k, p := range calls {
				if k > 0 {
					b = append(b, ',')
				}
				b = appendToolCall(b, p, c.ID, k, -1)
			}
			b = append(b, ']')
		}
		b = append(b, `},"logprobs":null,"finish_reason":`...)
		b = jsonvalue.AppendStringNoHTML(b, finish)
		b = append(b, '}')
	}
	b = append(b, `],"usage":`...)
	b = c.Usage.AppendOpenAI(b, llm.UsageFormat{})
	b = append(b, `,"system_fingerprint":null}`...)
	c.Body = b
	return c, true
}

// joined concatenates a candidate's text parts; one part is used as it is (no copy).
type joined struct {
	s    string
	more strings.Builder // from a second non-empty part on
}

func (j *joined) add(s string) {
	switch {
	case s == "":
	case j.s == "":
		j.s = s
	default:
		if j.more.Len() == 0 {
			j.more.WriteString(j.s)
		}
		j.more.WriteString(s)
	}
}

// text is the concatenation.
func (j *joined) text() string {
	if j.more.Len() > 0 {
		return j.more.String()
	}
	return j.s
}

// appendToolCall appends an OpenAI tool call for a functionCall part: its id is Gemini's when
// it sent one, else derived from the response id and the call's position; a thought signature
// rides along in the id (thoughtSeparator). slot >= 0 adds the stream delta's index.
func appendToolCall(b []byte, p *responsePart, responseID string, n, slot int) []byte {
	fc := p.FunctionCall
	b = append(b, '{')
	if slot >= 0 {
		b = append(b, `"index":`...)
		b = strconv.AppendInt(b, int64(slot), 10)
		b = append(b, ',')
	}
	var tmp [128]byte // the id, then (once the id is written) the compact arguments: on the stack when short
	id := append(tmp[:0], fc.ID...)
	if fc.ID == "" {
		id = append(id, "call_"...)
		id = append(id, responseID...)
		id = append(id, '_')
		id = strconv.AppendInt(id, int64(n), 10)
	}
	if p.ThoughtSignature != "" && isBase64(p.ThoughtSignature) {
		id = append(id, thoughtSeparator...)
		id = append(id, p.ThoughtSignature...)
	}
	b = append(b, `"id":`...)
	b = jsonvalue.AppendStringNoHTML(b, unsafe.String(unsafe.SliceData(id), len(id)))
	b = append(b, `,"type":"function","function":{"name":`...)
	b = jsonvalue.AppendStringNoHTML(b, fc.Name)
	b = append(b, `,"arguments":`...)
	args := appendCompact(tmp[:0], fc.Args)
	b = jsonvalue.AppendStringNoHTML(b, unsafe.String(unsafe.SliceData(args), len(args)))
	return append(b, `}}`...)
}

// appendCompact appends a function call's args as compact JSON to out; absent or null args
// are {}.
func appendCompact(out []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return append(out, "{}"...)
	}
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		out = append(out, c)
	}
	return out
}
