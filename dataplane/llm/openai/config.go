// Package openai is the dataplane backend for an AgentgatewayBackend with
// spec.ai.provider.openai: a passthrough to an OpenAI-compatible upstream (OpenAI itself, vLLM,
// …) for POST /v1/chat/completions that reads usage from responses and streams for metrics.
package openai

import (
	"log/slog"
	"net/http"

	"github.com/infergw/gwctl/dataplane/llm"
)

// Defaults applied by NewHandler.
const (
	DefaultHost             = "api.openai.com"
	DefaultPathPrefix       = "/v1"
	DefaultMaxRequestBytes  = 32 << 20
	DefaultMaxResponseBytes = 64 << 20
)

// Config is compiled from an AgentgatewayBackend's spec.ai.provider.openai and its policies.
type Config struct {
	// Model, when set, replaces the model of every request.
	Model string
	// Host, Port and PathPrefix override the base URL (default https://api.openai.com/v1;
	// requests go to <base>/chat/completions). Plaintext selects http (e.g. an in-cluster vLLM).
	Host       string
	Port       int
	PathPrefix string
	Plaintext  bool

	// APIKey returns the key sent as "Authorization: Bearer"; nil sends none (vLLM without
	// --api-key). The client's own Authorization is never forwarded.
	APIKey func() (string, error)
	// SecretName names the Secret holding the key in client errors when it cannot be read.
	SecretName string
	Client     *http.Client

	// AlwaysIncludeUsage passes the upstream's usage chunk to clients that did not ask for it.
	AlwaysIncludeUsage bool

	MaxRequestBytes  int64
	MaxResponseBytes int64

	Logger *slog.Logger
	// Metrics counts tokens by route, backend and model (nil: not counted). The model label is Model
	// or a model the route selects (llm.WithRouteModels); any other model is "other".
	Metrics  *llm.Metrics
	OnResult llm.ResultFunc
}

func (c *Config) baseURL() (string, error) {
	return llm.Endpoint{
		Provider: "openai", Host: c.Host, DefaultHost: DefaultHost, Port: c.Port,
		PathPrefix: c.PathPrefix, DefaultPathPrefix: DefaultPathPrefix, Plaintext: c.Plaintext,
	}.URL()
}
