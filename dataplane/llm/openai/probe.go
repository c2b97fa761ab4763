package openai

import (
	"encoding/json"
	"strings"

	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
)

// decode reads a chunk or completion into p as json.Unmarshal does: by jsonscan when the
// fast path is on and the input is in the shape it handles (an object, plain keys, no
// duplicates), otherwise, and always for an error, by encoding/json.
func (p *responseProbe) decode(data []byte) error {
	if probeKeys {
		var q responseProbe
		s := jsonscan.Scanner{B: data}
		if q.scan(&s) && s.End() {
			*p = q
			return nil
		}
	}
	return json.Unmarshal(data, p)
}

func (p *responseProbe) scan(s *jsonscan.Scanner) bool {
	var seen jsonscan.Fields
	return s.Object(func(key string) bool {
		switch key {
		case "id":
			return seen.First(0) && scanString(s, &p.ID)
		case "model":
			return seen.First(1) && scanString(s, &p.Model)
		case "choices":
			return seen.First(2) && p.scanChoices(s)
		case "usage":
			return seen.First(3) && p.scanUsage(s)
		case "error":
			var ok bool
			p.Error, ok = s.Raw()
			return seen.First(4) && ok
		}
		return s.Unknown(key)
	})
}

// scanString reads a string member; null leaves it as it is, as encoding/json does. The
// string is a copy: the Result keeps it, and the body is reused.
func scanString(s *jsonscan.Scanner, dst *string) bool {
	if s.Null() {
		return true
	}
	v, ok := s.Str()
	*dst = strings.Clone(v)
	return ok
}

func scanInt(s *jsonscan.Scanner, dst *int64) bool {
	if s.Null() {
		return true
	}
	v, ok := s.Int64()
	*dst = v
	return ok
}

func (p *responseProbe) scanChoices(s *jsonscan.Scanner) bool {
	if s.Null() {
		p.Choices = nil
		return true
	}
	p.Choices = make([]choiceProbe, 0, 1) // [] is an empty slice, not nil, as encoding/json makes it
	return s.Array(func() bool {
		p.Choices = append(p.Choices, choiceProbe{})
		c := &p.Choices[len(p.Choices)-1]
		if s.Null() {
			return true
		}
		var seen jsonscan.Fields
		return s.Object(func(key string) bool {
			if key != "finish_reason" {
				return s.Unknown(key)
			}
			if !seen.First(0) {
				return false
			}
			if s.Null() {
				return true
			}
			v, ok := s.Str()
			v = strings.Clone(v)
			c.FinishReason = &v
			return ok
		})
	})
}

func (p *responseProbe) scanUsage(s *jsonscan.Scanner) bool {
	if s.Null() {
		return true
	}
	u := &usageProbe{}
	p.Usage = u
	var seen jsonscan.Fields
	return s.Object(func(key string) bool {
		switch key {
		case "prompt_tokens":
			return seen.First(0) && scanInt(s, &u.PromptTokens)
		case "completion_tokens":
			return seen.First(1) && scanInt(s, &u.CompletionTokens)
		case "prompt_tokens_details":
			if !seen.First(2) {
				return false
			}
			if s.Null() {
				return true
			}
			d := &promptDetails{}
			u.PromptTokensDetails = d
			var seenD jsonscan.Fields
			return s.Object(func(key string) bool {
				switch key {
				case "cached_tokens":
					return seenD.First(0) && scanInt(s, &d.CachedTokens)
				case "cache_write_tokens":
					return seenD.First(1) && scanInt(s, &d.CacheWriteTokens)
				}
				return s.Unknown(key)
			})
		case "completion_tokens_details":
			if !seen.First(3) {
				return false
			}
			if s.Null() {
				return true
			}
			d := &completionDetails{}
			u.CompletionTokensDetails = d
			var seenD jsonscan.Fields
			return s.Object(func(key string) bool {
				if key != "reasoning_tokens" {
					return s.Unknown(key)
				}
				if !seenD.First(0) {
					return false
				}
				if s.Null() {
					return true
				}
				var n int64
				d.ReasoningTokens = &n
				return scanInt(s, &n)
			})
		}
		return s.Unknown(key)
	})
}
