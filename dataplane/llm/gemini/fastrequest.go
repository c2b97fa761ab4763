package gemini

import (
	"bytes"
	"encoding/json"

	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/dataplane/llm/chat"
	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
)

// The request side of the fast path: a chat completion request that passed the strict key
// check (chatRequestKeys: no duplicate or case-variant keys, valid UTF-8) is read with
// jsonstrict's lookups instead of encoding/json's reflection, which took about 60 % of the
// request translation. Anything encoding/json might read differently (a value of another type,
// a key with escapes, a number it would refuse) makes it give up, and encoding/json decodes the
// whole body: results and error messages never depend on the fast path.
// TestFastRequestMatchesEncodingJSON and FuzzDecodeRequest check it against encoding/json.

// decodeRequest decodes a chat completion request body; checked reports that chatRequestKeys
// accepted it (the fast path reads only such bodies).
func decodeRequest(body []byte, in *chatRequest, checked bool) error {
	if fastJSON && checked && fastChatRequest(jsonstrict.Lookup(body), in) {
		return nil
	}
	*in = chatRequest{}
	return json.Unmarshal(body, in)
}

func fastChatRequest(v jsonstrict.Value, in *chatRequest) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "model":
			return reqStr(val, &in.Model)
		case "messages":
			return slice(val, &in.Messages, fastChatMessage)
		case "max_completion_tokens":
			return numPtr(val, &in.MaxCompletionTokens)
		case "max_tokens":
			return numPtr(val, &in.MaxTokens)
		case "temperature":
			return floatPtr(val, &in.Temperature)
		case "top_p":
			return floatPtr(val, &in.TopP)
		case "stop":
			return raw(val, &in.Stop)
		case "n":
			return numPtr(val, &in.N)
		case "seed":
			return numPtr(val, &in.Seed)
		case "presence_penalty":
			return floatPtr(val, &in.PresencePenalty)
		case "frequency_penalty":
			return floatPtr(val, &in.FrequencyPenalty)
		case "stream":
			return boolean(val, &in.Stream)
		case "stream_options":
			if !present(val) {
				in.StreamOptions = nil
				return true
			}
			in.StreamOptions = &chat.StreamOptions{}
			return val.Members(func(k []byte, v jsonstrict.Value) bool {
				return plainKey(k) && (string(k) != "include_usage" || boolean(v, &in.StreamOptions.IncludeUsage))
			})
		case "tools":
			return slice(val, &in.Tools, fastChatTool)
		case "tool_choice":
			return raw(val, &in.ToolChoice)
		case "response_format":
			if !present(val) {
				in.ResponseFormat = nil
				return true
			}
			in.ResponseFormat = &chat.ResponseFormat{}
			return fastResponseFormat(val, in.ResponseFormat)
		case "reasoning_effort":
			return reqStr(val, &in.ReasoningEffort)
		}
		return plainKey(key)
	})
}

func fastChatMessage(v jsonstrict.Value, m *chatMessage) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "role":
			return reqStr(val, &m.Role)
		case "content":
			return raw(val, &m.Content)
		case "tool_calls":
			return slice(val, &m.ToolCalls, fastChatToolCall)
		case "tool_call_id":
			return reqStr(val, &m.ToolCallID)
		}
		return plainKey(key)
	})
}

func fastChatToolCall(v jsonstrict.Value, tc *chatToolCall) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "id":
			return reqStr(val, &tc.ID)
		case "type":
			return reqStr(val, &tc.Type)
		case "function":
			if !present(val) {
				return true // a struct, not a pointer: null leaves it as it is
			}
			return val.Members(func(k []byte, fv jsonstrict.Value) bool {
				switch string(k) {
				case "name":
					return reqStr(fv, &tc.Function.Name)
				case "arguments":
					return reqStr(fv, &tc.Function.Arguments)
				}
				return plainKey(k)
			})
		}
		return plainKey(key)
	})
}

func fastChatTool(v jsonstrict.Value, t *chatTool) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "type":
			return reqStr(val, &t.Type)
		case "function":
			if !present(val) {
				t.Function = nil
				return true
			}
			f := &chat.Function{}
			t.Function = f
			return val.Members(func(k []byte, fv jsonstrict.Value) bool {
				switch string(k) {
				case "name":
					return reqStr(fv, &f.Name)
				case "description":
					if !present(fv) {
						f.Description = nil
						return true
					}
					f.Description = new(string)
					return reqStr(fv, f.Description)
				case "parameters":
					return raw(fv, &f.Parameters)
				case "strict":
					if !present(fv) {
						f.Strict = nil
						return true
					}
					f.Strict = new(bool)
					return boolean(fv, f.Strict)
				}
				return plainKey(k)
			})
		}
		return plainKey(key)
	})
}

