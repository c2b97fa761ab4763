// Package openai is the dataplane backend for an AgentgatewayBackend with
// spec.ai.provider.openai: a passthrough to an OpenAI-compatible upstream (OpenAI itself, vLLM,
// …) for POST /v1/chat/completions that reads usage from responses and streams for metrics.
package openai

import "github.com/infergw/gwctl/dataplane/llm"

// Provider is OpenAI's API: https://api.openai.com/v1 unless Config overrides it; requests go
// to <base>/chat/completions with the key as "Authorization: Bearer". The key is optional
// (vLLM without --api-key).
var Provider = llm.Provider{ID: "openai", DefaultHost: "api.openai.com", DefaultPathPrefix: "/v1"}

// Config is compiled from an AgentgatewayBackend's spec.ai.provider.openai and its policies.
type Config = llm.ProviderConfig
