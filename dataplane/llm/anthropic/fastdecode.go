package anthropic

import (
	"encoding/json"

	"github.com/infergw/gwctl/dataplane/llm/chat"
	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
	"github.com/infergw/gwctl/pkg/fastpath"
)

// Hand-written decoders for the two bodies of the non-streaming hot path: the OpenAI
// request and the Anthropic Message. They fill the same structs as encoding/json would and
// give up (returning false) on anything unusual; decodeRequest and decodeMessage then
// decode with encoding/json, so accepted inputs, results and error messages are identical.
// TestFastDecodeMatchesEncodingJSON and FuzzFastDecode check the equivalence.

// fastJSON is false under GWCTL_NOFAST=anthropic: the bodies are then decoded, the upstream
// body encoded, tool inputs compacted and every stream event read by encoding/json.
var fastJSON = fastpath.Enabled(fastpath.Anthropic)

// decodeRequest decodes an OpenAI chat completion request body. A body with duplicate or
// case-colliding keys, or a case variant of a member name, is refused first with a
// *jsonstrict.Error (chatRequestKeys), so neither decoder reads a value the upstream would not; a
// body encoding/json accepts but the strict reader does not (invalid UTF-8, a lone surrogate
// escape, deep nesting) is decoded and then refused with the strict reader's error.
func decodeRequest(body []byte, in *chatRequest) error {
	return decodeRequestIn(body, in, nil)
}

// decodeRequestIn is decodeRequest with the decoded values' memory taken from sc (when not nil).
func decodeRequestIn(body []byte, in *chatRequest, sc *reqScratch) error {
	serr := chatRequestKeys.Read(body, nil)
	if isKeyError(serr) {
		return serr
	}
	if fastJSON && serr == nil {
		// The strict read passed: every literal is valid, so the scanner finds string ends
		// without validating them a second time (Checked).
		var s *scanner
		if sc != nil {
			sc.scan = scanner{Scanner: jsonscan.Scanner{B: body, Checked: true}, sc: sc}
			s = &sc.scan
		} else {
			s = &scanner{Scanner: jsonscan.Scanner{B: body, Checked: true}}
		}
		if s.Peek() == '{' && s.chatRequest(in) && s.End() {
			return nil
		}
	}
	*in = chatRequest{}
	if err := json.Unmarshal(body, in); err != nil {
		return err
	}
	return serr
}

// field decodes one member's value with read into *dst. A repeated member gives up (the
// strict read refuses it; encoding/json would keep the last), and null leaves *dst as it is, as
// encoding/json does.
func field[T any](s *scanner, seen *fields, bit uint, dst *T, read func(*jsonscan.Scanner) (T, bool)) bool {
	if !seen.First(bit) {
		return false
	}
	if s.Null() {
		return true
	}
	v, ok := read(&s.Scanner)
	*dst = v
	return ok
}

// ptrField is field for a pointer member: a value (null aside) is stored behind a new pointer,
// or one from pool when not nil.
func ptrField[T any](s *scanner, seen *fields, bit uint, dst **T, pool *[]T, read func(*jsonscan.Scanner) (T, bool)) bool {
	if pool == nil {
		return field(s, seen, bit, dst, func(s *jsonscan.Scanner) (*T, bool) {
			v, ok := read(s)
			return &v, ok
		})
	}
	if !seen.First(bit) {
		return false
	}
	if s.Null() {
		return true
	}
	v, ok := read(&s.Scanner)
	p := scratch.New(pool)
	*p, *dst = v, p
	return ok
}

func (s *scanner) strField(seen *fields, bit uint, dst *string) bool {
	return field(s, seen, bit, dst, (*jsonscan.Scanner).Str)
}

