package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// GenAI attribute names, OpenTelemetry semantic conventions v1.41.0 (the last core release with
// gen_ai.*; kept as literals, checked against go.opentelemetry.io/otel/semconv/v1.41.0 in tests).
const (
	AttrOperationName         = "gen_ai.operation.name"
	AttrProviderName          = "gen_ai.provider.name"
	AttrRequestModel          = "gen_ai.request.model"
	AttrRequestMaxTokens      = "gen_ai.request.max_tokens"
	AttrRequestTemperature    = "gen_ai.request.temperature"
	AttrRequestTopP           = "gen_ai.request.top_p"
	AttrRequestStream         = "gen_ai.request.stream"
	AttrResponseModel         = "gen_ai.response.model"
	AttrResponseID            = "gen_ai.response.id"
	AttrResponseFinishReasons = "gen_ai.response.finish_reasons"
	AttrUsageInputTokens      = "gen_ai.usage.input_tokens"
	AttrUsageOutputTokens     = "gen_ai.usage.output_tokens"
	AttrUsageCacheReadInput   = "gen_ai.usage.cache_read.input_tokens"
	AttrUsageCacheCreateInput = "gen_ai.usage.cache_creation.input_tokens"
	AttrTokenType             = "gen_ai.token.type"
	AttrConversationID        = "gen_ai.conversation.id"
	AttrErrorType             = "error.type"

	AttrMCPMethodName      = "mcp.method.name"
	AttrMCPSessionID       = "mcp.session.id"
	AttrMCPProtocolVersion = "mcp.protocol.version"
	AttrMCPResourceURI     = "mcp.resource.uri"
)

// Well-known values of gen_ai.operation.name, gen_ai.provider.name and gen_ai.token.type.
const (
	OperationChat           = "chat"
	OperationTextCompletion = "text_completion"
	OperationEmbeddings     = "embeddings"
	OperationExecuteTool    = "execute_tool"

	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"

	TokenTypeInput  = "input"
	TokenTypeOutput = "output"
)

// GenAI and MCP metric names (semantic conventions v1.41.0). Prometheus exposes them with
// underscores (gen_ai_client_token_usage), as agentgateway does.
const (
	MetricClientTokenUsage           = "gen_ai.client.token.usage"
	MetricClientOperationDuration    = "gen_ai.client.operation.duration"
	MetricClientTimeToFirstChunk     = "gen_ai.client.operation.time_to_first_chunk"
	MetricClientTimePerOutputChunk   = "gen_ai.client.operation.time_per_output_chunk"
	MetricServerRequestDuration      = "gen_ai.server.request.duration"
	MetricServerTimeToFirstToken     = "gen_ai.server.time_to_first_token"
	MetricServerTimePerOutputToken   = "gen_ai.server.time_per_output_token"
	MetricMCPServerOperationDuration = "mcp.server.operation.duration"
	MetricMCPClientOperationDuration = "mcp.client.operation.duration"
)

// LLMRequest is what is known about a model call before it is sent.
type LLMRequest struct {
	Operation string // gen_ai.operation.name, e.g. OperationChat
	Provider  string // gen_ai.provider.name, e.g. ProviderAnthropic
	Model     string // gen_ai.request.model
	MaxTokens int64  // 0: unset
	Stream    bool
}

// LLMResponse is what is known after the call.
type LLMResponse struct {
	Model         string // gen_ai.response.model
	ID            string
	InputTokens   int64
	OutputTokens  int64
	FinishReasons []string
}

// StartLLM starts the CLIENT span for a model call, named "{operation} {model}" (e.g.
// "chat claude-haiku-4-5"). Inject the context into the upstream request with Inject.
func StartLLM(ctx context.Context, tracer trace.Tracer, req LLMRequest) (context.Context, trace.Span) {
	name := req.Operation
	if req.Model != "" {
		name += " " + req.Model
	}
	attrs := []attribute.KeyValue{
		attribute.String(AttrOperationName, req.Operation),
		attribute.String(AttrProviderName, req.Provider),
		attribute.String(AttrRequestModel, req.Model),
	}
	if req.MaxTokens > 0 {
		attrs = append(attrs, attribute.Int64(AttrRequestMaxTokens, req.MaxTokens))
	}
	if req.Stream {
		attrs = append(attrs, attribute.Bool(AttrRequestStream, true))
	}
	return tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// SetLLMResponse records the response attributes on a span from StartLLM (end it with EndUpstream).
func SetLLMResponse(span trace.Span, resp LLMResponse) {
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.Int64(AttrUsageInputTokens, resp.InputTokens),
		attribute.Int64(AttrUsageOutputTokens, resp.OutputTokens),
	}
	if resp.Model != "" {
		attrs = append(attrs, attribute.String(AttrResponseModel, resp.Model))
	}
	if resp.ID != "" {
		attrs = append(attrs, attribute.String(AttrResponseID, resp.ID))
	}
	if len(resp.FinishReasons) > 0 {
		attrs = append(attrs, attribute.StringSlice(AttrResponseFinishReasons, resp.FinishReasons))
	}
	span.SetAttributes(attrs...)
}
