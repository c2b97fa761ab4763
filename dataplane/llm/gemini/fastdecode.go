package gemini

import (
	"encoding/json"
	"strings"

	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
	"github.com/infergw/gwctl/pkg/fastpath"
)

// Every non-streamed reply and every stream event is a GenerateContentResponse. The fast path
// reads the fields the translation needs in one pass with jsonscan instead of encoding/json's
// reflection, and gives up on anything encoding/json might read differently: a duplicate key
// (encoding/json merges it), a key equal to a member name only under case folding (it decodes
// it into that member), a key with escapes, a value of another type, an error body.
// decodeResponse then decodes with encoding/json, so results are identical;
// TestFastDecodeMatchesEncodingJSON and FuzzDecodeResponse check it.

// fastJSON is false under GWCTL_NOFAST=gemini: every request, reply and event is then decoded
// by encoding/json.
var fastJSON = fastpath.Enabled(fastpath.Gemini)

// decodeResponse decodes a GenerateContentResponse (or a stream event) into r; its strings are
// copies (a stream event's data is the reader's buffer, reused for the next event).
func decodeResponse(data []byte, r *generateResponse) error {
	if fastJSON && fastResponse(data, r) {
		return nil
	}
	*r = generateResponse{}
	return json.Unmarshal(data, r)
}

// decodeReply is decodeResponse for a whole reply, read while data is valid: the fast path's
// strings and raw values alias data, its structs are rs's.
func decodeReply(data []byte, r *generateResponse, rs *replyScratch) error {
	if fastJSON && fastReply(data, r, true, rs) {
		return nil
	}
	*r = generateResponse{}
	return json.Unmarshal(data, r)
}

// The member names of each object the fast path reads, for unknown.
var (
	responseNames  = []string{"candidates", "promptFeedback", "usageMetadata", "modelVersion", "responseId", "error"}
	feedbackNames  = []string{"blockReason"}
	usageNames     = []string{"promptTokenCount", "candidatesTokenCount", "totalTokenCount", "cachedContentTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount"}
	candidateNames = []string{"content", "finishReason", "index"}
	contentNames   = []string{"parts"}
	partNames      = []string{"text", "thought", "thoughtSignature", "functionCall"}
	callNames      = []string{"id", "name", "args"}
)

// fastResponse fills r from data in one pass; false when encoding/json must decide. The reply's
// strings are copied: a stream event's data is the reader's buffer, reused for the next event.
func fastResponse(data []byte, r *generateResponse) bool {
	return fastReply(data, r, false, nil)
}

// fastReply is fastResponse with the reply's strings aliasing data when alias is set and its
// structs in rs when that is not nil.
func fastReply(data []byte, r *generateResponse, alias bool, rs *replyScratch) bool {
	s := scan{Scanner: jsonscan.Scanner{B: data}, alias: alias, rs: rs}
	if s.Peek() != '{' {
		return false
	}
	var seen jsonscan.Fields
	ok := s.Object(func(key string) bool {
		switch key {
		case "candidates":
			var pool *[]candidate
			if rs != nil {
				pool = &rs.candidates
			}
			return seen.First(0) && objects(&s, &r.Candidates, pool, 1, func(c *candidate) bool { return s.candidate(c) })
		case "modelVersion":
			return seen.First(1) && s.copyStr(&r.ModelVersion)
		case "responseId":
			return seen.First(2) && s.copyStr(&r.ResponseID)
		case "usageMetadata":
			if !seen.First(3) {
				return false
			}
			if r.UsageMetadata = nil; s.Null() {
				return true
			}
			if rs != nil {
				r.UsageMetadata = &rs.usage
			} else {
				r.UsageMetadata = &usageMetadata{}
			}
			return s.usage(r.UsageMetadata)
		case "promptFeedback":
			if !seen.First(4) {
				return false
			}
			if r.PromptFeedback = nil; s.Null() {
				return true
			}
			r.PromptFeedback = &struct {
				BlockReason string `json:"blockReason"`
			}{}
			var inner jsonscan.Fields
			return s.Object(func(k string) bool {
				if k == "blockReason" {
					return inner.First(0) && s.copyStr(&r.PromptFeedback.BlockReason)
				}
				return s.unknown(k, feedbackNames)
			})
		case "error":
			return false
		}
		return s.unknown(key, responseNames)
	})
	return ok && s.End()
}

