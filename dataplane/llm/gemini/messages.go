package gemini

import (
	"bytes"
	"encoding/json"
	"path"
	"strconv"
	"strings"
	"unsafe"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// thoughtSeparator joins a tool call id and the Gemini thought signature of its functionCall
// part (LiteLLM's convention): Gemini 3 refuses a replayed function call without its
// signature, and an id is the one field every OpenAI client sends back unchanged.
const thoughtSeparator = "__thought__"

// messages maps OpenAI messages to Gemini contents: system and developer messages become
// systemInstruction, user → "user", assistant → "model" (tool calls as functionCall parts),
// tool results → functionResponse parts of a "user" turn, first in that turn. Consecutive turns
// of one role are merged.
func messages(in *chatRequest, out *generateRequest, sc *reqScratch) *apierror.Error {
	system := sc.system[:0]
	calls := sc.callNames // tool call id → function name, from the assistant turns so far
	// One turn per message at most, and a message's single part in one array: few allocations.
	out.Contents = scratch.Slice(&sc.contents, len(in.Messages))
	single := scratch.Slice(&sc.parts, len(in.Messages))[:len(in.Messages)]
	for i := range in.Messages {
		m := &in.Messages[i]
		p := msgPath(i)
		one := single[i : i+1 : i+1] // appending to it copies
		switch m.Role {
		case "system", "developer":
			parts, err := contentParts(m.Content, p, false, one, sc)
			if err != nil {
				return err
			}
			system = append(system, parts...)
		case "user":
			parts, err := contentParts(m.Content, p, true, one, sc)
			if err != nil {
				return err
			}
			out.Contents = appendTurn(out.Contents, "user", parts, sc)
		case "assistant":
			parts, err := contentParts(m.Content, p, false, one, sc)
			if err != nil {
				return err
			}
			for j := range m.ToolCalls {
				fc, err := functionCallPart(&m.ToolCalls[j], p, j, sc)
				if err != nil {
					return err
				}
				calls[m.ToolCalls[j].ID] = fc.FunctionCall.Name
				parts = append(growParts(sc, parts, 1), fc)
			}
			out.Contents = appendTurn(out.Contents, "model", parts, sc)
		case "tool":
			name, ok := calls[m.ToolCallID]
			if !ok {
				return apierror.InvalidRequest(p.String()+".tool_call_id", "tool_call_id does not match a tool call of an earlier assistant message")
			}
			resp, err := toolResponse(m.Content, p, sc)
			if err != nil {
				return err
			}
			fr := scratch.New(&sc.responses)
			*fr = functionResponse{Name: name, Response: resp}
			one[0] = part{FunctionResponse: fr}
			out.Contents = appendTurn(out.Contents, "user", one, sc)
		default:
			return apierror.InvalidRequest(p.String()+".role", "role %q is not supported (system, developer, user, assistant, tool)", truncateRunes(m.Role, 32))
		}
	}
	sc.system = system // its capacity, for the next request
	if len(system) > 0 {
		sc.sysTurn = content{Parts: system[:len(system):len(system)]}
		out.SystemInstruction = &sc.sysTurn
	}
	if len(out.Contents) == 0 {
		return apierror.InvalidRequest("messages", "messages must contain at least one user or assistant message with content")
	}
	return nil
}

// appendTurn adds parts as a turn of role, merged into the previous turn when it has the
// same role; function responses go before the other parts of a user turn, since Gemini
// expects them right after the model's function calls.
func appendTurn(contents []content, role string, parts []part, sc *reqScratch) []content {
	if len(parts) == 0 {
		return contents
	}
	if n := len(contents); n > 0 && contents[n-1].Role == role {
		last := &contents[n-1]
		if role == "user" && parts[0].FunctionResponse != nil {
			k := 0
			for k < len(last.Parts) && last.Parts[k].FunctionResponse != nil {
				k++
			}
			old := len(last.Parts)
			ps := growParts(sc, last.Parts, len(parts))[:old+len(parts)]
			copy(ps[k+len(parts):], ps[k:old])
			copy(ps[k:], parts)
			last.Parts = ps
			return contents
		}
		last.Parts = append(growParts(sc, last.Parts, len(parts)), parts...)
		return contents
	}
	return append(contents, content{Role: role, Parts: parts})
}

// growParts returns dst with room for n more parts: itself, or its copy in the scratch. Only
// a slice growParts made has room beyond its length (the others are capped), so appending
// there overwrites nothing.
func growParts(sc *reqScratch, dst []part, n int) []part {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	return append(scratch.Slice(&sc.parts, 2*len(dst)+n), dst...)
}

// contentParts maps message content (a string, an array of parts, or null) to Gemini parts;
// media parts are allowed only in user messages. Empty text is dropped. A string is returned in
// one, when given (a slice of length 1).
func contentParts(raw json.RawMessage, p msgPath, media bool, one []part, sc *reqScratch) ([]part, *apierror.Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		s, ok := "", false
		if fastJSON { // raw is part of a body chatRequestKeys accepted
			s, ok = aliasStr(raw)
		}
		if !ok {
			if s, ok = unmarshalString(raw); !ok {
				return nil, apierror.InvalidRequest(p.String()+".content", "content must be a string or an array of parts")
			}
		}
		if s == "" {
			return nil, nil
		}
		if one == nil {
			one = scratch.Slice(&sc.parts, 1)[:1]
		}
		one[0] = part{Text: s}
		return one, nil
	case '[':
	default:
		return nil, apierror.InvalidRequest(p.String()+".content", "content must be a string or an array of parts")
	}
	in := &sc.content // the scratch's: a local would move to the heap
	if !fastJSON || !fastContentPartsIn(raw, in, sc) {
		*in = nil // encoding/json would decode into what the fast path left
		if json.Unmarshal(raw, in) != nil {
			return nil, apierror.InvalidRequest(p.String()+".content", "content must be a string or an array of parts")
		}
	}
	out := scratch.Slice(&sc.parts, len(*in))
	for j := range *in {
		c := &(*in)[j]
		pp := func() string { return p.String() + ".content[" + strconv.Itoa(j) + "]" }
		switch {
		case c.Type == "text":
			if c.Text != "" {
				out = append(out, part{Text: c.Text})
			}
		case c.Type == "refusal" && !media:
			if c.Refusal != "" {
				out = append(out, part{Text: c.Refusal})
			}
		case c.Type == "image_url" && media:
			if c.ImageURL == nil {
				return nil, apierror.InvalidRequest(pp()+".image_url", "image_url part needs image_url.url")
			}
			mp, err := mediaPart(c.ImageURL.URL, func() string { return pp() + ".image_url.url" }, sc)
			if err != nil {
				return nil, err
			}
			out = append(out, mp)
		case c.Type == "file" && media:
			if c.File == nil || c.File.FileID != "" || c.File.FileData == "" {
				return nil, apierror.InvalidRequest(pp()+".file", "file parts need file_data (OpenAI file ids cannot be resolved by the Gemini backend)")
			}
			data := c.File.FileData
			if !strings.HasPrefix(data, "data:") {
				mt := mimeByExtension(c.File.Filename)
				if mt == "" {
					return nil, apierror.InvalidRequest(pp()+".file.file_data", "file_data needs a data: URL or a filename with a known extension")
				}
				data = "data:" + mt + ";base64," + data
			}
			mp, err := mediaPart(data, func() string { return pp() + ".file.file_data" }, sc)
			if err != nil {
				return nil, err
			}
			out = append(out, mp)
		default:
			where := "user"
			if !media {
				where = "system and assistant"
			}
			return nil, apierror.InvalidRequest(pp()+".type", "content part type %q is not supported in %s messages by the Gemini backend", truncateRunes(c.Type, 32), where)
		}
	}
	return out, nil
}