// argsField decodes a tool call's arguments: JSON text in a string, so always escaped, whose
// only use is to be compacted into the upstream body (toolInputIn). With a scratch it is
// unquoted into the scratch's raw buffer rather than a new string, so it must not outlive the
// request translation.
func (s *scanner) argsField(seen *fields, bit uint, dst *string) bool {
	if s.sc == nil {
		return s.strField(seen, bit, dst)
	}
	if !seen.First(bit) {
		return false
	}
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

func (s *scanner) strPtrField(seen *fields, bit uint, dst **string) bool {
	return ptrField(s, seen, bit, dst, pool(s.sc, func(sc *reqScratch) *[]string { return &sc.strs }), (*jsonscan.Scanner).Str)
}

func (s *scanner) int64Ptr(seen *fields, bit uint, dst **int64) bool {
	p := pool(s.sc, func(sc *reqScratch) *[]int64 { return &sc.int64s })
	if s.rs != nil {
		p = &s.rs.int64s
	}
	return ptrField(s, seen, bit, dst, p, (*jsonscan.Scanner).Int64)
}

func (s *scanner) int64Field(seen *fields, bit uint, dst *int64) bool {
	return field(s, seen, bit, dst, (*jsonscan.Scanner).Int64)
}

func (s *scanner) float64Ptr(seen *fields, bit uint, dst **float64) bool {
	return ptrField(s, seen, bit, dst, pool(s.sc, func(sc *reqScratch) *[]float64 { return &sc.float64s }), (*jsonscan.Scanner).Float64)
}

func (s *scanner) boolPtr(seen *fields, bit uint, dst **bool) bool {
	return ptrField(s, seen, bit, dst, pool(s.sc, func(sc *reqScratch) *[]bool { return &sc.bools }), (*jsonscan.Scanner).Bool)
}

func (s *scanner) boolField(seen *fields, bit uint, dst *bool) bool {
	return field(s, seen, bit, dst, (*jsonscan.Scanner).Bool)
}

// rawField keeps null as the literal, as json.RawMessage does.
func (s *scanner) rawField(seen *fields, bit uint, dst *json.RawMessage) bool {
	if !seen.First(bit) {
		return false
	}
	v, ok := s.Raw()
	*dst = v
	return ok
}

// objectPtr decodes an object member into a new *T, key by key with member (inner tracks the
// object's own keys); null sets *dst to nil, as encoding/json does.
func objectPtr[T any](s *scanner, seen *fields, bit uint, dst **T, pool *[]T, member func(v *T, inner *fields, key string) bool) bool {
	if !seen.First(bit) {
		return false
	}
	if s.Null() {
		*dst = nil
		return true
	}
	if pool != nil {
		v, inner := scratch.New(pool), scratch.New(&s.sc.fieldsets)
		*dst = v
		return s.Object(func(key string) bool { return member(v, inner, key) })
	}
	// The object's key set shares the value's allocation: a fields of its own, passed to
	// member, would escape to the heap.
	b := new(struct {
		v     T
		inner fields
	})
	*dst = &b.v
	return s.Object(func(key string) bool { return member(&b.v, &b.inner, key) })
}

// objects decodes an array of objects into *dst with dec; a null element is a zero value. The
// elements are appended to *pool (a scratch's; its next piece) when pool is not nil.
func objects[T any](s *scanner, seen *fields, bit uint, dst *[]T, pool *[]T, dec func(*scanner, *T) bool) bool {
	if !seen.First(bit) {
		return false
	}
	if s.Null() {
		return true
	}
	if pool != nil {
		start := len(*pool)
		ok := s.Array(func() bool {
			*pool = append(*pool, *new(T)) // elements decoded before stay in the old array
			if s.Null() {
				return true
			}
			return s.Peek() == '{' && dec(s, &(*pool)[len(*pool)-1])
		})
		if p := *pool; len(p) > start {
			*dst = p[start:len(p):len(p)]
		} else {
			*dst = []T{} // empty, not nil; no allocation
		}
		return ok
	}
	list := make([]T, 0, 4)
	ok := s.Array(func() bool {
		list = append(list, *new(T))
		if s.Null() {
			return true
		}
		return s.Peek() == '{' && dec(s, &list[len(list)-1])
	})
	*dst = list
	return ok
}

func (s *scanner) chatRequest(in *chatRequest) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "model":
			return s.strField(&seen, 0, &in.Model)
		case "messages":
			return objects(s, &seen, 1, &in.Messages, pool(s.sc, func(sc *reqScratch) *[]chatMessage { return &sc.messages }), (*scanner).chatMessage)
		case "max_completion_tokens":
			return s.int64Ptr(&seen, 2, &in.MaxCompletionTokens)
		case "max_tokens":
			return s.int64Ptr(&seen, 3, &in.MaxTokens)
		case "temperature":
			return s.float64Ptr(&seen, 4, &in.Temperature)
		case "top_p":
			return s.float64Ptr(&seen, 5, &in.TopP)
		case "stop":
			return s.rawField(&seen, 6, &in.Stop)
		case "n":
			return s.int64Ptr(&seen, 7, &in.N)
		case "stream":
			return s.boolField(&seen, 8, &in.Stream)
		case "stream_options":
			return objectPtr(s, &seen, 9, &in.StreamOptions, nil, func(o *chat.StreamOptions, inner *fields, key string) bool {
				if key == "include_usage" {
					return s.boolField(inner, 0, &o.IncludeUsage)
				}
				return s.Unknown(key)
			})
		case "tools":
			return objects(s, &seen, 10, &in.Tools, pool(s.sc, func(sc *reqScratch) *[]chatTool { return &sc.tools }), (*scanner).chatTool)
		case "tool_choice":
			return s.rawField(&seen, 11, &in.ToolChoice)
		case "parallel_tool_calls":
			return s.boolPtr(&seen, 12, &in.ParallelToolCalls)
		case "response_format":
			// Rare and nested: decoded by encoding/json.
			return false
		case "reasoning_effort":
			return s.strField(&seen, 13, &in.ReasoningEffort)
		case "user":
			return s.strField(&seen, 14, &in.User)
		case "safety_identifier":
			return s.strField(&seen, 15, &in.SafetyIdentifier)
		case "logprobs":
			return s.boolPtr(&seen, 16, &in.Logprobs)
		case "top_logprobs":
			return s.int64Ptr(&seen, 17, &in.TopLogprobs)
		case "thinking":
			return s.rawField(&seen, 18, &in.Thinking)
		case "web_search_options":
			return s.webSearchOptions(&seen, 19, &in.WebSearchOptions)
		}
		return s.Unknown(key)
	})
}

