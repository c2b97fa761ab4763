package llm

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/sse"
)

// Translator maps one OpenAI chat completion request to one provider's API and the reply
// back, the way Envoy AI Gateway's translators do: one implementation per (client API,
// provider API) pair, everything else (body limits, credentials, the call, timeouts,
// streaming, usage, metrics, tracing, error shape) is the Upstream handler's. An Upstream makes
// one Translator per request (UpstreamConfig.NewTranslator); it is not used concurrently.
type Translator interface {
	// RequestBody maps the client's request body to the upstream call. An error is answered to
	// the client as it is (a 400 naming the parameter, usually) and nothing is sent upstream.
	RequestBody(ctx context.Context, body []byte) (*UpstreamRequest, *apierror.Error)
	// RequestHeaders sets the provider's headers on the upstream request: the credential key
	// ("" when the backend has none) and any header derived from the client's (in). The
	// translator may keep key to redact it from upstream messages.
	RequestHeaders(h, in http.Header, key string)
	// ResponseHeaders copies the upstream response headers a client may see (request ids,
	// rate limits, Retry-After) to dst, for successful and failed calls alike.
	ResponseHeaders(dst, src http.Header)
	// ResponseBody translates a whole 2xx reply and records its model, id, finish reason and
	// usage on res. body is only valid during the call: what res keeps must be copied. An
	// error means the reply could not be read as the provider's response (a 502).
	ResponseBody(ctx context.Context, body []byte, res *Result) ([]byte, *apierror.Error)
	StreamTranslator
	// StreamResult records what the stream reported (model, id, finish reason, usage) on res
	// once it has ended, cleanly or not.
	StreamResult(res *Result)
	// ResponseError maps a non-2xx upstream reply (status, headers, at most 64 KiB of body) to
	// the client's error.
	ResponseError(status int, header http.Header, body []byte) *apierror.Error
}

// StreamTranslator is the streaming half of a Translator, driven by RelayStream.
type StreamTranslator interface {
	// StreamEvent translates one upstream event's data. done reports the end of the stream
	// (the translator has written its last chunk and [DONE], or a final error). An error is a
	// *StreamError already written to the client, or a client write failure.
	StreamEvent(ctx context.Context, data []byte, w ChunkWriter) (done bool, err error)
	// StreamEnd is called when the upstream body ends or fails (err; io.EOF at its end) before
	// StreamEvent reported done and while the request context is live. It writes what the
	// client must see (a final error event, or the end of a stream that may end with EOF) and
	// returns nil for a clean end or a *StreamError.
	StreamEnd(ctx context.Context, err error, w ChunkWriter) error
}

// UpstreamRequest is a translated request ready to send.
type UpstreamRequest struct {
	// Path is the operation under the backend's base URL, with any query
	// ("/chat/completions", "/models/gemini-2.5-flash:streamGenerateContent?alt=sse").
	Path   string
	Body   []byte
	Model  string // the model sent upstream (a metric label and gen_ai.request.model)
	Stream bool   // the client asked for a stream, and the upstream answers with one
	// OwnBody says Body is new memory, not the client's body nor a part of it, and nothing
	// the translator keeps (but the model, which Upstream copies) points into the client's
	// body: Upstream then reuses the client body's buffer once the request is done.
	OwnBody bool
}

// Releaser is a Translator holding pooled memory for the length of its request (a translated
// reply body): Upstream calls Release once the response is written and the request recorded.
type Releaser interface {
	Release()
}

// ChunkWriter receives a translated stream; *SSEWriter implements it.
type ChunkWriter interface {
	// Data writes one event with payload as its data.
	Data(payload []byte) error
	// Done writes the end-of-stream marker.
	Done() error
}

// StreamError is a stream that failed after the response started; its error has already been
// written to the client as the stream's last event.
type StreamError struct{ Err *apierror.Error }

func (e *StreamError) Error() string { return e.Err.Error() }

// RelayStream reads the upstream event stream body and hands each event to t until t reports
// the end, the body ends (t.StreamEnd), the client goes away or ctx ends (ctx's error). When w
// is an *SSEWriter, chunks that arrive together are flushed together, and whatever is written
// last is flushed before it returns.
func RelayStream(ctx context.Context, body io.Reader, w ChunkWriter, t StreamTranslator) error {
	rd := sse.NewReader(body, 0)
	defer rd.Release()
	if sw, ok := w.(*SSEWriter); ok {
		sw.FlushWhenIdle(rd)              // one flush per burst of upstream events, none held while waiting
		defer func() { _ = sw.Flush() }() // a final error event leaves before the request's bookkeeping
	}
	for {
		ev, err := rd.Next()
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return t.StreamEnd(ctx, err, w)
		}
		done, err := t.StreamEvent(ctx, ev.Data, w)
		if err != nil || done {
			return err
		}
	}
}

// IsStreamError reports whether err is a *StreamError and returns it.
func IsStreamError(err error) (*StreamError, bool) {
	var se *StreamError
	ok := errors.As(err, &se)
	return se, ok
}