// mediaPart maps an image or file URL: a base64 data: URL becomes inlineData, an http(s) URL
// fileData (the gateway never downloads it; Gemini fetches it or refuses it).
func mediaPart(u string, p func() string, sc *reqScratch) (part, *apierror.Error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || !validMediaType(mt) || data == "" {
			return part{}, apierror.InvalidRequest(p(), "a data: URL must be data:<type>/<subtype>;base64,<data>")
		}
		b := scratch.New(&sc.blobs)
		*b = blob{MIMEType: mt, Data: data}
		return part{InlineData: b}, nil
	}
	if lower := strings.ToLower(u); strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		f := scratch.New(&sc.fileDatas)
		*f = fileData{FileURI: u, MIMEType: mimeByExtension(u)}
		return part{FileData: f}, nil
	}
	return part{}, apierror.InvalidRequest(p(), "an image or file must be a data: URL or an http(s) URL")
}

func validMediaType(mt string) bool {
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && typ != "" && sub != "" && !strings.ContainsAny(mt, " ;,\"\\") && len(mt) <= 127
}

// mimeByExtension guesses the media type of a URL or file name Gemini accepts as fileData;
// "" when unknown (Gemini then decides).
func mimeByExtension(name string) string {
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".webp":
		return "image/webp"
	case ".gif":
		return "image/gif"
	case ".heic":
		return "image/heic"
	case ".heif":
		return "image/heif"
	case ".pdf":
		return "application/pdf"
	}
	return ""
}

