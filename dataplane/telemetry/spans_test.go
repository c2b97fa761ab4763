package telemetry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/infergw/gwctl/dataplane/telemetry"
)

func TestStartUpstreamAndPick(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tracer := tp.Tracer(telemetry.TracerName)
	ctx, root := tracer.Start(context.Background(), "root")

	req, _ := http.NewRequest(http.MethodPost, "http://user:secret@svc.ns:8080/v1/x?key=sk-123", nil)
	_, up := telemetry.StartUpstream(ctx, tracer, req)
	telemetry.EndUpstream(up, 502, nil)
	_, pick := telemetry.StartEndpointPick(ctx, tracer, "pool-a")
	telemetry.EndEndpointPick(pick, "", errors.New("no ready endpoint"))
	root.End()

	tp2 := req.Header.Get("traceparent")
	if !strings.Contains(tp2, up.SpanContext().SpanID().String()) {
		t.Fatalf("traceparent %q does not carry the upstream span", tp2)
	}
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans[:2] {
		if s.Parent().SpanID() != root.SpanContext().SpanID() || s.Status().Code != codes.Error {
			t.Errorf("%s: parent %v status %v", s.Name(), s.Parent().SpanID(), s.Status())
		}
		for _, a := range s.Attributes() {
			if v := a.Value.String(); strings.Contains(v, "secret") || strings.Contains(v, "sk-123") {
				t.Errorf("%s: attribute %s leaks a credential: %s", s.Name(), a.Key, v)
			}
		}
	}
}

func TestStartChildUnsampledAllocatesNothing(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	tracer := tp.Tracer(telemetry.TracerName)
	ctx, root := tracer.Start(context.Background(), "root")
	defer root.End()
	allocs := testing.AllocsPerRun(100, func() {
		_, s := telemetry.StartChild(ctx, tracer, telemetry.SpanJWT)
		s.End()
	})
	if allocs != 0 {
		t.Fatalf("StartChild under an unsampled parent: %v allocs", allocs)
	}
}
