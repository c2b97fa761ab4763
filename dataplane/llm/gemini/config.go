// Package gemini is the dataplane backend for an AgentgatewayBackend with
// spec.ai.provider.gemini: it serves OpenAI Chat Completions by calling Google's Gemini API
// (models.generateContent and streamGenerateContent) and translating both ways.
package gemini

import (
	"errors"
	"net/http"

	"github.com/infergw/gwctl/dataplane/llm"
)

// Provider is Google's Gemini API: https://generativelanguage.googleapis.com/v1beta unless
// Config overrides it; requests go to <base>/models/<model>:generateContent with the key as
// x-goog-api-key, which is required.
var Provider = llm.Provider{ID: "gemini", Name: "Gemini",
	DefaultHost: "generativelanguage.googleapis.com", DefaultPathPrefix: "/v1beta", KeyRequired: true}

// Config is compiled from an AgentgatewayBackend's spec.ai.provider.gemini and its policies.
// Only APIKey is required.
type Config = llm.ProviderConfig

// Handler serves OpenAI chat completions from a Gemini upstream: the llm.Upstream handler with
// the OpenAI → Gemini translator. Create it with NewHandler.
type Handler struct {
	up *llm.Upstream
}

// NewHandler validates cfg and returns the backend handler.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Model != "" {
		if _, err := modelPath(cfg.Model); err != nil {
			return nil, errors.New("gemini backend: model: " + err.Message)
		}
	}
	tr := &translator{model: cfg.Model, alwaysUsage: cfg.AlwaysIncludeUsage, log: cfg.TranslatorLogger(Provider)}
	up, err := cfg.NewUpstream(Provider, func() llm.Translator { return &call{t: tr} })
	if err != nil {
		return nil, err
	}
	return &Handler{up: up}, nil
}

// ServeHTTP implements POST …/chat/completions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.up.ServeHTTP(w, r) }
