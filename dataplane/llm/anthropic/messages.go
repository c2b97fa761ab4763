package anthropic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
	"github.com/infergw/gwctl/pkg/jsonvalue"
)

var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// messages hoists system and developer messages, merges tool results into user turns
// (tool_result blocks first) and maps every content part.
//
// The turns and their blocks are the scratch's: each message's blocks are built in sc.msg and
// copied into sc.blocks; the pending user turn is built in sc.results and sc.other.
func (t *translator) messages(in *chatRequest, out *messagesRequest, caps ModelCaps, sc *reqScratch) *apierror.Error {
	var (
		pendingResults = sc.results[:0] // tool_result blocks of the user turn being built
		pendingOther   = sc.other[:0]   // its text, image and document blocks
		sawToolUse     bool
		sawToolResult  bool
	)
	out.Messages = sc.turns[:0]
	defer func() {
		// Their arrays, cleared with the scratch.
		sc.results, sc.other, sc.turns = pendingResults[:0], pendingOther[:0], out.Messages[:0]
		if cap(out.System) > 0 {
			sc.system = out.System[:0]
		}
	}()
	flushUser := func() {
		if len(pendingResults)+len(pendingOther) == 0 {
			return
		}
		content := scratch.Slice(&sc.blocks, len(pendingResults)+len(pendingOther))
		content = append(append(content, pendingResults...), pendingOther...)
		out.Messages = append(out.Messages, turn{Role: "user", Content: content})
		clear(pendingResults)
		clear(pendingOther)
		pendingResults, pendingOther = pendingResults[:0], pendingOther[:0]
	}
	for i := range in.Messages {
		m := &in.Messages[i]
		switch m.Role {
		case "system", "developer":
			blocks, err := textBlocks(sc.msg[:0], &m.Content, contentPath(i))
			sc.msg = blocks[:0]
			if err != nil {
				return err
			}
			if t.midSystem && caps.SystemMessages && len(out.Messages)+len(pendingResults)+len(pendingOther) > 0 {
				flushUser()
				if len(blocks) > 0 {
					out.Messages = append(out.Messages, turn{Role: "system", Content: sc.copyIn(blocks)})
				}
				continue
			}
			if len(blocks) > 0 {
				if out.System == nil {
					out.System = sc.system[:0]
				}
				out.System = append(out.System, blocks...)
			}
		case "user":
			blocks, err := userBlocks(sc.msg[:0], &m.Content, contentPath(i), sc)
			sc.msg = blocks[:0]
			if err != nil {
				return err
			}
			pendingOther = append(pendingOther, blocks...)
		case "tool":
			if m.ToolCallID == "" {
				return apierror.InvalidRequest(fmt.Sprintf("messages[%d].tool_call_id", i), "tool message needs tool_call_id")
			}
			res, err := toolResult(m, contentPath(i), sc)
			if err != nil {
				return err
			}
			pendingResults = append(pendingResults, res)
			sawToolResult = true
		case "assistant":
			flushUser()
			blocks, err := assistantBlocks(sc.msg[:0], m, i, sc)
			sc.msg = blocks[:0]
			if err != nil {
				return err
			}
			if len(m.ToolCalls) > 0 {
				sawToolUse = true
			}
			if len(blocks) == 0 {
				continue
			}
			if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == "assistant" {
				out.Messages[n-1].Content = mergeAssistant(out.Messages[n-1].Content, blocks)
				continue
			}
			out.Messages = append(out.Messages, turn{Role: "assistant", Content: sc.copyIn(blocks)})
		case "function":
			return apierror.InvalidRequest(fmt.Sprintf("messages[%d].role", i), "legacy function messages are not supported; use tool messages")
		default:
			return apierror.InvalidRequest(fmt.Sprintf("messages[%d].role", i), "unknown message role %q", m.Role)
		}
	}
	flushUser()

	if (sawToolUse || sawToolResult) && len(in.Tools) == 0 {
		return apierror.InvalidRequest("tools", "the conversation contains tool calls or tool results but the request has no tools")
	}
	if len(out.Messages) == 0 {
		return apierror.InvalidRequest("messages", "at least one non-empty user or assistant message is required")
	}
	// Anthropic rejects a final assistant turn that ends with whitespace.
	if last := &out.Messages[len(out.Messages)-1]; last.Role == "assistant" {
		if n := len(last.Content); n > 0 && last.Content[n-1].Type == "text" {
			b := &last.Content[n-1]
			b.Text = strings.TrimRight(b.Text, " \t\r\n")
			if b.Text == "" {
				last.Content = last.Content[:n-1]
			}
		}
		if len(last.Content) == 0 {
			out.Messages = out.Messages[:len(out.Messages)-1]
			if len(out.Messages) == 0 {
				return apierror.InvalidRequest("messages", "at least one non-empty user or assistant message is required")
			}
		}
	}
	return nil
}

