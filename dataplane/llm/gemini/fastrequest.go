package gemini

import (
	"bytes"
	"encoding/json"

	"github.com/infergw/gwctl/dataplane/llm/chat"
	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
)

// The request side of the fast path: a chat completion request that passed the strict key
// check (chatRequestKeys: no duplicate or case-variant keys, valid UTF-8, paired surrogate
// escapes) is decoded in one pass with jsonscan instead of encoding/json's reflection. On such
// a body a key that is not a member name exactly cannot be one under encoding/json's folding
// either, so it is skipped. Anything encoding/json might read differently (a value of another
// type, a key with escapes, a number it would refuse) makes the fast path give up, and
// encoding/json decodes the whole body: results and error messages never depend on the fast
// path. TestFastRequestMatchesEncodingJSON and FuzzDecodeRequest check it against encoding/json.

// decodeRequest decodes a chat completion request body; checked reports that chatRequestKeys
// accepted it (the fast path reads only such bodies).
func decodeRequest(body []byte, in *chatRequest, checked bool) error {
	return decodeRequestIn(body, in, checked, newScratch())
}

// decodeRequestIn is decodeRequest with the decoded values' memory taken from sc.
func decodeRequestIn(body []byte, in *chatRequest, checked bool, sc *reqScratch) error {
	if fastJSON && checked && fastChatRequestIn(body, in, sc) {
		return nil
	}
	*in = chatRequest{}
	return json.Unmarshal(body, in)
}

// scan is jsonscan's reader with the members of the bodies the translation reads.
type scan struct {
	jsonscan.Scanner
	sc    *reqScratch   // where a request's values go; nil for replies (allocated as they are read)
	rs    *replyScratch // where a reply's structs go; nil: allocated as they are read
	alias bool          // a reply's strings may alias its body (copyStr)
}

// fastChatRequest decodes a checked request body into in; false when encoding/json must.
func fastChatRequest(body []byte, in *chatRequest) bool {
	return fastChatRequestIn(body, in, newScratch())
}

func fastChatRequestIn(body []byte, in *chatRequest, sc *reqScratch) bool {
	s := scan{Scanner: jsonscan.Scanner{B: body, Checked: true}, sc: sc}
	return s.Peek() == '{' && s.chatRequest(in) && s.End()
}

func (s *scan) chatRequest(in *chatRequest) bool {
	return s.Object(func(key string) bool {
		switch key {
		case "model":
			return s.str(&in.Model)
		case "messages":
			return objects(s, &in.Messages, &s.sc.messages, 4, func(v *chatMessage) bool { return s.chatMessage(v) })
		case "max_completion_tokens":
			return s.int64In(&in.MaxCompletionTokens)
		case "max_tokens":
			return s.int64In(&in.MaxTokens)
		case "temperature":
			return s.float64In(&in.Temperature)
		case "top_p":
			return s.float64In(&in.TopP)
		case "stop":
			return s.raw(&in.Stop)
		case "n":
			return s.int64In(&in.N)
		case "seed":
			return s.int64In(&in.Seed)
		case "presence_penalty":
			return s.float64In(&in.PresencePenalty)
		case "frequency_penalty":
			return s.float64In(&in.FrequencyPenalty)
		case "stream":
			return s.boolean(&in.Stream)
		case "stream_options":
			if in.StreamOptions = nil; s.Null() {
				return true
			}
			in.StreamOptions = &chat.StreamOptions{}
			return s.Object(func(k string) bool {
				if k == "include_usage" {
					return s.boolean(&in.StreamOptions.IncludeUsage)
				}
				return s.Skip(0)
			})
		case "tools":
			return objects(s, &in.Tools, &s.sc.tools, 4, func(v *chatTool) bool { return s.chatTool(v) })
		case "tool_choice":
			return s.raw(&in.ToolChoice)
		case "response_format":
			if in.ResponseFormat = nil; s.Null() {
				return true
			}
			in.ResponseFormat = &chat.ResponseFormat{}
			return s.responseFormat(in.ResponseFormat)
		case "reasoning_effort":
			return s.str(&in.ReasoningEffort)
		}
		return s.Skip(0)
	})
}

func (s *scan) chatMessage(m *chatMessage) bool {
	return s.Object(func(key string) bool {
		switch key {
		case "role":
			return s.str(&m.Role)
		case "content":
			return s.raw(&m.Content)
		case "tool_calls":
			return objects(s, &m.ToolCalls, &s.sc.toolCalls, 4, func(v *chatToolCall) bool { return s.chatToolCall(v) })
		case "tool_call_id":
			return s.str(&m.ToolCallID)
		}
		return s.Skip(0)
	})
}

func (s *scan) chatToolCall(tc *chatToolCall) bool {
	return s.Object(func(key string) bool {
		switch key {
		case "id":
			return s.str(&tc.ID)
		case "type":
			return s.str(&tc.Type)
		case "function":
			if s.Null() {
				return true // a struct, not a pointer: null leaves it as it is
			}
			return s.Object(func(k string) bool {
				switch k {
				case "name":
					return s.str(&tc.Function.Name)
				case "arguments":
					return s.rawStr(&tc.Function.Arguments)
				}
				return s.Skip(0)
			})
		}
		return s.Skip(0)
	})
}

func (s *scan) chatTool(t *chatTool) bool {
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.str(&t.Type)
		case "function":
			if t.Function = nil; s.Null() {
				return true
			}
			f := scratch.New(&s.sc.functions)
			t.Function = f
			return s.Object(func(k string) bool {
				switch k {
				case "name":
					return s.str(&f.Name)
				case "description":
					if f.Description = nil; s.Null() {
						return true
					}
					f.Description = scratch.New(&s.sc.strs)
					return s.str(f.Description)
				case "parameters":
					return s.raw(&f.Parameters)
				case "strict":
					if f.Strict = nil; s.Null() {
						return true
					}
					f.Strict = scratch.New(&s.sc.bools)
					return s.boolean(f.Strict)
				}
				return s.Skip(0)
			})
		}
		return s.Skip(0)
	})
}

