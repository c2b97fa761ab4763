package anthropic

import (
	"slices"
	"strings"
)

// ThinkingStyle is how a model is asked to reason.
type ThinkingStyle int

const (
	ThinkingNone     ThinkingStyle = iota // no extended thinking
	ThinkingBudget                        // thinking {type: enabled, budget_tokens}
	ThinkingAdaptive                      // thinking {type: adaptive} + output_config.effort
)

// ModelCaps is one row of the capability table, matched by the longest Prefix of the model id.
type ModelCaps struct {
	Prefix          string
	MaxOutputTokens int64
	// RestrictedSampling: the model accepts only temperature 1.0, top_p >= 0.99 and no top_k;
	// other values are dropped.
	RestrictedSampling bool
	Thinking           ThinkingStyle
	// StructuredOutput: output_config.format is accepted; otherwise json_schema uses a
	// forced tool.
	StructuredOutput bool
	// SystemMessages: role "system" is accepted inside messages.
	SystemMessages bool
}

// builtinModels is the capability table of Anthropic's model families (Anthropic docs,
// "Models overview" and the x-stainless-deprecation notes of the API spec).
var builtinModels = []ModelCaps{
	{Prefix: "claude-opus-4-8", MaxOutputTokens: 128000, RestrictedSampling: true, Thinking: ThinkingAdaptive, StructuredOutput: true, SystemMessages: true},
	{Prefix: "claude-opus-4-7", MaxOutputTokens: 128000, RestrictedSampling: true, Thinking: ThinkingAdaptive, StructuredOutput: true},
	{Prefix: "claude-opus-4-6", MaxOutputTokens: 128000, Thinking: ThinkingAdaptive, StructuredOutput: true},
	{Prefix: "claude-sonnet-4-6", MaxOutputTokens: 64000, Thinking: ThinkingAdaptive, StructuredOutput: true},
	{Prefix: "claude-opus-4-5", MaxOutputTokens: 64000, Thinking: ThinkingBudget, StructuredOutput: true},
	{Prefix: "claude-sonnet-4-5", MaxOutputTokens: 64000, Thinking: ThinkingBudget, StructuredOutput: true},
	{Prefix: "claude-haiku-4-5", MaxOutputTokens: 64000, Thinking: ThinkingBudget, StructuredOutput: true},
	{Prefix: "claude-opus-4-1", MaxOutputTokens: 32000, Thinking: ThinkingBudget, StructuredOutput: true},
	{Prefix: "claude-opus-4", MaxOutputTokens: 32000, Thinking: ThinkingBudget},
	{Prefix: "claude-sonnet-4", MaxOutputTokens: 64000, Thinking: ThinkingBudget},
	{Prefix: "claude-3-7-sonnet", MaxOutputTokens: 64000, Thinking: ThinkingBudget},
	{Prefix: "claude-3-5-haiku", MaxOutputTokens: 8192},
	{Prefix: "claude-3-5-sonnet", MaxOutputTokens: 8192},
	{Prefix: "claude-3-haiku", MaxOutputTokens: 4096},
	{Prefix: "claude-3-opus", MaxOutputTokens: 4096},
}

// unknownModel applies to ids that match no prefix (proxies, future models): budget
// thinking and the forced-tool fallback work on every current model.
var unknownModel = ModelCaps{Thinking: ThinkingBudget}

// modelTable finds capabilities by longest prefix.
type modelTable []ModelCaps

func newModelTable(extra []ModelCaps) modelTable {
	t := append(slices.Clone(extra), builtinModels...)
	// Longest prefix first; on equal length the configured row (earlier) wins.
	slices.SortStableFunc(t, func(a, b ModelCaps) int { return len(b.Prefix) - len(a.Prefix) })
	return t
}

func (t modelTable) lookup(model string) ModelCaps {
	// Bedrock/Vertex-style ids ("anthropic.claude-...", "claude-...@2025") still match.
	m := strings.TrimPrefix(model, "anthropic.")
	for _, c := range t {
		if c.Prefix != "" && strings.HasPrefix(m, c.Prefix) {
			return c
		}
	}
	return unknownModel
}
