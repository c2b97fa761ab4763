package llm

import "context"

// Result describes one finished chat-completion call, for tracing (gen_ai.* span attributes)
// and access logs. Providers pass it to a ResultFunc once the response is complete, failed
// or abandoned.
type Result struct {
	Provider      string // gen_ai.system: "anthropic", "openai"
	Route         RouteInfo
	RequestModel  string // gen_ai.request.model: the model sent upstream (after any override)
	ResponseModel string // gen_ai.response.model
	ResponseID    string // gen_ai.response.id
	FinishReason  string // gen_ai.response.finish_reasons[0], OpenAI vocabulary; "" when none
	Stream        bool
	Usage         Usage
	HasUsage      bool   // the upstream reported usage (false on early errors)
	Status        int    // HTTP status returned to the client
	ErrorType     string // OpenAI error type when the call failed (error.type), "" on success
}

// ResultFunc receives the Result of each request. It runs on the request goroutine after the
// response has been written; it must not block.
type ResultFunc func(ctx context.Context, r Result)
