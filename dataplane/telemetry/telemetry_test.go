package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
	"go.opentelemetry.io/otel/semconv/v1.41.0/mcpconv"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/infergw/gwctl/dataplane/policy/jwt"
	"github.com/infergw/gwctl/dataplane/policy/ratelimit"
	"github.com/infergw/gwctl/dataplane/telemetry"
	"github.com/infergw/gwctl/dataplane/telemetry/otlptest"
)

const clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
const clientSpanID = "00f067aa0ba902b7"

// gateway is a miniature request path: server span → JWT middleware → endpoint pick → LLM call
// (to llm) and a plain upstream call (to plain) through telemetry.Transport.
func gateway(t testing.TB, tp trace.TracerProvider, llm, plain string) (http.Handler, string) {
	jwks, tok := testToken(t)
	auth, err := jwt.New(jwt.Config{Providers: []jwt.Provider{{Issuer: "https://issuer.test", Audiences: []string{"gateway"},
		JWKS: jwt.JWKS{Inline: jwks}}}}, jwt.Deps{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	tracer := tp.Tracer(telemetry.TracerName)
	client := &http.Client{Transport: telemetry.Transport(nil, tp)}
	lim, err := ratelimit.NewLocal(ratelimit.Limit{Requests: 100, Unit: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	limit := ratelimit.Middleware([]ratelimit.Rule{{Limiter: lim}}, ratelimit.Options{Tracer: tracer})
	return telemetry.ServerMiddleware(tp)(auth.Middleware(limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		_, ps := telemetry.StartEndpointPick(ctx, tracer, "qwen-pool")
		telemetry.EndEndpointPick(ps, "10.0.0.7:8000", nil)

		lctx, ls := telemetry.StartLLM(ctx, tracer, telemetry.LLMRequest{Operation: telemetry.OperationChat,
			Provider: telemetry.ProviderAnthropic, Model: "claude-haiku-4-5", MaxTokens: 64})
		req, _ := http.NewRequestWithContext(lctx, http.MethodPost, llm, nil)
		telemetry.Inject(lctx, req.Header)
		status := 0
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		telemetry.SetLLMResponse(ls, telemetry.LLMResponse{Model: "claude-haiku-4-5-20251001", ID: "msg_1",
			InputTokens: 12, OutputTokens: 34, FinishReasons: []string{"stop"}})
		telemetry.EndUpstream(ls, status, err)

		preq, _ := http.NewRequestWithContext(ctx, http.MethodGet, plain, nil)
		if presp, err := client.Do(preq); err == nil {
			presp.Body.Close()
		}
		w.WriteHeader(http.StatusOK)
	})))), tok
}

// upstream records the traceparent it receives.
func upstream(t *testing.T) (*httptest.Server, chan string) {
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestTracesReachOTLPReceiver(t *testing.T) {
	for _, proto := range []telemetry.Protocol{telemetry.ProtocolHTTP, telemetry.ProtocolGRPC} {
		t.Run(string(proto), func(t *testing.T) {
			var recv *otlptest.Receiver
			if proto == telemetry.ProtocolHTTP {
				recv = otlptest.NewHTTP(t)
			} else {
				recv = otlptest.NewGRPC(t)
			}
			ctx := context.Background()
			tp, err := telemetry.NewTracerProvider(ctx, telemetry.TracingConfig{
				Endpoint: recv.Endpoint, Protocol: proto, Insecure: true,
				RandomSampling:     "false", // only the client's sampled trace is kept
				ResourceAttributes: map[string]string{"k8s.namespace.name": "gw"},
			})
			if err != nil {
				t.Fatal(err)
			}
			llm, llmGot := upstream(t)
			plain, plainGot := upstream(t)
			h, tok := gateway(t, tp, llm.URL, plain.URL)

			r := httptest.NewRequest(http.MethodPost, "http://gw.test/v1/messages", nil)
			r.Header.Set("traceparent", "00-"+clientTraceID+"-"+clientSpanID+"-01")
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			llmTP, plainTP := <-llmGot, <-plainGot
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			spans := recv.WaitFor(t, 6, 10*time.Second)
			if len(spans) != 6 {
				t.Fatalf("%d spans, want 6 (server, jwt, rate limit, pick, llm, upstream): %+v", len(spans), spans)
			}
			by := map[string]otlptest.Span{}
			for _, s := range spans {
				if s.TraceID != clientTraceID {
					t.Errorf("span %s in trace %s, want the client's %s", s.Name, s.TraceID, clientTraceID)
				}
				by[s.Name] = s
			}
			server := by["POST"]
			if server.Kind != tracepb.Span_SPAN_KIND_SERVER || server.ParentSpanID != clientSpanID {
				t.Fatalf("server span %+v: want SERVER, child of the client's span", server)
			}
			if server.Attributes["http.response.status_code"] != int64(200) || server.Resource["k8s.namespace.name"] != "gw" {
				t.Errorf("server attributes %v resource %v", server.Attributes, server.Resource)
			}
			for _, name := range []string{telemetry.SpanJWT, telemetry.SpanRateLimit, telemetry.SpanEndpointPick, "chat claude-haiku-4-5", "upstream GET"} {
				s, ok := by[name]
				if !ok {
					t.Fatalf("no span %q in %v", name, spans)
				}
				if s.ParentSpanID != server.SpanID {
					t.Errorf("span %s parent %s, want the server span %s", name, s.ParentSpanID, server.SpanID)
				}
			}
			if by[telemetry.SpanEndpointPick].Attributes["inference.endpoint"] != "10.0.0.7:8000" {
				t.Errorf("pick attributes %v", by[telemetry.SpanEndpointPick].Attributes)
			}
			chat := by["chat claude-haiku-4-5"]
			want := map[string]any{
				telemetry.AttrOperationName: "chat", telemetry.AttrProviderName: "anthropic",
				telemetry.AttrRequestModel: "claude-haiku-4-5", telemetry.AttrResponseModel: "claude-haiku-4-5-20251001",
				telemetry.AttrUsageInputTokens: int64(12), telemetry.AttrUsageOutputTokens: int64(34),
				telemetry.AttrRequestMaxTokens: int64(64),
			}
			for k, v := range want {
				if chat.Attributes[k] != v {
					t.Errorf("%s = %v, want %v", k, chat.Attributes[k], v)
				}
			}
			if fr, _ := chat.Attributes[telemetry.AttrResponseFinishReasons].([]any); len(fr) != 1 || fr[0] != "stop" {
				t.Errorf("finish reasons %v", chat.Attributes[telemetry.AttrResponseFinishReasons])
			}
			if chat.Kind != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("chat span kind %v", chat.Kind)
			}
			// W3C propagation upstream: same trace, parent = the client span of that call.
			if want := "00-" + clientTraceID + "-" + chat.SpanID + "-01"; llmTP != want {
				t.Errorf("LLM upstream traceparent %q, want %q", llmTP, want)
			}
			if want := "00-" + clientTraceID + "-" + by["upstream GET"].SpanID + "-01"; plainTP != want {
				t.Errorf("plain upstream traceparent %q, want %q", plainTP, want)
			}
		})
	}
}

// An unsampled request's upstream calls still receive the client's trace context.
func TestUnsampledStillPropagates(t *testing.T) {
	recv := otlptest.NewHTTP(t)
	tp, err := telemetry.NewTracerProvider(context.Background(), telemetry.TracingConfig{
		Endpoint: "http://" + recv.Endpoint, Protocol: telemetry.ProtocolHTTP, ClientSampling: "false"})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	llm, llmGot := upstream(t)
	plain, plainGot := upstream(t)
	r := httptest.NewRequest(http.MethodGet, "http://gw.test/", nil)
	r.Header.Set("traceparent", "00-"+clientTraceID+"-"+clientSpanID+"-01")
	h, tok := gateway(t, tp, llm.URL, plain.URL)
	r.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got := <-llmGot; !strings.HasPrefix(got, "00-"+clientTraceID+"-") || !strings.HasSuffix(got, "-00") {
		t.Fatalf("unsampled upstream traceparent %q: want the client's trace, not sampled", got)
	}
	<-plainGot
	_ = tp.ForceFlush(context.Background())
	if n := len(recv.Spans()); n != 0 {
		t.Fatalf("clientSampling false exported %d spans", n)
	}
}

func TestSampling(t *testing.T) {
	tests := []struct {
		random, client string
		parent         string // "", "sampled", "unsampled"
		want           bool
	}{
		{"", "", "", false},
		{"true", "", "", true},
		{"1.0", "", "", true},
		{"0", "", "", false},
		{"", "", "sampled", true},
		{"", "false", "sampled", false},
		{"", "", "unsampled", false},
		{"true", "", "unsampled", true},
	}
	for _, tc := range tests {
		s, err := telemetry.NewSampler(tc.random, tc.client)
		if err != nil {
			t.Fatal(err)
		}
		tp := newTP(s)
		ctx := context.Background()
		if tc.parent != "" {
			flags := trace.TraceFlags(0)
			if tc.parent == "sampled" {
				flags = trace.FlagsSampled
			}
			tid, _ := trace.TraceIDFromHex(clientTraceID)
			sid, _ := trace.SpanIDFromHex(clientSpanID)
			ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true}))
		}
		_, span := tp.Tracer("t").Start(ctx, "x")
		if got := span.SpanContext().IsSampled(); got != tc.want {
			t.Errorf("random %q client %q parent %q: sampled %v, want %v", tc.random, tc.client, tc.parent, got, tc.want)
		}
		span.End()
	}
	for _, bad := range []string{"1.5", "-0.1", "request.headers['x'] == 'y'", "True"} {
		if _, err := telemetry.ParseSampling(bad); err == nil {
			t.Errorf("ParseSampling(%q) accepted", bad)
		}
	}
	if _, err := telemetry.NewTracerProvider(context.Background(), telemetry.TracingConfig{Endpoint: "127.0.0.1:1", Path: "/x"}); err == nil {
		t.Error("path with GRPC accepted")
	}
}