// contentPath names messages[i].content in errors; built only when an error is reported.
func contentPath(i int) func() string {
	return func() string { return fmt.Sprintf("messages[%d].content", i) }
}

// contentParts decodes content as either a string (one text part) or an array of parts.
// ok is false for null or absent content.
func contentParts(c *chatContent, param func() string) (parts []chatPart, text string, isString bool, err *apierror.Error) {
	if c.Invalid {
		return nil, "", false, apierror.InvalidRequest(param(), "content must be a string or an array of content parts")
	}
	return c.Parts, c.Text, c.IsString, nil
}

func textBlock(text string, cc json.RawMessage) (block, bool) {
	if strings.TrimSpace(text) == "" {
		return block{}, false
	}
	return block{Type: "text", Text: text, CacheControl: cc}, true
}

// textBlocks appends the blocks of system/developer content to out; only text parts are allowed.
func textBlocks(out []block, raw *chatContent, param func() string) ([]block, *apierror.Error) {
	parts, text, isString, err := contentParts(raw, param)
	if err != nil {
		return out, err
	}
	if isString {
		if b, ok := textBlock(text, nil); ok {
			return append(out, b), nil
		}
		return out, nil
	}
	for j, p := range parts {
		if p.Type != "text" {
			return out, apierror.InvalidRequest(fmt.Sprintf("%s[%d].type", param(), j), "system and developer messages accept only text parts, not %q", p.Type)
		}
		if b, ok := textBlock(p.Text, p.CacheControl); ok {
			out = append(out, b)
		}
	}
	return out, nil
}

// userBlocks appends the blocks of user content parts to out: text, image_url, file.
func userBlocks(out []block, raw *chatContent, param func() string, sc *reqScratch) ([]block, *apierror.Error) {
	parts, text, isString, err := contentParts(raw, param)
	if err != nil {
		return out, err
	}
	if isString {
		if b, ok := textBlock(text, nil); ok {
			return append(out, b), nil
		}
		return out, nil
	}
	for j := range parts {
		b, keep, err := userPart(&parts[j], func() string { return fmt.Sprintf("%s[%d]", param(), j) }, sc)
		if err != nil {
			return out, err
		}
		if keep {
			out = append(out, b)
		}
	}
	return out, nil
}

func userPart(p *chatPart, param func() string, sc *reqScratch) (block, bool, *apierror.Error) {
	switch p.Type {
	case "text":
		b, ok := textBlock(p.Text, p.CacheControl)
		return b, ok, nil
	case "image_url":
		if p.ImageURL == nil || p.ImageURL.URL == "" {
			return block{}, false, apierror.InvalidRequest(param()+".image_url.url", "image_url.url is required")
		}
		b, err := imageBlock(p.ImageURL.URL, func() string { return param() + ".image_url.url" }, sc)
		b.CacheControl = p.CacheControl
		return b, err == nil, err
	case "file":
		if p.File == nil {
			return block{}, false, apierror.InvalidRequest(param()+".file", "file is required")
		}
		if p.File.FileID != "" {
			return block{}, false, apierror.InvalidRequest(param()+".file.file_id", "file_id references cannot be resolved by this backend; send file_data")
		}
		if p.File.FileData == "" {
			return block{}, false, apierror.InvalidRequest(param()+".file.file_data", "file.file_data is required")
		}
		b, err := fileBlock(p.File.FileData, func() string { return param() + ".file.file_data" }, sc)
		b.CacheControl = p.CacheControl
		return b, err == nil, err
	case "input_audio":
		return block{}, false, apierror.InvalidRequest(param()+".type", "unsupported content part: input_audio (Anthropic models take no audio)")
	case "refusal":
		b, ok := textBlock(p.Refusal, p.CacheControl)
		return b, ok, nil
	}
	return block{}, false, apierror.InvalidRequest(param()+".type", "unsupported content part type %q", p.Type)
}

