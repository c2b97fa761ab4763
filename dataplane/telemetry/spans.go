package telemetry

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Span names of the dataplane's child spans.
const (
	SpanJWT          = "jwt.authenticate"
	SpanRateLimit    = "ratelimit.check"
	SpanEndpointPick = "endpoint.pick"
	SpanUpstream     = "upstream"
)

// TracerName is the instrumentation scope of the dataplane's spans.
const TracerName = "github.com/infergw/gwctl/dataplane"

// StartChild starts a child span of the span in ctx, but only when that span is recording: under
// an unsampled or absent parent it returns ctx and the (non-recording) parent, so the unsampled
// hot path allocates nothing. End the returned span in both cases.
func StartChild(ctx context.Context, tracer trace.Tracer, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
}

// StartEndpointPick starts the span around an InferencePool endpoint pick.
func StartEndpointPick(ctx context.Context, tracer trace.Tracer, pool string) (context.Context, trace.Span) {
	return StartChild(ctx, tracer, SpanEndpointPick, attribute.String("inference.pool", pool))
}

// EndEndpointPick records the picked endpoint (host:port) or the error, and ends the span.
func EndEndpointPick(span trace.Span, endpoint string, err error) {
	if span.IsRecording() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "no endpoint")
		} else {
			span.SetAttributes(attribute.String("inference.endpoint", endpoint))
		}
	}
	span.End()
}

// StartUpstream starts a CLIENT span for a plain upstream HTTP call and injects its W3C
// traceparent (and tracestate) into req's headers. Use StartLLM for model calls.
func StartUpstream(ctx context.Context, tracer trace.Tracer, req *http.Request) (context.Context, trace.Span) {
	ctx, span := tracer.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("server.address", req.URL.Hostname()),
			attribute.String("url.full", redactedURL(req)),
		))
	Inject(ctx, req.Header)
	return ctx, span
}

// EndUpstream records the upstream status (or error) and ends a span from StartUpstream or StartLLM.
func EndUpstream(span trace.Span, status int, err error) {
	if span.IsRecording() {
		if status > 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		} else if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}

var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Inject writes the W3C trace context of ctx into h (for a request going upstream).
func Inject(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Extract reads the W3C trace context from h (a request from a client).
func Extract(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

func redactedURL(r *http.Request) string {
	u := *r.URL
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
