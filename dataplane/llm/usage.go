package llm

import "strconv"

// Usage is the token usage of one response in Anthropic's disjoint terms: Input counts only
// uncached prompt tokens; CacheRead and CacheWrite are the other prompt tokens.
type Usage struct {
	Input      int64
	Output     int64
	CacheRead  int64
	CacheWrite int64

	// HasCacheSplit reports that Anthropic sent usage.cache_creation (the 5m/1h split).
	HasCacheSplit bool
	CacheWrite5m  int64
	CacheWrite1h  int64

	// HasReasoning reports that the upstream counted reasoning tokens (already inside Output).
	HasReasoning bool
	Reasoning    int64

	// HasWebSearch reports that usage.server_tool_use was present (WebSearch counts its
	// web_search_requests); HasWebFetch that it also had web_fetch_requests.
	HasWebSearch bool
	WebSearch    int64
	HasWebFetch  bool
	WebFetch     int64
}

// PromptTokens is OpenAI's inclusive prompt count: uncached input plus cache reads and writes.
func (u Usage) PromptTokens() int64 { return u.Input + u.CacheRead + u.CacheWrite }

// TotalTokens is PromptTokens plus Output.
func (u Usage) TotalTokens() int64 { return u.PromptTokens() + u.Output }

// UsageFormat selects optional parts of the OpenAI usage object.
type UsageFormat struct {
	// CacheSplit adds prompt_tokens_details.cache_creation_token_details (a LiteLLM extension
	// for the 5m/1h cache-write split) when the upstream reported it.
	CacheSplit bool
}

// AppendOpenAI appends u to b as an OpenAI usage object: prompt_tokens (cached tokens
// included), completion_tokens, total_tokens and their details.
func (u Usage) AppendOpenAI(b []byte, f UsageFormat) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens(), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.Output, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.TotalTokens(), 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CacheRead, 10)
	b = append(b, `,"cache_write_tokens":`...)
	b = strconv.AppendInt(b, u.CacheWrite, 10)
	if f.CacheSplit && u.HasCacheSplit {
		b = append(b, `,"cache_creation_token_details":{"ephemeral_5m_input_tokens":`...)
		b = strconv.AppendInt(b, u.CacheWrite5m, 10)
		b = append(b, `,"ephemeral_1h_input_tokens":`...)
		b = strconv.AppendInt(b, u.CacheWrite1h, 10)
		b = append(b, '}')
	}
	b = append(b, '}')
	if u.HasReasoning {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, u.Reasoning, 10)
		b = append(b, '}')
	}
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheRead, 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheWrite, 10)
	if u.HasWebSearch {
		b = append(b, `,"server_tool_use":{"web_search_requests":`...)
		b = strconv.AppendInt(b, u.WebSearch, 10)
		if u.HasWebFetch {
			b = append(b, `,"web_fetch_requests":`...)
			b = strconv.AppendInt(b, u.WebFetch, 10)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}
