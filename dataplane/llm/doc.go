// Package llm holds what the dataplane's LLM provider backends share: the OpenAI error shape,
// a bounded SSE reader and a flushing SSE writer, token usage and its Prometheus counters,
// the per-request route labels and the result handed to tracing.
//
// Each provider lives in a subpackage (anthropic, openai) and is an http.Handler serving
// POST /v1/chat/completions.
package llm