func fastResponseFormat(v jsonstrict.Value, rf *chat.ResponseFormat) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "type":
			return reqStr(val, &rf.Type)
		case "json_schema":
			if !present(val) {
				rf.JSONSchema = nil
				return true
			}
			js := &chat.JSONSchema{}
			rf.JSONSchema = js
			return val.Members(func(k []byte, sv jsonstrict.Value) bool {
				switch string(k) {
				case "name":
					return reqStr(sv, &js.Name)
				case "schema":
					return raw(sv, &js.Schema)
				}
				return plainKey(k)
			})
		}
		return plainKey(key)
	})
}

// fastContentParts decodes message content that is an array of parts; false when
// encoding/json must.
func fastContentParts(v jsonstrict.Value, out *[]chatPart) bool {
	return slice(v, out, fastChatPart)
}

func fastChatPart(v jsonstrict.Value, p *chatPart) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "type":
			return reqStr(val, &p.Type)
		case "text":
			return reqStr(val, &p.Text)
		case "refusal":
			return reqStr(val, &p.Refusal)
		case "image_url":
			if !present(val) {
				p.ImageURL = nil
				return true
			}
			p.ImageURL = &chat.ImageURL{}
			return val.Members(func(k []byte, iv jsonstrict.Value) bool {
				return plainKey(k) && (string(k) != "url" || reqStr(iv, &p.ImageURL.URL))
			})
		case "file":
			if !present(val) {
				p.File = nil
				return true
			}
			f := &chat.File{}
			p.File = f
			return val.Members(func(k []byte, fv jsonstrict.Value) bool {
				switch string(k) {
				case "file_data":
					return reqStr(fv, &f.FileData)
				case "file_id":
					return reqStr(fv, &f.FileID)
				case "filename":
					return reqStr(fv, &f.Filename)
				}
				return plainKey(k)
			})
		}
		return plainKey(key)
	})
}

// slice decodes an array of objects as encoding/json does into a nil slice: null leaves it
// nil, [] is an empty slice, a null element is the zero value.
func slice[T any](v jsonstrict.Value, dst *[]T, dec func(jsonstrict.Value, *T) bool) bool {
	if !present(v) {
		*dst = nil
		return true
	}
	if v.Kind() != jsonstrict.Array {
		return false
	}
	*dst = make([]T, 0, 4)
	return v.Each(func(e jsonstrict.Value) bool {
		*dst = append(*dst, *new(T))
		if e.Kind() == jsonstrict.Null {
			return true
		}
		return e.Kind() == jsonstrict.Object && dec(e, &(*dst)[len(*dst)-1])
	})
}

// raw keeps a value's bytes as json.RawMessage does (null included: RawMessage is an
// Unmarshaler, which encoding/json hands null to).
// reqStr is str for the client's request, whose strings alias the body when they have no
// escapes: the body is read whole for the request, never reused or modified, and checked as
// valid UTF-8 (chatRequestKeys). What outlives the request (the model label) is cloned.
func reqStr(v jsonstrict.Value, dst *string) bool {
	if !present(v) {
		return true
	}
	s, ok := aliasStr(v)
	*dst = s
	return ok
}

// aliasStr decodes a string value of a checked request body, aliasing it when it has no escapes.
func aliasStr(v jsonstrict.Value) (string, bool) {
	if len(v) >= 2 && v[0] == '"' && bytes.IndexByte(v, '\\') < 0 {
		return jsonscan.AliasString(v[1 : len(v)-1]), true
	}
	return v.Str()
}

func raw(v jsonstrict.Value, dst *json.RawMessage) bool {
	*dst = json.RawMessage(v)
	return true
}

func numPtr(v jsonstrict.Value, dst **int64) bool {
	if !present(v) {
		*dst = nil
		return true
	}
	*dst = new(int64)
	return num(v, *dst)
}

func floatPtr(v jsonstrict.Value, dst **float64) bool {
	if !present(v) {
		*dst = nil
		return true
	}
	f, ok := v.Float64()
	*dst = &f
	return ok
}
