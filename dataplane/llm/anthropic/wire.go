package anthropic

import (
	"encoding/json"

	"github.com/infergw/gwctl/dataplane/llm/chat"
)

// OpenAI request, decoded with only the fields the translation reads. Parts that are copied
// upstream unchanged stay json.RawMessage.
type chatRequest struct {
	chat.Request
	Messages          []chatMessage     `json:"messages"`
	Tools             []chatTool        `json:"tools"`
	ParallelToolCalls *bool             `json:"parallel_tool_calls"`
	User              string            `json:"user"`
	SafetyIdentifier  string            `json:"safety_identifier"`
	Logprobs          *bool             `json:"logprobs"`
	TopLogprobs       *int64            `json:"top_logprobs"`
	Thinking          json.RawMessage   `json:"thinking"` // vendor extension, passed verbatim
	WebSearchOptions  *webSearchOptions `json:"web_search_options"`
}

// webSearchOptions is OpenAI's web_search_options, mapped to Anthropic's web_search server
// tool when the backend enables web search.
type webSearchOptions struct {
	SearchContextSize string             `json:"search_context_size"`
	UserLocation      *webSearchLocation `json:"user_location"`
}

type webSearchLocation struct {
	Type        string               `json:"type"`
	Approximate *approximateLocation `json:"approximate"`
}

type approximateLocation struct {
	City     string `json:"city"`
	Country  string `json:"country"`
	Region   string `json:"region"`
	Timezone string `json:"timezone"`
}

type chatMessage struct {
	Role       string         `json:"role"`
	Content    chatContent    `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls"`
	ToolCallID string         `json:"tool_call_id"`
	Refusal    *string        `json:"refusal"`
	// Replay of reasoning: LiteLLM's thinking_blocks, or agentgateway's
	// reasoning_content + reasoning_signature.
	ThinkingBlocks     []thinkingBlock `json:"thinking_blocks"`
	ReasoningContent   string          `json:"reasoning_content"`
	ReasoningSignature string          `json:"reasoning_signature"`
}

// chatContent is message content: a string, an array of parts, or null/absent. A value of
// another shape sets Invalid, reported with the message's index by the translation.
type chatContent struct {
	Text     string
	IsString bool
	Parts    []chatPart
	Invalid  bool
}

func (c *chatContent) UnmarshalJSON(b []byte) error {
	*c = chatContent{}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case 'n':
		return nil
	case '"':
		c.IsString = true
		c.Invalid = json.Unmarshal(b, &c.Text) != nil
	case '[':
		c.Invalid = json.Unmarshal(b, &c.Parts) != nil
	default:
		c.Invalid = true
	}
	return nil
}

type thinkingBlock struct {
	Type      string `json:"type"`
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
	Data      string `json:"data"`
}

// chatPart is a content part with Anthropic's cache_control breakpoint (a vendor extension
// LiteLLM clients send), which becomes the block's.
type chatPart struct {
	chat.Part
	CacheControl json.RawMessage `json:"cache_control"`
}

type chatToolCall = chat.ToolCall

type chatTool struct {
	Type string `json:"type"`
	// Name is the top-level name of an Anthropic server tool object (function tools name
	// themselves in Function).
	Name         string          `json:"name"`
	Function     *chat.Function  `json:"function"`
	CacheControl json.RawMessage `json:"cache_control"`
	// Raw is the whole tools[] element of a non-function tool, sent verbatim when its type
	// is an allowed server tool.
	Raw json.RawMessage `json:"-"`
}

// chatToolFields is chatTool without its UnmarshalJSON method.
type chatToolFields chatTool

// UnmarshalJSON decodes a tools[] element and keeps the raw object of non-function tools.
func (t *chatTool) UnmarshalJSON(b []byte) error {
	var f chatToolFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*t = chatTool(f)
	if t.Type != "function" && t.Type != "" {
		t.Raw = append(json.RawMessage(nil), b...)
	}
	return nil
}

// Anthropic request body (CreateMessageParams), written with encoding/json.
type messagesRequest struct {
	Model         string          `json:"model"`
	MaxTokens     int64           `json:"max_tokens"`
	System        []block         `json:"system,omitempty"`
	Messages      []turn          `json:"messages"`
	Metadata      *metadata       `json:"metadata,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	Thinking      json.RawMessage `json:"thinking,omitempty"`
	ToolChoice    *toolChoice     `json:"tool_choice,omitempty"`
	Tools         []tool          `json:"tools,omitempty"`
	OutputConfig  *outputConfig   `json:"output_config,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

type turn struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is any request content block; each type sets only its own fields.
type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	Source       *source         `json:"source,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      json.RawMessage `json:"content,omitempty"`
	Thinking     string          `json:"thinking,omitempty"`
	Signature    string          `json:"signature,omitempty"`
	Data         string          `json:"data,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	// Raw, when set, is a server tool object written as it is (the other fields are unused
	// except Name).
	Raw          json.RawMessage `json:"-"`
	Name         string          `json:"name"`
	Description  *string         `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	Strict       bool            `json:"strict,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse *bool  `json:"disable_parallel_tool_use,omitempty"`
}

type outputConfig struct {
	Effort string      `json:"effort,omitempty"`
	Format *jsonFormat `json:"format,omitempty"`
}

type jsonFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

// Anthropic response (Message) and stream events, decoded with only the fields we map.
type message struct {
	ID         string          `json:"id"`
	Model      string          `json:"model"`
	StopReason string          `json:"stop_reason"`
	Content    []responseBlock `json:"content"`
	Usage      usage           `json:"usage"`
}

type responseBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
	Citations []citation      `json:"citations"`
}

// citation is one entry of a text block's citations (or a citations_delta). Only URL
// citations (web_search_result_location, and search_result_location with an http(s)
// source) become OpenAI url_citation annotations.
type citation struct {
	Type   string `json:"type"`
	URL    string `json:"url"`
	Title  string `json:"title"`
	Source string `json:"source"`
}

type usage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	CacheCreation            *struct {
		Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	OutputTokensDetails *struct {
		ThinkingTokens *int64 `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
	ServerToolUse *struct {
		WebSearchRequests int64  `json:"web_search_requests"`
		WebFetchRequests  *int64 `json:"web_fetch_requests"`
	} `json:"server_tool_use"`
	ServiceTier string `json:"service_tier"`
}

type streamEvent struct {
	Type         string         `json:"type"`
	Index        int            `json:"index"`
	Message      *message       `json:"message"`
	ContentBlock *responseBlock `json:"content_block"`
	Delta        struct {
		Type        string    `json:"type"`
		Text        string    `json:"text"`
		PartialJSON string    `json:"partial_json"`
		Thinking    string    `json:"thinking"`
		Signature   string    `json:"signature"`
		Citation    *citation `json:"citation"`
		StopReason  string    `json:"stop_reason"`
	} `json:"delta"`
	Usage *usage    `json:"usage"`
	Error *apiError `json:"error"`
}

type apiError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}
