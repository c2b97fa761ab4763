// Package gemini is the dataplane backend for an AgentgatewayBackend with
// spec.ai.provider.gemini: it serves OpenAI Chat Completions by calling Google's Gemini API
// (models.generateContent and streamGenerateContent) and translating both ways.
package gemini

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/infergw/gwctl/dataplane/llm"
)

// Defaults applied by NewHandler.
const (
	DefaultHost             = "generativelanguage.googleapis.com"
	DefaultPathPrefix       = "/v1beta"
	DefaultMaxRequestBytes  = 32 << 20
	DefaultMaxResponseBytes = 64 << 20
)

// Config is compiled from an AgentgatewayBackend's spec.ai.provider.gemini and its policies.
// Only APIKey is required.
type Config struct {
	// Model, when set, replaces the model of every request (ai.provider.gemini.model).
	Model string
	// Host, Port and PathPrefix override the base URL (default
	// https://generativelanguage.googleapis.com/v1beta; requests go to
	// <base>/models/<model>:generateContent). Plaintext selects http (a local test double).
	Host       string
	Port       int
	PathPrefix string
	Plaintext  bool

	// APIKey returns the key sent as x-goog-api-key, on every request (see llm.KeyFile). The
	// client's own credentials are never forwarded.
	APIKey func() (string, error)
	// SecretName names the Secret holding the key in client errors when it cannot be read.
	SecretName string
	Client     *http.Client

	// AlwaysIncludeUsage emits the streamed usage chunk even when the client did not ask for
	// it with stream_options.include_usage (LiteLLM in front).
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
		Provider: "gemini", Host: c.Host, DefaultHost: DefaultHost, Port: c.Port,
		PathPrefix: c.PathPrefix, DefaultPathPrefix: DefaultPathPrefix, Plaintext: c.Plaintext,
	}.URL()
}

// Handler serves OpenAI chat completions from a Gemini upstream: the llm.Upstream handler with
// the OpenAI → Gemini translator. Create it with NewHandler.
type Handler struct {
	up *llm.Upstream
}

// NewHandler validates cfg and returns the backend handler.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.APIKey == nil {
		return nil, errors.New("gemini backend: APIKey is required (policies.auth.secretRef)")
	}
	if cfg.Model != "" {
		if _, err := modelPath(cfg.Model); err != nil {
			return nil, errors.New("gemini backend: model: " + err.Message)
		}
	}
	u, err := cfg.baseURL()
	if err != nil {
		return nil, err
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := &translator{model: cfg.Model, alwaysUsage: cfg.AlwaysIncludeUsage, log: log.With("provider", "gemini")}
	up, err := llm.NewUpstream(llm.UpstreamConfig{
		Provider: "gemini", Name: "Gemini", BaseURL: u,
		NewTranslator: func() llm.Translator { return &call{t: tr} },
		APIKey:        cfg.APIKey, KeyRequired: true, SecretName: cfg.SecretName, Client: cfg.Client,
		MaxRequestBytes: cfg.MaxRequestBytes, MaxResponseBytes: cfg.MaxResponseBytes,
		Logger: log, Metrics: cfg.Metrics.ForModels(cfg.Model), OnResult: cfg.OnResult,
	})
	if err != nil {
		return nil, err
	}
	return &Handler{up: up}, nil
}

// ServeHTTP implements POST …/chat/completions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.up.ServeHTTP(w, r) }
