package telemetry_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infergw/gwctl/dataplane/telemetry"
)

// GenAIMetrics is not fed by a request path yet; this sends it 10,000 client-chosen models
// directly: the model label stays within the configured models and "other".
func TestGenAIModelLabelBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := telemetry.NewGenAIMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	configured := telemetry.NewVocabulary("claude-haiku-4-5")
	for i := 0; i <= 10000; i++ {
		model := fmt.Sprintf("model-%d", i)
		if i == 0 {
			model = "claude-haiku-4-5"
		}
		m.RecordLLMCall(telemetry.LLMCall{
			Request:  telemetry.LLMRequest{Operation: "chat", Provider: "anthropic", Model: model},
			Response: telemetry.LLMResponse{Model: model + "-echo", InputTokens: 3, OutputTokens: 2},
			Duration: time.Second, TimeToFirstToken: time.Millisecond, Models: configured,
		})
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]bool{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "gen_ai_request_model" {
					models[l.GetValue()] = true
				}
			}
		}
	}
	if len(models) != 2 || !models["claude-haiku-4-5"] || !models[telemetry.LabelOther] {
		t.Fatalf("model label values %v", models)
	}
}