// functionCallPart maps an assistant tool call; its arguments must be a JSON object ("" is {}).
func functionCallPart(tc *chatToolCall, m msgPath, j int, sc *reqScratch) (part, *apierror.Error) {
	p := func() string { return m.String() + ".tool_calls[" + strconv.Itoa(j) + "]" }
	if tc.ID == "" {
		return part{}, apierror.InvalidRequest(p()+".id", "a tool call needs an id")
	}
	if tc.Function.Name == "" {
		return part{}, apierror.InvalidRequest(p()+".function.name", "a tool call needs a function name")
	}
	args := json.RawMessage(aliasBytes(strings.TrimSpace(tc.Function.Arguments))) // only read
	if len(args) == 0 {
		args = json.RawMessage("{}")
	} else if args[0] != '{' || !json.Valid(args) {
		return part{}, apierror.InvalidRequest(p()+".function.arguments", "tool call arguments must be a JSON object")
	}
	call := scratch.New(&sc.calls)
	*call = functionCall{Name: tc.Function.Name, Args: args}
	fc := part{FunctionCall: call}
	if _, sig, ok := strings.Cut(tc.ID, thoughtSeparator); ok && isBase64(sig) {
		fc.ThoughtSignature = sig
	}
	return fc, nil
}

// toolResponse is a tool message's content as a functionResponse.response: a JSON object
// result as it is, any other text as {"output": text} (Google's documented key).
func toolResponse(raw json.RawMessage, p msgPath, sc *reqScratch) (json.RawMessage, *apierror.Error) {
	parts, err := contentParts(raw, p, false, nil, sc)
	if err != nil {
		return nil, err
	}
	text := ""
	if len(parts) == 1 {
		text = parts[0].Text
	} else {
		var sb strings.Builder
		for _, pt := range parts {
			sb.WriteString(pt.Text)
		}
		text = sb.String()
	}
	s := strings.TrimSpace(text)
	if strings.HasPrefix(s, "{") && json.Valid([]byte(s)) {
		return json.RawMessage(s), nil
	}
	// {"output": text} as json.Marshal writes it (HTML escapes on), in the scratch: earlier
	// ones keep the old array if it grows.
	start := len(sc.raw)
	b := append(sc.raw, `{"output":`...)
	b = jsonvalue.AppendString(b, text)
	sc.raw = append(b, '}')
	return sc.raw[start:len(sc.raw):len(sc.raw)], nil
}

// unmarshalString is encoding/json's reading of a string literal, apart so that its result
// does not move the fast path's string to the heap.
func unmarshalString(raw []byte) (string, bool) {
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// msgPath is messages[i] in an error's param, built only when an error names it.
type msgPath int

func (m msgPath) String() string { return "messages[" + strconv.Itoa(int(m)) + "]" }

// aliasBytes returns s's bytes without copying; they must only be read.
func aliasBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func isBase64(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
