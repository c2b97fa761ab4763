package llm

import (
	"log/slog"
	"net/http"
)

// Body limits a provider backend applies when its config sets none.
const (
	DefaultMaxRequestBytes  = 32 << 20
	DefaultMaxResponseBytes = 64 << 20
)

// ProviderConfig is what every provider backend is compiled from (an AgentgatewayBackend's
// spec.ai.provider.<name> and its policies): where the provider is, its key, and where usage
// goes. A provider with settings of its own (anthropic) adds them beside these.
type ProviderConfig struct {
	// Model, when set, replaces the model of every request (ai.provider.<name>.model).
	Model string
	// Host, Port and PathPrefix override the provider's base URL (Provider.DefaultHost and
	// DefaultPathPrefix); Plaintext selects http (an in-cluster vLLM, a local test double).
	Host       string
	Port       int
	PathPrefix string
	Plaintext  bool

	// APIKey returns the backend's key on every request, so a rotated Secret takes effect at
	// once (see KeyFile); nil sends none where the provider allows it. Its errors must not
	// contain the key. The client's own credentials are never forwarded.
	APIKey func() (string, error)
	// SecretName names the Secret holding the key ("ns/name") in client errors when it cannot
	// be read; the key's value never appears.
	SecretName string
	// Client performs upstream calls (default: a client without a total timeout, since
	// streams are long; the request context cancels).
	Client *http.Client

	// AlwaysIncludeUsage emits the streamed usage chunk even when the client did not ask for
	// it with stream_options.include_usage (LiteLLM in front).
	AlwaysIncludeUsage bool

	MaxRequestBytes  int64 // the client's body, default DefaultMaxRequestBytes
	MaxResponseBytes int64 // a non-streamed upstream body, default DefaultMaxResponseBytes

	Logger *slog.Logger
	// Metrics counts tokens by route, backend and model (nil: not counted). The model label is
	// Model or a model the route selects (WithRouteModels); any other model is "other".
	Metrics *Metrics
	// OnResult receives one Result per request (for tracing); may be nil.
	OnResult ResultFunc
}

// Provider names a provider API and where it is by default.
type Provider struct {
	ID   string // gen_ai.system and the logs' "provider" ("gemini")
	Name string // in client errors ("Gemini"); empty says "the upstream"
	// DefaultHost and DefaultPathPrefix are the provider's base URL.
	DefaultHost, DefaultPathPrefix string
	// KeyRequired makes a missing or empty key an error rather than "send no credential".
	KeyRequired bool
}

// logger is c.Logger, or one that discards.
func (c *ProviderConfig) logger() *slog.Logger {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return log
}

// NewUpstream checks c for provider p and returns the Upstream handler that makes a
// translator per request with newTranslator.
func (c ProviderConfig) NewUpstream(p Provider, newTranslator func() Translator) (*Upstream, error) {
	if p.KeyRequired && c.APIKey == nil {
		return nil, &configError{p.ID, "APIKey is required (policies.auth.secretRef)"}
	}
	u, err := Endpoint{
		Provider: p.ID, Host: c.Host, DefaultHost: p.DefaultHost, Port: c.Port,
		PathPrefix: c.PathPrefix, DefaultPathPrefix: p.DefaultPathPrefix, Plaintext: c.Plaintext,
	}.URL()
	if err != nil {
		return nil, err
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return NewUpstream(UpstreamConfig{
		Provider: p.ID, Name: p.Name, BaseURL: u, NewTranslator: newTranslator,
		APIKey: c.APIKey, KeyRequired: p.KeyRequired, SecretName: c.SecretName, Client: c.Client,
		MaxRequestBytes: c.MaxRequestBytes, MaxResponseBytes: c.MaxResponseBytes,
		Logger: c.logger(), Metrics: c.Metrics.ForModels(c.Model), OnResult: c.OnResult,
	})
}

// TranslatorLogger is the logger a provider's translator logs with: c.Logger (or one that
// discards) with p's "provider" attribute, as the Upstream's own.
func (c *ProviderConfig) TranslatorLogger(p Provider) *slog.Logger {
	return c.logger().With("provider", p.ID)
}

type configError struct{ provider, msg string }

func (e *configError) Error() string { return e.provider + " backend: " + e.msg }