func (s *scanner) webSearchOptions(seen *fields, bit uint, dst **webSearchOptions) bool {
	return objectPtr(s, seen, bit, dst, nil, func(o *webSearchOptions, inner *fields, key string) bool {
		switch key {
		case "search_context_size":
			return s.strField(inner, 0, &o.SearchContextSize)
		case "user_location":
			if !inner.First(1) {
				return false
			}
			if s.Null() {
				return true
			}
			o.UserLocation = &webSearchLocation{}
			return s.userLocation(o.UserLocation)
		}
		return s.Unknown(key)
	})
}

func (s *scanner) userLocation(l *webSearchLocation) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.strField(&seen, 0, &l.Type)
		case "approximate":
			return objectPtr(s, &seen, 1, &l.Approximate, nil, func(a *approximateLocation, inner *fields, key string) bool {
				switch key {
				case "city":
					return s.strField(inner, 0, &a.City)
				case "country":
					return s.strField(inner, 1, &a.Country)
				case "region":
					return s.strField(inner, 2, &a.Region)
				case "timezone":
					return s.strField(inner, 3, &a.Timezone)
				}
				return s.Unknown(key)
			})
		}
		return s.Unknown(key)
	})
}

func (s *scanner) chatMessage(m *chatMessage) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "role":
			return s.strField(&seen, 0, &m.Role)
		case "content":
			return seen.First(1) && s.chatContent(&m.Content)
		case "tool_calls":
			return objects(s, &seen, 2, &m.ToolCalls, pool(s.sc, func(sc *reqScratch) *[]chatToolCall { return &sc.toolCalls }), (*scanner).chatToolCall)
		case "tool_call_id":
			return s.strField(&seen, 3, &m.ToolCallID)
		case "refusal":
			return s.strPtrField(&seen, 4, &m.Refusal)
		case "thinking_blocks":
			return objects(s, &seen, 5, &m.ThinkingBlocks, pool(s.sc, func(sc *reqScratch) *[]thinkingBlock { return &sc.thinking }), (*scanner).thinkingBlock)
		case "reasoning_content":
			return s.strField(&seen, 6, &m.ReasoningContent)
		case "reasoning_signature":
			return s.strField(&seen, 7, &m.ReasoningSignature)
		}
		return s.Unknown(key)
	})
}

// chatContent mirrors chatContent.UnmarshalJSON.
func (s *scanner) chatContent(c *chatContent) bool {
	*c = chatContent{}
	switch s.Peek() {
	case 'n':
		return s.Literal("null")
	case '"':
		lit, plain, ok := s.StringLit()
		if !ok {
			return false
		}
		c.IsString = true
		if plain {
			c.Text = jsonscan.AliasString(lit[1 : len(lit)-1])
			return true
		}
		if c.Text, ok = jsonscan.Unquote(lit); !ok {
			c.Invalid = json.Unmarshal(lit, &c.Text) != nil
		}
		return true
	case '[':
		start := s.I
		var parts []chatPart
		var seen fields
		if objects(s, &seen, 0, &parts, pool(s.sc, func(sc *reqScratch) *[]chatPart { return &sc.chatParts }), (*scanner).chatPart) {
			c.Parts = parts
			return true
		}
		// Not a plain array of parts: validate it, then let encoding/json decide.
		s.I = start
		if !s.Skip(0) {
			return false
		}
		c.Invalid = json.Unmarshal(s.B[start:s.I], &c.Parts) != nil
		return true
	}
	c.Invalid = true
	return s.Skip(0)
}

