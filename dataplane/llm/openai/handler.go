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
	model, always := cfg.Model, cfg.AlwaysIncludeUsage
	up, err := cfg.NewUpstream(Provider, func() llm.Translator { return &passthrough{model: model, always: always} })
	if err != nil {
		return nil, err
	}
	return &Handler{up: up}, nil
}

// ServeHTTP implements POST …/chat/completions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.up.ServeHTTP(w, r) }
