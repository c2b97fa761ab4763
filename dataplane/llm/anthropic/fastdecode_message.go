package anthropic

import (
	"encoding/json"

	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
)

// The hand-written decoder of the Anthropic Message (non-streaming response); see fastdecode.go.

// decodeMessage decodes an Anthropic Message body.
func decodeMessage(body []byte, m *message) error {
	return decodeMessageIn(body, m, nil)
}

// decodeMessageIn is decodeMessage with the decoded values' memory taken from rs (when not nil).
func decodeMessageIn(body []byte, m *message, rs *replyScratch) error {
	if fastJSON {
		var s *scanner
		if rs != nil {
			rs.scan = scanner{Scanner: jsonscan.Scanner{B: body}, rs: rs}
			s = &rs.scan
		} else {
			s = &scanner{Scanner: jsonscan.Scanner{B: body}}
		}
		if s.Peek() == '{' && s.message(m) && s.End() {
			return nil
		}
	}
	*m = message{}
	return json.Unmarshal(body, m)
}

func (s *scanner) message(m *message) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "id":
			return s.strField(&seen, 0, &m.ID)
		case "model":
			return s.strField(&seen, 1, &m.Model)
		case "stop_reason":
			return s.strField(&seen, 2, &m.StopReason)
		case "content":
			return objects(s, &seen, 3, &m.Content, replyPool(s.rs, func(rs *replyScratch) *[]responseBlock { return &rs.blocks }), (*scanner).responseBlock)
		case "usage":
			if !seen.First(4) {
				return false
			}
			return s.Null() || s.usage(&m.Usage)
		}
		return s.Unknown(key)
	})
}

func (s *scanner) responseBlock(c *responseBlock) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.strField(&seen, 0, &c.Type)
		case "text":
			return s.strField(&seen, 1, &c.Text)
		case "id":
			return s.strField(&seen, 2, &c.ID)
		case "name":
			return s.strField(&seen, 3, &c.Name)
		case "input":
			return s.rawField(&seen, 4, &c.Input)
		case "thinking":
			return s.strField(&seen, 5, &c.Thinking)
		case "signature":
			return s.strField(&seen, 6, &c.Signature)
		case "data":
			return s.strField(&seen, 7, &c.Data)
		case "citations":
			return objects(s, &seen, 8, &c.Citations, replyPool(s.rs, func(rs *replyScratch) *[]citation { return &rs.citations }), (*scanner).citation)
		}
		return s.Unknown(key)
	})
}

func (s *scanner) citation(c *citation) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "type":
			return s.strField(&seen, 0, &c.Type)
		case "url":
			return s.strField(&seen, 1, &c.URL)
		case "title":
			return s.strField(&seen, 2, &c.Title)
		case "source":
			return s.strField(&seen, 3, &c.Source)
		}
		return s.Unknown(key)
	})
}

func (s *scanner) usage(u *usage) bool {
	var seen fields
	return s.Object(func(key string) bool {
		switch key {
		case "input_tokens":
			return s.int64Ptr(&seen, 0, &u.InputTokens)
		case "output_tokens":
			return s.int64Ptr(&seen, 1, &u.OutputTokens)
		case "cache_creation_input_tokens":
			return s.int64Ptr(&seen, 2, &u.CacheCreationInputTokens)
		case "cache_read_input_tokens":
			return s.int64Ptr(&seen, 3, &u.CacheReadInputTokens)
		case "service_tier":
			return s.strField(&seen, 4, &u.ServiceTier)
		case "cache_creation":
			if !seen.First(5) {
				return false
			}
			if s.Null() {
				u.CacheCreation = nil
				return true
			}
			u.CacheCreation = &struct {
				Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
				Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
			}{}
			cc := u.CacheCreation
			var inner fields
			return s.Object(func(key string) bool {
				switch key {
				case "ephemeral_5m_input_tokens":
					return s.int64Field(&inner, 0, &cc.Ephemeral5m)
				case "ephemeral_1h_input_tokens":
					return s.int64Field(&inner, 1, &cc.Ephemeral1h)
				}
				return s.Unknown(key)
			})
		case "output_tokens_details":
			if !seen.First(6) {
				return false
			}
			if s.Null() {
				return true
			}
			u.OutputTokensDetails = &struct {
				ThinkingTokens *int64 `json:"thinking_tokens"`
			}{}
			d := u.OutputTokensDetails
			var inner fields
			return s.Object(func(key string) bool {
				if key == "thinking_tokens" {
					return s.int64Ptr(&inner, 0, &d.ThinkingTokens)
				}
				return s.Unknown(key)
			})
		case "server_tool_use":
			if !seen.First(7) {
				return false
			}
			if s.Null() {
				return true
			}
			u.ServerToolUse = &struct {
				WebSearchRequests int64  `json:"web_search_requests"`
				WebFetchRequests  *int64 `json:"web_fetch_requests"`
			}{}
			st := u.ServerToolUse
			var inner fields
			return s.Object(func(key string) bool {
				switch key {
				case "web_search_requests":
					return s.int64Field(&inner, 0, &st.WebSearchRequests)
				case "web_fetch_requests":
					return s.int64Ptr(&inner, 1, &st.WebFetchRequests)
				}
				return s.Unknown(key)
			})
		}
		return s.Unknown(key)
	})
}