func (s *scan) usage(u *usageMetadata) bool {
	var seen jsonscan.Fields
	return s.Object(func(key string) bool {
		switch key {
		case "promptTokenCount":
			return seen.First(0) && s.int64(&u.PromptTokenCount)
		case "candidatesTokenCount":
			return seen.First(1) && s.int64(&u.CandidatesTokenCount)
		case "totalTokenCount":
			return seen.First(2) && s.int64(&u.TotalTokenCount)
		case "cachedContentTokenCount":
			return seen.First(3) && s.int64(&u.CachedContentTokenCount)
		case "toolUsePromptTokenCount":
			return seen.First(4) && s.int64(&u.ToolUsePromptTokenCount)
		case "thoughtsTokenCount":
			return seen.First(5) && s.int64Ptr(&u.ThoughtsTokenCount)
		}
		return s.unknown(key, usageNames)
	})
}

func (s *scan) candidate(c *candidate) bool {
	var seen jsonscan.Fields
	return s.Object(func(key string) bool {
		switch key {
		case "finishReason":
			return seen.First(0) && s.copyStr(&c.FinishReason)
		case "index":
			return seen.First(1) && s.int64(&c.Index)
		case "content":
			if !seen.First(2) {
				return false
			}
			if c.Content = nil; s.Null() {
				return true
			}
			var pool *[]responsePart
			if s.rs != nil {
				c.Content, pool = scratch.New(&s.rs.contents), &s.rs.parts
			} else {
				c.Content = &candidateContent{}
			}
			var inner jsonscan.Fields
			return s.Object(func(k string) bool {
				if k == "parts" {
					return inner.First(0) && objects(s, &c.Content.Parts, pool, 1, func(p *responsePart) bool { return s.part(p) })
				}
				return s.unknown(k, contentNames)
			})
		}
		return s.unknown(key, candidateNames)
	})
}

func (s *scan) part(p *responsePart) bool {
	var seen jsonscan.Fields
	return s.Object(func(key string) bool {
		switch key {
		case "text":
			return seen.First(0) && s.copyStr(&p.Text)
		case "thought":
			return seen.First(1) && s.boolean(&p.Thought)
		case "thoughtSignature":
			return seen.First(2) && s.copyStr(&p.ThoughtSignature)
		case "functionCall":
			if !seen.First(3) {
				return false
			}
			if p.FunctionCall = nil; s.Null() {
				return true
			}
			var fc *responseCall
			if s.rs != nil {
				fc = scratch.New(&s.rs.calls)
			} else {
				fc = &responseCall{}
			}
			p.FunctionCall = fc
			var inner jsonscan.Fields
			return s.Object(func(k string) bool {
				switch k {
				case "id":
					return inner.First(0) && s.copyStr(&fc.ID)
				case "name":
					return inner.First(1) && s.copyStr(&fc.Name)
				case "args":
					if !inner.First(2) {
						return false
					}
					v, ok := s.Raw()
					if !s.alias {
						v = append(json.RawMessage(nil), v...)
					}
					fc.Args = v
					return ok
				}
				return s.unknown(k, callNames)
			})
		}
		return s.unknown(key, partNames)
	})
}

// unknown skips the value of a key the struct does not have. A key equal to one of names
// under case folding is one encoding/json would decode into that member, so the fast path
// gives up on it (keys reaching here are ASCII: jsonscan gives up on others).
func (s *scan) unknown(key string, names []string) bool {
	for _, n := range names {
		if len(n) == len(key) && strings.EqualFold(n, key) {
			return false
		}
	}
	return s.Skip(0)
}

// copyStr decodes a string of a reply into dst (null leaves it), aliasing the input only when
// s.alias allows it.
func (s *scan) copyStr(dst *string) bool {
	if s.Null() {
		return true
	}
	lit, plain, ok := s.StringLit()
	if !ok {
		return false
	}
	if plain {
		if s.alias {
			*dst = jsonscan.AliasString(lit[1 : len(lit)-1])
		} else {
			*dst = string(lit[1 : len(lit)-1])
		}
		return true
	}
	*dst, ok = jsonscan.Unquote(lit) // a new string
	return ok
}

func (s *scan) int64(dst *int64) bool {
	if s.Null() {
		return true
	}
	n, ok := s.Int64()
	*dst = n
	return ok
}
