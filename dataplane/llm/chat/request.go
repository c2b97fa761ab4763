// Package chat holds the parts of an OpenAI chat completion request that every translator
// reads alike (tool calls, function tools, images, files, response_format, stream_options,
// tool_choice), decoded with only the fields a translation reads.
package chat

import "encoding/json"

// ToolCall is an assistant message's tool_calls[] entry.
type ToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// Function is a function tool's definition; parameters stay raw, they go upstream verbatim.
type Function struct {
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

// Part is an element of a message's content array.
type Part struct {
	Type     string    `json:"type"`
	Text     string    `json:"text"`
	Refusal  string    `json:"refusal"`
	ImageURL *ImageURL `json:"image_url"`
	File     *File     `json:"file"`
}

// ImageURL is an image_url part's object.
type ImageURL struct {
	URL string `json:"url"`
}

// File is a file part's object.
type File struct {
	FileData string `json:"file_data"`
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
}

// StreamOptions is stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// ResponseFormat is response_format; the schema stays raw.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema"`
}

// JSONSchema is response_format.json_schema.
type JSONSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
}

// Request is the members of a chat completion request every translator reads the same way;
// a translator's request type embeds it beside its messages, tools and own parameters.
type Request struct {
	Model               string          `json:"model"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	MaxTokens           *int64          `json:"max_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                json.RawMessage `json:"stop"`
	N                   *int64          `json:"n"`
	Stream              bool            `json:"stream"`
	StreamOptions       *StreamOptions  `json:"stream_options"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *ResponseFormat `json:"response_format"`
	ReasoningEffort     string          `json:"reasoning_effort"`
}
