// Package llm holds what the dataplane's LLM provider backends share: a flushing SSE writer,
// token usage and its Prometheus counters, the per-request route labels and the result handed to
// tracing. Errors are written by dataplane/apierror, streams read by dataplane/sse.
//
// Each provider lives in a subpackage (anthropic, openai) and is an http.Handler serving
// POST /v1/chat/completions.
package llm
