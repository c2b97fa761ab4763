package llm

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// Result describes one finished chat-completion call, for tracing (gen_ai.* span attributes)
// and access logs. Providers pass it to a ResultFunc once the response is complete, failed
// or abandoned.
type Result struct {
	Provider      string // gen_ai.system: "anthropic", "openai"
	Route         RouteInfo
	RequestModel  string // gen_ai.request.model: the model sent upstream (after any override)
	ResponseModel string // gen_ai.response.model
	ResponseID    string // gen_ai.response.id
	FinishReason  string // gen_ai.response.finish_reasons[0], OpenAI vocabulary; "" when none
	Stream        bool
	Usage         Usage
	HasUsage      bool   // the upstream reported usage (false on early errors)
	Status        int    // HTTP status returned to the client
	ErrorType     string // OpenAI error type when the call failed (error.type), "" on success
}

// ResultFunc receives the Result of each request. It runs on the request goroutine after the
// response has been written; it must not block.
type ResultFunc func(ctx context.Context, r Result)

// Finish ends a request's accounting: it records usage on metrics (by the response's model,
// else the requested one, whichever is configured: see Metrics), hands the Result to onResult,
// and logs the call: as fields of the server's access line for the request when w leads to it
// (one line per request), else as a line of its own.
func Finish(ctx context.Context, w http.ResponseWriter, log *slog.Logger, metrics *Metrics, onResult ResultFunc, res *Result, start time.Time) {
	if res.HasUsage && metrics != nil {
		metrics.Record(res.Route, metrics.ModelLabel(ctx, res.ResponseModel, res.RequestModel), res.Usage)
	}
	if onResult != nil {
		onResult(ctx, *res)
	}
	if a := accessLineOf(w); a != nil {
		a.SetLogAttrs(slog.String("provider", res.Provider), slog.String("model", res.RequestModel),
			slog.Bool("stream", res.Stream), slog.String("error_type", res.ErrorType), slog.String("finish_reason", res.FinishReason),
			slog.Int64("prompt_tokens", res.Usage.PromptTokens()), slog.Int64("completion_tokens", res.Usage.Output))
		return
	}
	log.InfoContext(ctx, "chat completion",
		"route", res.Route.Route, "backend", res.Route.Backend, "model", res.RequestModel,
		"stream", res.Stream, "status", res.Status, "error_type", res.ErrorType, "finish_reason", res.FinishReason,
		"prompt_tokens", res.Usage.PromptTokens(), "completion_tokens", res.Usage.Output,
		"duration_ms", time.Since(start).Milliseconds())
}

// accessLine is the server's per-request recorder (dataplane/server): the fields set on it
// are written on the request's access line.
type accessLine interface {
	SetLogAttrs(attrs ...slog.Attr)
}

// accessLineOf finds the accessLine behind w through the middleware's Unwrap methods; nil
// when the handler runs outside the server (tests, benchmarks).
func accessLineOf(w http.ResponseWriter) accessLine {
	for w != nil {
		if a, ok := w.(accessLine); ok {
			return a
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// Reject records an error on the Result and writes it to the client in OpenAI's shape.
func Reject(w http.ResponseWriter, res *Result, e *apierror.Error) {
	res.Status, res.ErrorType = e.Status, e.Type
	apierror.Write(w, e)
}

// Redact removes the API key from a message (defence in depth: upstream messages and transport
// errors should never contain it).
func Redact(msg, key string) string {
	if len(key) < 4 {
		return msg
	}
	return strings.ReplaceAll(msg, key, "[REDACTED]")
}
