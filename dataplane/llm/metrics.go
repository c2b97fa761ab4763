package llm

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the tokens every LLM backend reports, by route, backend, model and token type
// (input, output, cache_read, cache_write). One Metrics is shared by all provider handlers.
// A nil *Metrics records nothing.
type Metrics struct {
	tokens *prometheus.CounterVec
}

// Token types used as the "type" label. "input" is the uncached prompt part (Anthropic's
// input_tokens); input + cache_read + cache_write is OpenAI's prompt_tokens.
const (
	TokenInput      = "input"
	TokenOutput     = "output"
	TokenCacheRead  = "cache_read"
	TokenCacheWrite = "cache_write"
)

// NewMetrics registers gwctl_llm_tokens_total on reg. Registering twice on the same
// Registerer returns a Metrics sharing the collector registered first.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	tokens := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gwctl_llm_tokens_total",
		Help: "Tokens reported by LLM upstreams, by route, backend, model and type (input, output, cache_read, cache_write).",
	}, []string{"route", "backend", "model", "type"})
	if reg != nil {
		if err := reg.Register(tokens); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("llm metrics: registering gwctl_llm_tokens_total: %w", err)
			}
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, fmt.Errorf("llm metrics: gwctl_llm_tokens_total already registered with another type: %w", err)
			}
			tokens = existing
		}
	}
	return &Metrics{tokens: tokens}, nil
}

// Record adds u to the counters of route/backend/model.
func (m *Metrics) Record(route RouteInfo, model string, u Usage) {
	if m == nil {
		return
	}
	add := func(kind string, n int64) {
		if n > 0 {
			m.tokens.WithLabelValues(route.Route, route.Backend, model, kind).Add(float64(n))
		}
	}
	add(TokenInput, u.Input)
	add(TokenOutput, u.Output)
	add(TokenCacheRead, u.CacheRead)
	add(TokenCacheWrite, u.CacheWrite)
}

// Counter returns the counter of one route, model and token type (for tests and debugging).
func (m *Metrics) Counter(route RouteInfo, model, kind string) prometheus.Counter {
	return m.tokens.WithLabelValues(route.Route, route.Backend, model, kind)
}