// imageBlock turns a data: or http(s) URL into an image (or PDF document) block. URLs are
// passed to Anthropic as URL sources and never fetched here.
func imageBlock(url string, param func() string, sc *reqScratch) (block, *apierror.Error) {
	if strings.HasPrefix(url, "data:") {
		mt, data, ok := parseDataURL(url)
		if !ok {
			return block{}, apierror.InvalidRequest(param(), "data URL must be data:<media type>;base64,<data>")
		}
		switch {
		case imageTypes[mt]:
			return block{Type: "image", Source: sc.source(source{Type: "base64", MediaType: mt, Data: data})}, nil
		case mt == "application/pdf":
			return block{Type: "document", Source: sc.source(source{Type: "base64", MediaType: mt, Data: data})}, nil
		}
		return block{}, apierror.InvalidRequest(param(), "unsupported image media type %q (use image/jpeg, image/png, image/gif, image/webp or application/pdf)", mt)
	}
	lower := strings.ToLower(url)
	if strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		path := lower
		if i := strings.IndexAny(path, "?#"); i >= 0 {
			path = path[:i]
		}
		if strings.HasSuffix(path, ".pdf") {
			return block{Type: "document", Source: sc.source(source{Type: "url", URL: url})}, nil
		}
		return block{Type: "image", Source: sc.source(source{Type: "url", URL: url})}, nil
	}
	return block{}, apierror.InvalidRequest(param(), "image URL must be a data: URL or an http(s) URL")
}

// fileBlock maps file.file_data (a data URL, or bare base64 taken as PDF).
func fileBlock(data string, param func() string, sc *reqScratch) (block, *apierror.Error) {
	mt, b64 := "application/pdf", data
	if strings.HasPrefix(data, "data:") {
		var ok bool
		if mt, b64, ok = parseDataURL(data); !ok {
			return block{}, apierror.InvalidRequest(param(), "file_data must be a base64 data URL")
		}
	}
	switch {
	case mt == "application/pdf":
		return block{Type: "document", Source: sc.source(source{Type: "base64", MediaType: mt, Data: b64})}, nil
	case mt == "text/plain":
		text, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return block{}, apierror.InvalidRequest(param(), "file_data is not valid base64")
		}
		return block{Type: "document", Source: sc.source(source{Type: "text", MediaType: mt, Data: string(text)})}, nil
	case imageTypes[mt]:
		return block{Type: "image", Source: sc.source(source{Type: "base64", MediaType: mt, Data: b64})}, nil
	}
	return block{}, apierror.InvalidRequest(param(), "unsupported file media type %q (use application/pdf, text/plain or an image)", mt)
}

func parseDataURL(u string) (mediaType, data string, ok bool) {
	rest := strings.TrimPrefix(u, "data:")
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mediaType, enc, _ := strings.Cut(meta, ";")
	if !strings.EqualFold(enc, "base64") || data == "" {
		return "", "", false
	}
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	if mediaType == "image/jpg" { // a common misspelling of the registered type
		mediaType = "image/jpeg"
	}
	return mediaType, data, true
}

// toolResult maps a tool message. cache_control on a content part is lifted onto the block.
// Its content is encoded into sc.raw.
func toolResult(m *chatMessage, param func() string, sc *reqScratch) (block, *apierror.Error) {
	b := block{Type: "tool_result", ToolUseID: m.ToolCallID}
	parts, text, isString, err := contentParts(&m.Content, param)
	if err != nil {
		return b, err
	}
	if isString {
		if text != "" {
			start := len(sc.raw)
			sc.raw = jsonvalue.AppendStringNoHTML(sc.raw, text) // contents before keep the old array if it grows
			b.Content = sc.raw[start:len(sc.raw):len(sc.raw)]
		}
		return b, nil
	}
	blocks := sc.parts[:0]
	defer func() { sc.parts = blocks[:0] }()
	for j := range parts {
		p := &parts[j]
		if len(p.CacheControl) > 0 {
			b.CacheControl = p.CacheControl
		}
		var (
			nb   block
			keep bool
		)
		switch p.Type {
		case "text":
			nb, keep = textBlock(p.Text, nil)
		case "image_url":
			if p.ImageURL == nil {
				return b, apierror.InvalidRequest(fmt.Sprintf("%s[%d].image_url", param(), j), "image_url.url is required")
			}
			nb, err = imageBlock(p.ImageURL.URL, func() string { return fmt.Sprintf("%s[%d].image_url.url", param(), j) }, sc)
			if err != nil {
				return b, err
			}
			keep = true
		default:
			return b, apierror.InvalidRequest(fmt.Sprintf("%s[%d].type", param(), j), "tool message parts must be text or image_url, not %q", p.Type)
		}
		if keep {
			blocks = append(blocks, nb)
		}
	}
	if len(blocks) > 0 {
		start := len(sc.raw)
		sc.raw = appendBlocks(sc.raw, blocks)
		b.Content = sc.raw[start:len(sc.raw):len(sc.raw)]
	}
	return b, nil
}

