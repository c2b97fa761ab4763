package telemetry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// promName is the Prometheus form of an OpenTelemetry metric name (dots to underscores).
func promName(otel string) string { return strings.ReplaceAll(otel, ".", "_") }

// Bucket boundaries advised by the semantic conventions.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	tpotBuckets     = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5}
)

// GenAIMetrics are the histograms recorded for LLM calls, exposed as gen_ai_client_token_usage,
// gen_ai_server_request_duration, gen_ai_server_time_to_first_token and
// gen_ai_server_time_per_output_token (the names agentgateway exposes), labelled by
// gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model (and gen_ai_token_type).
// The model label is bounded: a model not configured for the call's route or backend is "other".
type GenAIMetrics struct {
	tokenUsage *prometheus.HistogramVec
	duration   *prometheus.HistogramVec
	ttft       *prometheus.HistogramVec
	tpot       *prometheus.HistogramVec
}

var genAILabels = []string{promName(AttrOperationName), promName(AttrProviderName), promName(AttrRequestModel)}

// NewGenAIMetrics registers the histograms with reg (or reuses them when another generation
// of the config already did).
func NewGenAIMetrics(reg prometheus.Registerer) (*GenAIMetrics, error) {
	var m GenAIMetrics
	var err error
	if m.tokenUsage, err = histogram(reg, MetricClientTokenUsage, "Number of input and output tokens used.", tokenBuckets,
		append(append([]string(nil), genAILabels...), promName(AttrTokenType))); err != nil {
		return nil, err
	}
	if m.duration, err = histogram(reg, MetricServerRequestDuration, "Generative AI server request duration, seconds.", durationBuckets, genAILabels); err != nil {
		return nil, err
	}
	if m.ttft, err = histogram(reg, MetricServerTimeToFirstToken, "Time to generate the first token, seconds.", ttftBuckets, genAILabels); err != nil {
		return nil, err
	}
	if m.tpot, err = histogram(reg, MetricServerTimePerOutputToken, "Time per output token after the first, seconds.", tpotBuckets, genAILabels); err != nil {
		return nil, err
	}
	return &m, nil
}

func histogram(reg prometheus.Registerer, name, help string, buckets []float64, labels []string) (*prometheus.HistogramVec, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: promName(name), Help: help, Buckets: buckets}, labels)
	if reg == nil {
		return h, nil
	}
	if err := reg.Register(h); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.HistogramVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("telemetry: registering %s: %w", name, err)
	}
	return h, nil
}

// LLMCall is one finished model call, for RecordLLMCall.
type LLMCall struct {
	Request  LLMRequest
	Response LLMResponse
	// Duration is from the request to the end of the response.
	Duration time.Duration
	// TimeToFirstToken is from the request to the first streamed content; 0 for unary responses.
	TimeToFirstToken time.Duration
	// Models are the models configured for the call's route and backend. Request.Model is the
	// model label only when it is one of them, else LabelOther: clients choose the model they send.
	Models Vocabulary
}

// RecordLLMCall observes token usage, duration, time to first token and time per output token.
func (m *GenAIMetrics) RecordLLMCall(c LLMCall) {
	if m == nil {
		return
	}
	op, prov, model := c.Request.Operation, c.Request.Provider, c.Models.Label(c.Request.Model)
	m.tokenUsage.WithLabelValues(op, prov, model, TokenTypeInput).Observe(float64(c.Response.InputTokens))
	m.tokenUsage.WithLabelValues(op, prov, model, TokenTypeOutput).Observe(float64(c.Response.OutputTokens))
	m.duration.WithLabelValues(op, prov, model).Observe(c.Duration.Seconds())
	if c.TimeToFirstToken > 0 {
		m.ttft.WithLabelValues(op, prov, model).Observe(c.TimeToFirstToken.Seconds())
		if c.Response.OutputTokens > 1 {
			per := (c.Duration - c.TimeToFirstToken).Seconds() / float64(c.Response.OutputTokens-1)
			m.tpot.WithLabelValues(op, prov, model).Observe(per)
		}
	}
}
