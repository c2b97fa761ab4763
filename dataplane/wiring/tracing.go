package wiring

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/infergw/gwctl/dataplane/telemetry"
	"github.com/infergw/gwctl/pkg/gateway"
)

// tracing returns the server-span middleware of a config's frontend.tracing (nil without one,
// or when --otlp-endpoint is not set either). The TracerProvider is kept while its settings are
// unchanged, and shut down (flushing its spans) when a reload replaces it.
func (in *Installer) tracing(cfg *gateway.Config) func(http.Handler) http.Handler {
	tc := telemetry.TracingConfig{ServiceName: "gwctl-dataplane", Insecure: true}
	switch {
	case cfg.Tracing != nil:
		tc.Endpoint, tc.Path = cfg.Tracing.Endpoint, cfg.Tracing.Path
		tc.Protocol = telemetry.Protocol(strings.ToUpper(cfg.Tracing.Protocol))
		tc.RandomSampling, tc.ClientSampling = cfg.Tracing.RandomSampling, cfg.Tracing.ClientSampling
	case in.opts.OTLPEndpoint != "":
		tc.Endpoint, tc.RandomSampling = in.opts.OTLPEndpoint, "true"
	default:
		in.setTracer("", nil)
		return nil
	}
	sig := fmt.Sprintf("%+v", tc)
	in.mu.Lock()
	if in.tracerSig == sig && in.tracer != nil {
		tp := in.tracer
		in.mu.Unlock()
		return telemetry.ServerMiddleware(tp)
	}
	in.mu.Unlock()
	tp, err := telemetry.NewTracerProvider(in.ctx, tc)
	if err != nil {
		in.log.Error("tracing not started", "endpoint", tc.Endpoint, "error", err.Error())
		return nil
	}
	in.setTracer(sig, tp)
	return telemetry.ServerMiddleware(tp)
}

func (in *Installer) setTracer(sig string, tp *sdktrace.TracerProvider) {
	in.mu.Lock()
	old := in.tracer
	in.tracer, in.tracerSig = tp, sig
	in.tracingOn.Store(tp != nil)
	in.mu.Unlock()
	if old != nil && old != tp {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = old.Shutdown(ctx)
		}()
	}
}

// spans is a TracerProvider for the policy and backend packages that always uses the
// TracerProvider of the config in use, so their child spans (JWT check, rate limit, MCP)
// follow frontend.tracing across reloads; with tracing off they are no-ops.
type spans struct {
	embedded.TracerProvider
	in *Installer
}

func (s spans) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return spanTracer{in: s.in, name: name, opts: opts}
}

type spanTracer struct {
	embedded.Tracer
	in   *Installer
	name string
	opts []trace.TracerOption
}

func (t spanTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	t.in.mu.Lock()
	tp := t.in.tracer
	t.in.mu.Unlock()
	if tp == nil {
		return noop.NewTracerProvider().Tracer(t.name).Start(ctx, name, opts...)
	}
	return tp.Tracer(t.name, t.opts...).Start(ctx, name, opts...)
}

// traceTransport wraps an upstream transport with a client span per call and W3C trace context
// propagation while frontend.tracing is on; with tracing off it calls base directly.
func (in *Installer) traceTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	traced := telemetry.Transport(base, spans{in: in})
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if in.tracingOn.Load() {
			return traced.RoundTrip(r)
		}
		return base.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