// assistantBlocks maps an assistant message: signed thinking first, then text, then tool_use.
// They are appended to out; tool inputs are compacted into sc.raw.
func assistantBlocks(out []block, m *chatMessage, i int, sc *reqScratch) ([]block, *apierror.Error) {
	for _, tb := range m.ThinkingBlocks {
		switch {
		case tb.Type == "thinking" && tb.Signature != "":
			out = append(out, block{Type: "thinking", Thinking: tb.Thinking, Signature: tb.Signature})
		case tb.Type == "redacted_thinking" && tb.Data != "":
			out = append(out, block{Type: "redacted_thinking", Data: tb.Data})
		}
	}
	if len(m.ThinkingBlocks) == 0 && m.ReasoningContent != "" && m.ReasoningSignature != "" {
		out = append(out, block{Type: "thinking", Thinking: m.ReasoningContent, Signature: m.ReasoningSignature})
	}
	param := contentPath(i)
	parts, text, isString, err := contentParts(&m.Content, param)
	if err != nil {
		return out, err
	}
	if isString {
		if b, ok := textBlock(text, nil); ok {
			out = append(out, b)
		}
	}
	for j, p := range parts {
		var s string
		switch p.Type {
		case "text":
			s = p.Text
		case "refusal":
			s = p.Refusal
		default:
			return out, apierror.InvalidRequest(fmt.Sprintf("%s[%d].type", param(), j), "assistant content parts must be text or refusal, not %q", p.Type)
		}
		if b, ok := textBlock(s, p.CacheControl); ok {
			out = append(out, b)
		}
	}
	if m.Refusal != nil {
		if b, ok := textBlock(*m.Refusal, nil); ok {
			out = append(out, b)
		}
	}
	for j := range m.ToolCalls {
		tc := &m.ToolCalls[j]
		tparam := func() string { return fmt.Sprintf("messages[%d].tool_calls[%d]", i, j) }
		if tc.ID == "" {
			return out, apierror.InvalidRequest(tparam()+".id", "tool call id is required")
		}
		if tc.Type != "" && tc.Type != "function" {
			return out, apierror.InvalidRequest(tparam()+".type", "tool call type %q is not supported", tc.Type)
		}
		if tc.Function.Name == "" {
			return out, apierror.InvalidRequest(tparam()+".function.name", "tool call function name is required")
		}
		input, ok := toolInputIn(tc.Function.Arguments, sc)
		if !ok {
			return out, apierror.InvalidRequest(tparam()+".function.arguments", "tool call arguments of message %d, tool call %d must be a JSON object", i, j)
		}
		out = append(out, block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	return out, nil
}

// mergeAssistant appends the blocks of a second consecutive assistant message to a turn,
// keeping its thinking blocks with the turn's leading thinking blocks: Anthropic requires
// replayed thinking to come first in the turn.
func mergeAssistant(turn, blocks []block) []block {
	k := leadingThinking(blocks)
	if k == 0 {
		return append(turn, blocks...)
	}
	at := leadingThinking(turn)
	out := make([]block, 0, len(turn)+len(blocks))
	out = append(out, turn[:at]...)
	out = append(out, blocks[:k]...)
	out = append(out, turn[at:]...)
	return append(out, blocks[k:]...)
}

func leadingThinking(blocks []block) int {
	n := 0
	for n < len(blocks) && (blocks[n].Type == "thinking" || blocks[n].Type == "redacted_thinking") {
		n++
	}
	return n
}

// toolInput turns function.arguments into tool_use.input: "" is {}, an object is kept raw
// (key order preserved, whitespace removed), anything else is rejected.
func toolInput(args string) (json.RawMessage, bool) {
	return toolInputIn(args, nil)
}

// toolInputIn is toolInput compacting into sc.raw (when sc is not nil).
func toolInputIn(args string, rs *reqScratch) (json.RawMessage, bool) {
	s := strings.TrimSpace(args)
	if s == "" {
		return json.RawMessage(`{}`), true
	}
	if s[0] != '{' {
		return nil, false
	}
	if sc := newScanner([]byte(s)); fastJSON && sc.Skip(0) && sc.End() {
		if rs == nil {
			return appendCompactValid(make([]byte, 0, len(s)), sc.B), true
		}
		start := len(rs.raw)
		rs.raw = appendCompactValid(rs.raw, sc.B) // inputs before keep the old array if it grows
		return rs.raw[start:len(rs.raw):len(rs.raw)], true
	}
	var buf bytes.Buffer
	buf.Grow(len(s))
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}
