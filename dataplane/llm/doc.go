// Package llm is the dataplane's one LLM provider handler, Upstream, and the Translator
// interface each provider implements (openai, anthropic, gemini), with what they share: usage,
// token metrics, the SSE writer, route labels and the Result handed to tracing.
package llm
