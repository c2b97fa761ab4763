// Package telemetry sets up the dataplane's tracing (spec.frontend.tracing: OTLP over gRPC or
// HTTP, sampling, resource attributes), the server-span middleware with W3C trace context, span
// helpers for the JWT check, endpoint pick and upstream calls, and GenAI attribute and metric names.
package telemetry

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/infergw/gwctl/pkg/gateway"
)

// Protocol is the OTLP transport (frontend.tracing.protocol).
type Protocol string

const (
	ProtocolGRPC Protocol = "GRPC" // the CRD default
	ProtocolHTTP Protocol = "HTTP"
)

// TracingConfig mirrors spec.frontend.tracing once the compile step has resolved backendRef.
type TracingConfig struct {
	// Endpoint is host:port of the collector (the resolved backendRef), or a full http(s):// URL.
	Endpoint string
	// Protocol defaults to ProtocolGRPC.
	Protocol Protocol
	// Path is the OTLP/HTTP path; default /v1/traces. Only with ProtocolHTTP.
	Path string
	// Insecure sends without TLS (in-cluster collectors); implied by an http:// Endpoint.
	Insecure bool
	// RandomSampling is the CRD's CEL string for requests without a sampled client trace.
	// Supported: literal "true", "false" or a number in [0, 1] ("0.1"). Empty: never.
	RandomSampling string
	// ClientSampling is the CEL string for requests whose client sent a sampled traceparent.
	// Same literal forms; empty: always (100 %).
	ClientSampling string
	// ServiceName is service.name; default "agentgateway".
	ServiceName string
	// ResourceAttributes are added to the resource (frontend.tracing.resources with literal values).
	ResourceAttributes map[string]string
}

// ParseSampling reads a sampling expression in its supported literal forms: "true" (1),
// "false" (0) or a decimal in [0, 1]. It is gateway.ParseSampling, which Compile checks
// frontend.tracing with, so a policy gwctl validate accepts starts tracing here.
func ParseSampling(expr string) (float64, error) {
	f, err := gateway.ParseSampling(expr)
	if err != nil {
		return 0, fmt.Errorf("telemetry: %w", err)
	}
	return f, nil
}

// NewSampler implements randomSampling/clientSampling: a span whose parent came from the client
// sampled is kept with the clientSampling ratio (default 1); a root span, or one whose client
// parent was not sampled, with the randomSampling ratio (default 0); local children follow their parent.
func NewSampler(randomSampling, clientSampling string) (sdktrace.Sampler, error) {
	random, client := 0.0, 1.0
	var err error
	if randomSampling != "" {
		if random, err = ParseSampling(randomSampling); err != nil {
			return nil, err
		}
	}
	if clientSampling != "" {
		if client, err = ParseSampling(clientSampling); err != nil {
			return nil, err
		}
	}
	rs := ratio(random)
	return sdktrace.ParentBased(rs,
		sdktrace.WithRemoteParentSampled(ratio(client)),
		sdktrace.WithRemoteParentNotSampled(rs),
	), nil
}

func ratio(f float64) sdktrace.Sampler {
	switch {
	case f >= 1:
		return sdktrace.AlwaysSample()
	case f <= 0:
		return sdktrace.NeverSample()
	}
	return sdktrace.TraceIDRatioBased(f)
}

// NewTracerProvider builds an SDK tracer provider exporting to cfg's collector in batches.
// The caller owns it: Shutdown flushes and stops it.
func NewTracerProvider(ctx context.Context, cfg TracingConfig) (*sdktrace.TracerProvider, error) {
	sampler, err := NewSampler(cfg.RandomSampling, cfg.ClientSampling)
	if err != nil {
		return nil, err
	}
	exp, err := newExporter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	name := cfg.ServiceName
	if name == "" {
		name = "agentgateway"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	for k, v := range cfg.ResourceAttributes {
		attrs = append(attrs, attribute.String(k, v))
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attrs...))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sampler),
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
	), nil
}

func newExporter(ctx context.Context, cfg TracingConfig) (sdktrace.SpanExporter, error) {
	endpoint, insecure := cfg.Endpoint, cfg.Insecure
	if endpoint == "" {
		return nil, fmt.Errorf("telemetry: tracing endpoint is required")
	}
	if rest, ok := strings.CutPrefix(endpoint, "http://"); ok {
		endpoint, insecure = rest, true
	} else if rest, ok := strings.CutPrefix(endpoint, "https://"); ok {
		endpoint = rest
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	switch cfg.Protocol {
	case "", ProtocolGRPC:
		if cfg.Path != "" {
			return nil, fmt.Errorf("telemetry: path is only valid with protocol HTTP")
		}
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint)}
		if insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP/gRPC exporter for %s: %w", endpoint, err)
		}
		return exp, nil
	case ProtocolHTTP:
		path := cfg.Path
		if path == "" {
			path = "/v1/traces"
		}
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("telemetry: path must start with /")
		}
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithURLPath(path)}
		if insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP/HTTP exporter for %s: %w", endpoint, err)
		}
		return exp, nil
	}
	return nil, fmt.Errorf("telemetry: protocol %q: want GRPC or HTTP", cfg.Protocol)
}