func (s *scan) responseFormat(rf *chat.ResponseFormat) bool {
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.str(&rf.Type)
		case "json_schema":
			if rf.JSONSchema = nil; s.Null() {
				return true
			}
			js := &chat.JSONSchema{}
			rf.JSONSchema = js
			return s.Object(func(k string) bool {
				switch k {
				case "name":
					return s.str(&js.Name)
				case "schema":
					return s.raw(&js.Schema)
				}
				return s.Skip(0)
			})
		}
		return s.Skip(0)
	})
}

// fastContentParts decodes message content of a checked body that is an array of parts; false
// when encoding/json must.
func fastContentParts(raw []byte, out *[]chatPart) bool {
	return fastContentPartsIn(raw, out, newScratch())
}

func fastContentPartsIn(raw []byte, out *[]chatPart, sc *reqScratch) bool {
	s := scan{Scanner: jsonscan.Scanner{B: raw, Checked: true}, sc: sc}
	return objects(&s, out, &sc.chatParts, 4, func(v *chatPart) bool { return s.chatPart(v) }) && s.End()
}

func (s *scan) chatPart(p *chatPart) bool {
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.str(&p.Type)
		case "text":
			return s.str(&p.Text)
		case "refusal":
			return s.str(&p.Refusal)
		case "image_url":
			if p.ImageURL = nil; s.Null() {
				return true
			}
			p.ImageURL = scratch.New(&s.sc.imageURLs)
			return s.Object(func(k string) bool {
				if k == "url" {
					return s.str(&p.ImageURL.URL)
				}
				return s.Skip(0)
			})
		case "file":
			if p.File = nil; s.Null() {
				return true
			}
			f := scratch.New(&s.sc.files)
			p.File = f
			return s.Object(func(k string) bool {
				switch k {
				case "file_data":
					return s.str(&f.FileData)
				case "file_id":
					return s.str(&f.FileID)
				case "filename":
					return s.str(&f.Filename)
				}
				return s.Skip(0)
			})
		}
		return s.Skip(0)
	})
}

// objects decodes an array of objects as encoding/json does into a slice: null makes it nil,
// [] an empty slice, a null element the zero value. The elements are appended to *pool (a
// scratch's; its next piece) or, when pool is nil, to a new slice of capacity size.
func objects[T any](s *scan, dst *[]T, pool *[]T, size int, dec func(*T) bool) bool {
	if *dst = nil; s.Null() {
		return true
	}
	if pool != nil {
		start := len(*pool)
		ok := s.Array(func() bool {
			*pool = append(*pool, *new(T)) // elements decoded before stay in the old array
			if s.Null() {
				return true
			}
			return s.Peek() == '{' && dec(&(*pool)[len(*pool)-1])
		})
		if p := *pool; len(p) > start {
			*dst = p[start:len(p):len(p)]
		} else {
			*dst = []T{} // empty, not nil; no allocation
		}
		return ok
	}
	list := make([]T, 0, size)
	ok := s.Array(func() bool {
		list = append(list, *new(T))
		if s.Null() {
			return true
		}
		return s.Peek() == '{' && dec(&list[len(list)-1])
	})
	*dst = list
	return ok
}

// str decodes a string of a checked body into dst (null leaves it), aliasing the body when the
// string has no escapes: the body is read whole for the request, never reused or modified, and
// checked as valid UTF-8 (chatRequestKeys). What outlives the request (the model label) is
// cloned.
func (s *scan) str(dst *string) bool {
	if s.Null() {
		return true
	}
	v, ok := s.Str()
	*dst = v
	return ok
}

// rawStr decodes a tool call's arguments: a string that is JSON text, always escaped, whose
// only use is to be copied into the upstream body (functionCallPart). It is unquoted into the
// scratch rather than a new string each, so it must not outlive the request translation.
func (s *scan) rawStr(dst *string) bool {
	if s.Null() {
		return true
	}
	lit, plain, ok := s.StringLit()
	if !ok {
		return false
	}
	*dst = scratch.String(&s.sc.raw, lit, plain)
	return true
}

// aliasStr decodes a string literal of a checked body, aliasing it when it has no escapes.
func aliasStr(lit []byte) (string, bool) {
	if bytes.IndexByte(lit, '\\') < 0 {
		return jsonscan.AliasString(lit[1 : len(lit)-1]), true
	}
	return jsonscan.Unquote(lit)
}

// raw keeps a value's bytes as json.RawMessage does (null included: RawMessage is an
// Unmarshaler, which encoding/json hands null to).
func (s *scan) raw(dst *json.RawMessage) bool {
	v, ok := s.Raw()
	*dst = v
	return ok
}

func (s *scan) int64Ptr(dst **int64) bool {
	if *dst = nil; s.Null() {
		return true
	}
	*dst = new(int64)
	return s.int64(*dst)
}

// int64In and float64In decode a pointer member of a request into the scratch.
func (s *scan) int64In(dst **int64) bool {
	if *dst = nil; s.Null() {
		return true
	}
	*dst = scratch.New(&s.sc.int64s)
	return s.int64(*dst)
}

func (s *scan) float64In(dst **float64) bool {
	if *dst = nil; s.Null() {
		return true
	}
	f, ok := s.Float64()
	v := scratch.New(&s.sc.float64s)
	*v, *dst = f, v
	return ok
}

func (s *scan) boolean(dst *bool) bool {
	if s.Null() {
		return true
	}
	b, ok := s.Bool()
	*dst = b
	return ok
}
