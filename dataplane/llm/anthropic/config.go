// Package anthropic is the dataplane backend for an AgentgatewayBackend with
// spec.ai.provider.anthropic: it serves OpenAI Chat Completions (POST /v1/chat/completions,
// streaming or not) by calling Anthropic's Messages API and translating both ways, as
// described in dataplane/llm/README.md.
package anthropic

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/infergw/gwctl/dataplane/llm"
)

// Defaults applied by NewHandler.
const (
	DefaultHost             = "api.anthropic.com"
	DefaultPathPrefix       = "/v1"
	DefaultVersion          = "2023-06-01"
	DefaultMaxTokens        = 4096
	DefaultMaxRequestBytes  = 32 << 20
	DefaultMaxResponseBytes = 64 << 20
)

// Config is compiled from an AgentgatewayBackend's spec.ai.provider.anthropic and its
// policies. Only APIKey is required.
type Config struct {
	// Model, when set, replaces the model of every request (ai.provider.anthropic.model).
	Model string
	// ModelAliases rewrites request models (after Model is applied) before the capability lookup.
	ModelAliases map[string]string

	// Host, Port and PathPrefix override the upstream base URL
	// (default https://api.anthropic.com/v1; requests go to <base>/messages).
	Host       string
	Port       int
	PathPrefix string
	// Plaintext uses http instead of https (a local test upstream or a sidecar).
	Plaintext bool

	// APIKey returns the provider key; it is called on every request so a rotated Secret is
	// picked up (see llm.KeyFile). Its errors must not contain the key.
	APIKey func() (string, error)
	// SecretName names the Secret holding the key ("ns/name") in client errors when it
	// cannot be read; the key's value never appears.
	SecretName string
	// Version is the anthropic-version header (default 2023-06-01).
	Version string
	// Betas are always sent in anthropic-beta; AllowedBetas are forwarded from the client's
	// anthropic-beta or x-anthropic-beta header when listed, everything else is dropped.
	Betas        []string
	AllowedBetas []string

	// Client performs upstream calls (default: a client without a total timeout, since
	// streams are long; cancellation comes from the request context).
	Client *http.Client

	// AlwaysIncludeUsage emits the streamed usage chunk even when the client did not ask
	// for it with stream_options.include_usage (LiteLLM in front).
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

	MaxRequestBytes  int64 // default 32 MiB
	MaxResponseBytes int64 // non-streaming upstream bodies, default 64 MiB

	Logger *slog.Logger
	// Metrics counts tokens by route, backend and model (nil: not counted). The model label is Model
	// or a model the route selects (llm.WithRouteModels); any other model is "other".
	Metrics *llm.Metrics
	// OnResult receives one llm.Result per request (for tracing); may be nil.
	OnResult llm.ResultFunc
}

func (c *Config) baseURL() (string, error) {
	return llm.Endpoint{
		Provider: "anthropic", Host: c.Host, DefaultHost: DefaultHost, Port: c.Port,
		PathPrefix: c.PathPrefix, DefaultPathPrefix: DefaultPathPrefix, Plaintext: c.Plaintext,
	}.URL()
}

func (c *Config) validate() error {
	if c.APIKey == nil {
		return errors.New("anthropic backend: APIKey is required (policies.auth.secretRef)")
	}
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
