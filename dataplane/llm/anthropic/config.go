// Package anthropic is the dataplane backend for an AgentgatewayBackend with
// spec.ai.provider.anthropic: it serves OpenAI Chat Completions (POST /v1/chat/completions,
// streaming or not) by calling Anthropic's Messages API and translating both ways, as
// described in dataplane/llm/README.md.
package anthropic

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/infergw/gwctl/dataplane/llm"
)

// Provider is Anthropic's Messages API: https://api.anthropic.com/v1 unless Config overrides it;
// requests go to <base>/messages with the key as x-api-key (an OAuth token as Authorization:
// Bearer), which is required.
var Provider = llm.Provider{ID: "anthropic", Name: "Anthropic",
	DefaultHost: "api.anthropic.com", DefaultPathPrefix: "/v1", KeyRequired: true}

// Defaults applied by NewHandler.
const (
	DefaultVersion   = "2023-06-01"
	DefaultMaxTokens = 4096
)

// Config is compiled from an AgentgatewayBackend's spec.ai.provider.anthropic and its
// policies: what every provider has (llm.ProviderConfig, where each field is described) and
// Anthropic's own settings. Only APIKey is required.
type Config struct {
	Model string
	// ModelAliases rewrites request models (after Model is applied) before the capability lookup.
	ModelAliases map[string]string

	Host       string
	Port       int
	PathPrefix string
	Plaintext  bool

	APIKey     func() (string, error)
	SecretName string
	// Version is the anthropic-version header (default 2023-06-01).
	Version string
	// Betas are always sent in anthropic-beta; AllowedBetas are forwarded from the client's
	// anthropic-beta or x-anthropic-beta header when listed, everything else is dropped.
	Betas        []string
	AllowedBetas []string

	Client *http.Client

	AlwaysIncludeUsage bool
	// Strict rejects (400) what would otherwise be clamped or ignored: temperature > 1,
	// logprobs.
	Strict bool
	// OmitCacheCreationSplit leaves out prompt_tokens_details.cache_creation_token_details.
	OmitCacheCreationSplit bool
	// MidConversationSystem sends role "system" messages after the first turn as system
	// turns on models that accept them, instead of hoisting them into the system prompt.
	MidConversationSystem bool

	// WebSearch maps a request's web_search_options to Anthropic's web_search server tool
	// ({"type":"web_search_20250305","name":"web_search"}, search_context_size low/medium/high
	// as max_uses 1/5/10, user_location.approximate as user_location), as LiteLLM does.
	// Off: web_search_options is ignored. Anthropic bills each search (usage.server_tool_use).
	WebSearch bool
	// ServerTools lists the Anthropic server tool types (e.g. web_search_20250305,
	// web_fetch_20250910, code_execution_20250825) that clients may put in tools[]: such an
	// entry is the Anthropic tool object itself and is sent upstream verbatim. Any other
	// non-function tool type is a 400.
	ServerTools []string

	// DefaultMaxTokens is max_tokens when the client sends none (default 4096, capped by
	// the model's maximum output).
	DefaultMaxTokens int64
	// Models extends or overrides the built-in capability table (longest prefix wins).
	Models []ModelCaps

	MaxRequestBytes  int64
	MaxResponseBytes int64

	Logger   *slog.Logger
	Metrics  *llm.Metrics
	OnResult llm.ResultFunc
}

// provider is the part of c every provider has.
func (c *Config) provider() llm.ProviderConfig {
	return llm.ProviderConfig{
		Model: c.Model, Host: c.Host, Port: c.Port, PathPrefix: c.PathPrefix, Plaintext: c.Plaintext,
		APIKey: c.APIKey, SecretName: c.SecretName, Client: c.Client, AlwaysIncludeUsage: c.AlwaysIncludeUsage,
		MaxRequestBytes: c.MaxRequestBytes, MaxResponseBytes: c.MaxResponseBytes,
		Logger: c.Logger, Metrics: c.Metrics, OnResult: c.OnResult,
	}
}

func (c *Config) validate() error {
	if err := CheckServerTools(c.ServerTools); err != nil {
		return fmt.Errorf("anthropic backend: ServerTools: %w", err)
	}
	if c.DefaultMaxTokens < 0 {
		return fmt.Errorf("anthropic backend: DefaultMaxTokens %d must not be negative", c.DefaultMaxTokens)
	}
	return nil
}

// CheckServerTools reports an entry of a ServerTools list that cannot be an Anthropic server
// tool type: empty, or a client tool type (function, custom).
func CheckServerTools(types []string) error {
	for _, t := range types {
		if t = strings.TrimSpace(t); t == "" || t == "function" || t == "custom" {
			return fmt.Errorf("%q is not an Anthropic server tool type (e.g. web_search_20250305)", t)
		}
	}
	return nil
}
