package gemini

import (
	"bytes"
	"encoding/json"

	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/pkg/fastpath"
)

// Every non-streamed reply and every stream event is a GenerateContentResponse. The fast path
// reads the fields the translation needs with jsonstrict (one strict pass, then lookups by
// exact key) instead of encoding/json's reflection, and gives up on anything encoding/json
// might read differently: a duplicate or case-variant key (refused by responseKeys), a value
// of another type, an error body. decodeResponse then decodes with encoding/json, so results
// are identical; TestFastDecodeMatchesEncodingJSON and FuzzDecodeResponse check it.

// fastJSON is false under GWCTL_NOFAST=gemini: every reply and event is then decoded by
// encoding/json.
var fastJSON = fastpath.Enabled(fastpath.Gemini)

// responseKeys is every member name decodeResponse reads, from the type it decodes into.
var responseKeys = func() *jsonstrict.Schema {
	s := jsonstrict.NewSchema()
	s.Type(generateResponse{}, nil)
	return s
}()

// decodeResponse decodes a GenerateContentResponse (or a stream event) into r.
func decodeResponse(data []byte, r *generateResponse) error {
	if fastJSON && responseKeys.Read(data, nil) == nil && fastResponse(jsonstrict.Lookup(data), r) {
		return nil
	}
	*r = generateResponse{}
	return json.Unmarshal(data, r)
}

// fastResponse fills r from the checked document v in one pass; false when encoding/json must
// decide (an error body, a value of another type, a key with escapes).
func fastResponse(v jsonstrict.Value, r *generateResponse) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "candidates":
			if !present(val) {
				return true
			}
			r.Candidates = []candidate{} // encoding/json's empty, not nil, slice for []
			return val.Each(func(c jsonstrict.Value) bool {
				r.Candidates = append(r.Candidates, candidate{})
				return fastCandidate(c, &r.Candidates[len(r.Candidates)-1])
			})
		case "modelVersion":
			return str(val, &r.ModelVersion)
		case "responseId":
			return str(val, &r.ResponseID)
		case "usageMetadata":
			if !present(val) {
				return true
			}
			r.UsageMetadata = &usageMetadata{}
			return fastUsage(val, r.UsageMetadata)
		case "promptFeedback":
			if !present(val) {
				return true
			}
			r.PromptFeedback = &struct {
				BlockReason string `json:"blockReason"`
			}{}
			return val.Members(func(k []byte, v jsonstrict.Value) bool {
				return plainKey(k) && (string(k) != "blockReason" || str(v, &r.PromptFeedback.BlockReason))
			})
		case "error":
			return false
		}
		return plainKey(key)
	})
}

func fastUsage(v jsonstrict.Value, u *usageMetadata) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "promptTokenCount":
			return num(val, &u.PromptTokenCount)
		case "candidatesTokenCount":
			return num(val, &u.CandidatesTokenCount)
		case "totalTokenCount":
			return num(val, &u.TotalTokenCount)
		case "cachedContentTokenCount":
			return num(val, &u.CachedContentTokenCount)
		case "toolUsePromptTokenCount":
			return num(val, &u.ToolUsePromptTokenCount)
		case "thoughtsTokenCount":
			if !present(val) {
				u.ThoughtsTokenCount = nil
				return true
			}
			u.ThoughtsTokenCount = new(int64)
			return num(val, u.ThoughtsTokenCount)
		}
		return plainKey(key)
	})
}

func fastCandidate(v jsonstrict.Value, c *candidate) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "finishReason":
			return str(val, &c.FinishReason)
		case "index":
			return num(val, &c.Index)
		case "content":
			if !present(val) {
				c.Content = nil
				return true
			}
			c.Content = &struct {
				Parts []responsePart `json:"parts"`
			}{}
			return val.Members(func(k []byte, pv jsonstrict.Value) bool {
				if string(k) != "parts" {
					return plainKey(k)
				}
				if !present(pv) {
					return true
				}
				c.Content.Parts = []responsePart{}
				return pv.Each(func(e jsonstrict.Value) bool {
					c.Content.Parts = append(c.Content.Parts, responsePart{})
					return fastPart(e, &c.Content.Parts[len(c.Content.Parts)-1])
				})
			})
		}
		return plainKey(key)
	})
}

func fastPart(v jsonstrict.Value, p *responsePart) bool {
	return v.Members(func(key []byte, val jsonstrict.Value) bool {
		switch string(key) {
		case "text":
			return str(val, &p.Text)
		case "thought":
			return boolean(val, &p.Thought)
		case "thoughtSignature":
			return str(val, &p.ThoughtSignature)
		case "functionCall":
			if !present(val) {
				p.FunctionCall = nil
				return true
			}
			fc := &struct {
				ID   string          `json:"id"`
				Name string          `json:"name"`
				Args json.RawMessage `json:"args"`
			}{}
			p.FunctionCall = fc
			return val.Members(func(k []byte, v jsonstrict.Value) bool {
				switch string(k) {
				case "id":
					return str(v, &fc.ID)
				case "name":
					return str(v, &fc.Name)
				case "args":
					fc.Args = append(json.RawMessage(nil), v...)
					return true
				}
				return plainKey(k)
			})
		}
		return plainKey(key)
	})
}

// plainKey reports a key without escapes: one with escapes might be a member name in disguise
// ("\u0074ext"), which encoding/json would decode, so the fast path gives up on it.
func plainKey(k []byte) bool {
	return bytes.IndexByte(k, '\\') < 0
}

// present reports a member that encoding/json would decode (absent and null leave the zero value).
func present(v jsonstrict.Value) bool {
	k := v.Kind()
	return k != jsonstrict.Absent && k != jsonstrict.Null
}

func str(v jsonstrict.Value, dst *string) bool {
	if !present(v) {
		return true
	}
	s, ok := v.Str()
	*dst = s
	return ok
}

func boolean(v jsonstrict.Value, dst *bool) bool {
	if !present(v) {
		return true
	}
	b, ok := v.Bool()
	*dst = b
	return ok
}

func num(v jsonstrict.Value, dst *int64) bool {
	if !present(v) {
		return true
	}
	if v.Kind() != jsonstrict.Number {
		return false
	}
	n, err := v.Int64()
	*dst = n
	return err == nil
}
