package llm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infergw/gwctl/dataplane/telemetry"
)

// Metrics counts the tokens every LLM backend reports, by route, backend, model and token type
// (input, output, cache_read, cache_write). One Metrics is shared by all provider handlers, each
// through its ForModels view. A nil *Metrics records nothing.
//
// The model label is bounded: clients choose the model they send and upstreams echo whatever
// they like, so only a model configured for the backend (ForModels) or selected by the route
// (WithRouteModels) is a label value; any other is "other".
type Metrics struct {
	tokens *prometheus.CounterVec
	models telemetry.Vocabulary
	series *seriesCache // shared by every ForModels view
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
	return &Metrics{tokens: tokens, series: &seriesCache{}}, nil
}

// ForModels returns a view of m sharing its counters whose model label may also take the
// values models (a backend's configured models), besides m's own and the request's route's.
func (m *Metrics) ForModels(models ...string) *Metrics {
	if m == nil {
		return nil
	}
	return &Metrics{tokens: m.tokens, models: m.models.With(models...), series: m.series}
}

type routeModelsKey struct{}

// WithRouteModels returns a copy of ctx carrying the models the request's route selects (the
// values its rule matches X-Gateway-Base-Model-Name on): model label values on that route.
func WithRouteModels(ctx context.Context, models []string) context.Context {
	return context.WithValue(ctx, routeModelsKey{}, models)
}

// ModelLabel is the first of models (e.g. the response's, then the requested one) that is
// configured for the backend or selected by the route in ctx, else "other".
func (m *Metrics) ModelLabel(ctx context.Context, models ...string) string {
	route, _ := ctx.Value(routeModelsKey{}).([]string)
	for _, s := range models {
		if s == "" {
			continue
		}
		if (m != nil && m.models.Has(s)) || slices.Contains(route, s) {
			return s
		}
	}
	return telemetry.LabelOther
}

// Record adds u to the counters of route/backend/model; model is a label value (ModelLabel).
func (m *Metrics) Record(route RouteInfo, model string, u Usage) {
	if m == nil {
		return
	}
	c := m.series.of(seriesKey{route.Route, route.Backend, model})
	for i, n := range [...]int64{u.Input, u.Output, u.CacheRead, u.CacheWrite} {
		if n > 0 {
			c.add(m.tokens, route, model, i, n)
		}
	}
}

// tokenTypes are the "type" label values in Record's order.
var tokenTypes = [...]string{TokenInput, TokenOutput, TokenCacheRead, TokenCacheWrite}

// seriesCache keeps the counters of each label set once looked up: WithLabelValues hashes and
// validates its four values on every call, four times per request. The label sets are bounded
// (routes, backends and ModelLabel's vocabulary), so the map only grows to their number; it is
// copied on a miss and read without a lock.
type seriesCache struct {
	mu sync.Mutex
	m  atomic.Pointer[map[seriesKey]*series]
}

type seriesKey struct{ route, backend, model string }

// series is one label set's counters by token type, each looked up on its first use (a type
// with no tokens yet has no series, as before caching).
type series [len(tokenTypes)]atomic.Pointer[prometheus.Counter]

func (c *seriesCache) of(k seriesKey) *series {
	if m := c.m.Load(); m != nil {
		if s, ok := (*m)[k]; ok {
			return s
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if s, ok := (*old)[k]; ok {
			return s
		}
	}
	next := make(map[seriesKey]*series, 1)
	if old != nil {
		maps.Copy(next, *old)
	}
	s := new(series)
	next[k] = s
	c.m.Store(&next)
	return s
}

func (s *series) add(vec *prometheus.CounterVec, route RouteInfo, model string, i int, n int64) {
	p := s[i].Load()
	if p == nil {
		ctr := vec.WithLabelValues(route.Route, route.Backend, model, tokenTypes[i])
		p = &ctr
		s[i].Store(p)
	}
	(*p).Add(float64(n))
}

// Counter returns the counter of one route, model and token type (for tests and debugging).
func (m *Metrics) Counter(route RouteInfo, model, kind string) prometheus.Counter {
	return m.tokens.WithLabelValues(route.Route, route.Backend, model, kind)
}