func TestSemconvNames(t *testing.T) {
	pairs := map[string]string{
		telemetry.AttrOperationName:         string(semconv.GenAIOperationNameKey),
		telemetry.AttrProviderName:          string(semconv.GenAIProviderNameKey),
		telemetry.AttrRequestModel:          string(semconv.GenAIRequestModelKey),
		telemetry.AttrResponseModel:         string(semconv.GenAIResponseModelKey),
		telemetry.AttrResponseID:            string(semconv.GenAIResponseIDKey),
		telemetry.AttrResponseFinishReasons: string(semconv.GenAIResponseFinishReasonsKey),
		telemetry.AttrUsageInputTokens:      string(semconv.GenAIUsageInputTokensKey),
		telemetry.AttrUsageOutputTokens:     string(semconv.GenAIUsageOutputTokensKey),
		telemetry.AttrTokenType:             string(semconv.GenAITokenTypeKey),
		telemetry.AttrRequestMaxTokens:      string(semconv.GenAIRequestMaxTokensKey),
		telemetry.AttrMCPMethodName:         string(semconv.McpMethodNameKey),
		telemetry.AttrMCPSessionID:          string(semconv.McpSessionIDKey),
	}
	for ours, theirs := range pairs {
		if ours != theirs {
			t.Errorf("%q differs from semconv v1.41.0 %q", ours, theirs)
		}
	}
	metrics := map[string]string{
		telemetry.MetricClientTokenUsage:           genaiconv.ClientTokenUsage{}.Name(),
		telemetry.MetricServerRequestDuration:      genaiconv.ServerRequestDuration{}.Name(),
		telemetry.MetricServerTimeToFirstToken:     genaiconv.ServerTimeToFirstToken{}.Name(),
		telemetry.MetricServerTimePerOutputToken:   genaiconv.ServerTimePerOutputToken{}.Name(),
		telemetry.MetricClientOperationDuration:    genaiconv.ClientOperationDuration{}.Name(),
		telemetry.MetricClientTimeToFirstChunk:     genaiconv.ClientOperationTimeToFirstChunk{}.Name(),
		telemetry.MetricClientTimePerOutputChunk:   genaiconv.ClientOperationTimePerOutputChunk{}.Name(),
		telemetry.MetricMCPServerOperationDuration: mcpconv.ServerOperationDuration{}.Name(),
		telemetry.MetricMCPClientOperationDuration: mcpconv.ClientOperationDuration{}.Name(),
	}
	for ours, theirs := range metrics {
		if ours != theirs {
			t.Errorf("metric %q differs from semconv v1.41.0 %q", ours, theirs)
		}
	}
}

func TestGenAIMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := telemetry.NewGenAIMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := telemetry.NewGenAIMetrics(reg); err != nil {
		t.Fatalf("second generation: %v", err)
	}
	m.RecordLLMCall(telemetry.LLMCall{
		Request:  telemetry.LLMRequest{Operation: "chat", Provider: "openai", Model: "gpt-4o"},
		Response: telemetry.LLMResponse{InputTokens: 10, OutputTokens: 21},
		Duration: 2 * time.Second, TimeToFirstToken: 200 * time.Millisecond,
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			got[mf.GetName()] += mt.GetHistogram().GetSampleCount()
		}
	}
	want := map[string]uint64{"gen_ai_client_token_usage": 2, "gen_ai_server_request_duration": 1,
		"gen_ai_server_time_to_first_token": 1, "gen_ai_server_time_per_output_token": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d samples, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func newTP(s sdktrace.Sampler) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(s))
}
