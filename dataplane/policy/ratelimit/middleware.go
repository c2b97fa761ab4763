package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/policy/jwt"
	"github.com/infergw/gwctl/dataplane/telemetry"
)

// KeyFunc picks the client key of a request for per-client buckets; "" is one shared bucket for
// requests that carry no key.
type KeyFunc func(*http.Request) string

// HeaderKey keys buckets by a request header (e.g. x-user-id, an API key id).
func HeaderKey(name string) KeyFunc {
	return func(r *http.Request) string { return r.Header.Get(name) }
}

// ClaimKey keys buckets by a verified JWT claim (e.g. sub); the JWT middleware must run first.
func ClaimKey(claim string) KeyFunc {
	return func(r *http.Request) string {
		c, ok := jwt.ClaimsFrom(r.Context())
		if !ok {
			return ""
		}
		v, _ := c.String(claim)
		return v
	}
}

// Rule is one limit applied to a request.
type Rule struct {
	Limiter Limiter
	// Key selects the client bucket; nil means one bucket for all (agentgateway's local limit).
	Key KeyFunc
	// Tokens marks an LLM-token limit: requests are admitted while the bucket is out of debt and
	// the usage is charged after the response through Charge.
	Tokens bool
}

// ErrorWriter writes a rejection in the client's API shape; headers are already set.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, message string)

// Options configure the middleware.
type Options struct {
	// WriteError writes 429 (and 503 when a fail-closed shared limiter is down); nil writes
	// OpenAI-shaped JSON (type rate_limit_error).
	WriteError ErrorWriter
	// HeadersOnAllowed also sets x-ratelimit-* on admitted requests (agentgateway v1.2.1 sets
	// them only on 429), unless the upstream sets its own.
	HeadersOnAllowed bool
	Logger           *slog.Logger
	// Tracer, when set, records a ratelimit.check child span under sampled requests.
	Tracer trace.Tracer
}

type pending struct {
	rule *Rule
	key  string
}

type chargesKey struct{}

// Charge charges tokens to every token limit that admitted the request in ctx (the LLM handler
// calls it with input+output usage once known). It reports whether any limit was charged.
func Charge(ctx context.Context, tokens int64) bool {
	ps, _ := ctx.Value(chargesKey{}).([]pending)
	if tokens <= 0 {
		return len(ps) > 0
	}
	// The response may already be finished and the request context cancelled.
	ctx = context.WithoutCancel(ctx)
	for _, p := range ps {
		_ = p.rule.Limiter.Charge(ctx, p.key, tokens)
	}
	return len(ps) > 0
}

// Middleware admits a request only if every rule does; a denial answers 429 with
// x-ratelimit-limit, -remaining, -reset and retry-after from the denying rule. Rules are checked
// in order, so a request rule earlier in the list has already taken its token when a later one
// denies (as with agentgateway's several local items).
func Middleware(rules []Rule, o Options) func(http.Handler) http.Handler {
	if o.WriteError == nil {
		o.WriteError = WriteOpenAIError
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &middleware{rules: append([]Rule(nil), rules...), o: o}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			var span trace.Span
			if o.Tracer != nil {
				ctx, span = telemetry.StartChild(ctx, o.Tracer, telemetry.SpanRateLimit)
			}
			v := m.decide(ctx, r)
			if span != nil {
				if span.IsRecording() {
					span.SetAttributes(attribute.Int("http.response.status_code", v.status))
				}
				span.End()
			}
			if v.status != http.StatusOK {
				setHeaders(w.Header(), v.d, true)
				msg := "rate limit exceeded"
				if v.status == http.StatusServiceUnavailable {
					msg = "rate limit service unavailable"
				}
				o.WriteError(w, r, v.status, msg)
				return
			}
			if o.HeadersOnAllowed && len(m.rules) > 0 {
				w = &headerWriter{ResponseWriter: w, d: v.d}
			}
			if len(v.charges) > 0 {
				r = r.WithContext(context.WithValue(r.Context(), chargesKey{}, v.charges))
			}
			next.ServeHTTP(w, r)
		})
	}
}

type middleware struct {
	rules []Rule
	o     Options
}

// verdict is the outcome over all rules: status 200 with the tightest decision, or the
// denial's status and decision.
type verdict struct {
	status  int
	d       Decision
	charges []pending
}

func (m *middleware) decide(ctx context.Context, r *http.Request) verdict {
	v := verdict{status: http.StatusOK}
	for i := range m.rules {
		rule := &m.rules[i]
		key := ""
		if rule.Key != nil {
			key = rule.Key(r)
		}
		cost := int64(1)
		if rule.Tokens {
			cost = 0
		}
		d, err := rule.Limiter.Allow(ctx, key, cost)
		if err != nil {
			m.o.Logger.Debug("rate limiter error", "error", err.Error())
			if errors.Is(err, ErrFailedClosed) {
				return verdict{status: http.StatusServiceUnavailable, d: d}
			}
		}
		if !d.Allowed {
			return verdict{status: http.StatusTooManyRequests, d: d}
		}
		if i == 0 || d.Remaining < v.d.Remaining {
			v.d = d
		}
		if rule.Tokens {
			v.charges = append(v.charges, pending{rule: rule, key: key})
		}
	}
	return v
}

func setHeaders(h http.Header, d Decision, denied bool) {
	h.Set("x-ratelimit-limit", strconv.FormatInt(d.Limit, 10))
	h.Set("x-ratelimit-remaining", strconv.FormatInt(d.Remaining, 10))
	h.Set("x-ratelimit-reset", strconv.FormatInt(ceilSeconds(d.ResetAfter), 10))
	if denied {
		h.Set("retry-after", strconv.FormatInt(max(1, ceilSeconds(d.RetryAfter)), 10))
	}
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

// headerWriter adds x-ratelimit-* to an admitted response unless the upstream set them.
type headerWriter struct {
	http.ResponseWriter
	d     Decision
	wrote bool
}

func (h *headerWriter) WriteHeader(code int) {
	if !h.wrote {
		h.wrote = true
		if h.Header().Get("x-ratelimit-limit") == "" {
			setHeaders(h.Header(), h.d, false)
		}
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerWriter) Write(b []byte) (int, error) {
	if !h.wrote {
		h.WriteHeader(http.StatusOK)
	}
	return h.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and friends.
func (h *headerWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Flush passes through for streamed responses.
func (h *headerWriter) Flush() {
	if !h.wrote {
		h.WriteHeader(http.StatusOK)
	}
	if f, ok := h.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// WriteOpenAIError writes an OpenAI API error object (type rate_limit_error, or
// service_unavailable for 503).
func WriteOpenAIError(w http.ResponseWriter, _ *http.Request, status int, message string) {
	typ, code := "rate_limit_error", "rate_limit_exceeded"
	if status == http.StatusServiceUnavailable {
		typ, code = "service_unavailable", "rate_limit_unavailable"
	}
	apierror.Write(w, &apierror.Error{Status: status, Type: typ, Code: code, Message: message})
}

// JSONRPCErrorWriter writes a JSON-RPC 2.0 error (for MCP routes) with the given code
// (e.g. -32000) and a null id, since the request body is not read.
func JSONRPCErrorWriter(code int) ErrorWriter {
	return func(w http.ResponseWriter, _ *http.Request, status int, message string) {
		apierror.WriteRPC(w, status, nil, &apierror.RPCError{Code: code, Message: message})
	}
}
