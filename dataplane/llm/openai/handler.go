package openai

import (
	"net/http"

	"github.com/infergw/gwctl/dataplane/llm"
)

// Handler proxies OpenAI chat completions: the llm.Upstream handler with the passthrough
// translator. Create it with NewHandler.
type Handler struct {
	up *llm.Upstream
}

// NewHandler returns the passthrough handler for cfg.
func NewHandler(cfg Config) (*Handler, error) {
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
	model, always := cfg.Model, cfg.AlwaysIncludeUsage
	up, err := llm.NewUpstream(llm.UpstreamConfig{
		Provider: "openai", BaseURL: u,
		NewTranslator: func() llm.Translator { return &passthrough{model: model, always: always} },
		APIKey:        cfg.APIKey, SecretName: cfg.SecretName, Client: cfg.Client,
		MaxRequestBytes: cfg.MaxRequestBytes, MaxResponseBytes: cfg.MaxResponseBytes,
		Logger: cfg.Logger, Metrics: cfg.Metrics.ForModels(cfg.Model), OnResult: cfg.OnResult,
	})
	if err != nil {
		return nil, err
	}
	return &Handler{up: up}, nil
}

// ServeHTTP implements POST …/chat/completions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.up.ServeHTTP(w, r) }
