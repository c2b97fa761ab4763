package gemini

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm"
)

// call is the llm.Translator of one request: OpenAI chat completions to Gemini generateContent.
type call struct {
	t       *translator
	up      *upstreamRequest
	created int64
	key     string
	st      *streamState
}

func (c *call) RequestBody(ctx context.Context, body []byte) (*llm.UpstreamRequest, *apierror.Error) {
	c.created = time.Now().Unix()
	up, err := c.t.translateRequest(ctx, body)
	if err != nil {
		return nil, err
	}
	c.up = up
	return &llm.UpstreamRequest{Path: up.Path, Body: up.Body, Model: up.Model, Stream: up.Stream}, nil
}

// RequestHeaders sends the backend key as x-goog-api-key (never in the URL, where access logs
// would keep it); the client's credentials are not forwarded.
func (c *call) RequestHeaders(h, _ http.Header, key string) {
	c.key = key
	h.Set("X-Goog-Api-Key", key)
}

// ResponseHeaders forwards Retry-After and Google's request id.
func (c *call) ResponseHeaders(dst, src http.Header) {
	if ra := src.Get("Retry-After"); ra != "" {
		dst.Set("Retry-After", ra)
	}
	for _, k := range []string{"X-Request-Id", "X-Goog-Request-Id"} {
		if v := src.Get(k); v != "" {
			dst.Set(k, v)
		}
	}
}

func (c *call) ResponseBody(ctx context.Context, b []byte, res *llm.Result) ([]byte, *apierror.Error) {
	comp, ok := c.t.translateResponse(ctx, b, c.created, c.up.Model)
	if !ok {
		return nil, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response",
			Message: "the Gemini upstream returned an unexpected body: " + llm.Redact(llm.Truncate(b, 256), c.key)}
	}
	res.ResponseModel, res.ResponseID, res.FinishReason = comp.Model, comp.ID, comp.FinishReason
	res.Usage, res.HasUsage = comp.Usage, comp.HasUsage
	return comp.Body, nil
}

func (c *call) stream(ctx context.Context) *streamState {
	if c.st == nil {
		c.st = c.t.newStream(ctx, c.created, c.up)
		c.st.secret = c.key
	}
	return c.st
}

func (c *call) StreamEvent(ctx context.Context, data []byte, w llm.ChunkWriter) (bool, error) {
	return c.stream(ctx).StreamEvent(ctx, data, w)
}

func (c *call) StreamEnd(ctx context.Context, err error, w llm.ChunkWriter) error {
	return c.stream(ctx).StreamEnd(ctx, err, w)
}

func (c *call) StreamResult(res *llm.Result) {
	if st := c.st; st != nil && st.started {
		res.ResponseModel, res.ResponseID, res.FinishReason = strings.Clone(st.model), st.id, st.finish
		res.Usage, res.HasUsage = st.usage, st.hasUsage
	}
}

func (c *call) ResponseError(status int, h http.Header, body []byte) *apierror.Error {
	return upstreamError(status, h, body)
}