func (s *scanner) chatPart(p *chatPart) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.strField(&seen, 0, &p.Type)
		case "text":
			return s.strField(&seen, 1, &p.Text)
		case "refusal":
			return s.strField(&seen, 2, &p.Refusal)
		case "image_url":
			return objectPtr(s, &seen, 3, &p.ImageURL, pool(s.sc, func(sc *reqScratch) *[]chat.ImageURL { return &sc.imageURLs }), func(u *chat.ImageURL, inner *fields, key string) bool {
				if key == "url" {
					return s.strField(inner, 0, &u.URL)
				}
				return s.Unknown(key)
			})
		case "file":
			return objectPtr(s, &seen, 4, &p.File, pool(s.sc, func(sc *reqScratch) *[]chat.File { return &sc.files }), func(f *chat.File, inner *fields, key string) bool {
				switch key {
				case "file_data":
					return s.strField(inner, 0, &f.FileData)
				case "file_id":
					return s.strField(inner, 1, &f.FileID)
				case "filename":
					return s.strField(inner, 2, &f.Filename)
				}
				return s.Unknown(key)
			})
		case "cache_control":
			return s.rawField(&seen, 5, &p.CacheControl)
		}
		return s.Unknown(key)
	})
}

func (s *scanner) chatToolCall(tc *chatToolCall) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "id":
			return s.strField(&seen, 0, &tc.ID)
		case "type":
			return s.strField(&seen, 1, &tc.Type)
		case "function":
			if !seen.First(2) {
				return false
			}
			if s.Null() {
				return true
			}
			var inner fields
			return s.Object(func(key string) bool {
				switch key {
				case "name":
					return s.strField(&inner, 0, &tc.Function.Name)
				case "arguments":
					return s.argsField(&inner, 1, &tc.Function.Arguments)
				}
				return s.Unknown(key)
			})
		}
		return s.Unknown(key)
	})
}

func (s *scanner) thinkingBlock(tb *thinkingBlock) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.strField(&seen, 0, &tb.Type)
		case "thinking":
			return s.strField(&seen, 1, &tb.Thinking)
		case "signature":
			return s.strField(&seen, 2, &tb.Signature)
		case "data":
			return s.strField(&seen, 3, &tb.Data)
		}
		return s.Unknown(key)
	})
}

func (s *scanner) chatTool(t *chatTool) bool {
	var seen fields
	s.WS()
	start := s.I
	ok := s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.strField(&seen, 0, &t.Type)
		case "name":
			return s.strField(&seen, 3, &t.Name)
		case "function":
			return objectPtr(s, &seen, 1, &t.Function, pool(s.sc, func(sc *reqScratch) *[]chat.Function { return &sc.functions }), func(f *chat.Function, inner *fields, key string) bool {
				switch key {
				case "name":
					return s.strField(inner, 0, &f.Name)
				case "description":
					return s.strPtrField(inner, 1, &f.Description)
				case "parameters":
					return s.rawField(inner, 2, &f.Parameters)
				case "strict":
					return s.boolPtr(inner, 3, &f.Strict)
				}
				return s.Unknown(key)
			})
		case "cache_control":
			return s.rawField(&seen, 2, &t.CacheControl)
		}
		return s.Unknown(key)
	})
	if ok && t.Type != "function" && t.Type != "" {
		t.Raw = append(json.RawMessage(nil), s.B[start:s.I]...) // as chatTool.UnmarshalJSON
	}
	return ok
}

// scanner is jsonscan's reader with the decoders of the types this package reads.
type scanner struct {
	jsonscan.Scanner
	sc *reqScratch   // where a request's values go; nil: allocated as they are read
	rs *replyScratch // where a reply's go; nil: allocated as they are read
}

func newScanner(b []byte) scanner { return scanner{Scanner: jsonscan.Scanner{B: b}} }

type fields = jsonscan.Fields
