package anthropic

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm"
)

// Handler serves OpenAI chat completions from an Anthropic upstream: the llm.Upstream handler
// with the OpenAI → Anthropic translator. Create it with NewHandler.
type Handler struct {
	up  *llm.Upstream
	url string // the Messages endpoint
	h   *headers
}

// NewHandler validates cfg and returns the backend handler.
func NewHandler(cfg Config) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pc := cfg.provider()
	tr := newTranslator(&cfg, pc.TranslatorLogger(Provider))
	h := &headers{version: cfg.Version, betas: cfg.Betas, allowedBetas: map[string]bool{}}
	for _, b := range cfg.AllowedBetas {
		h.allowedBetas[strings.TrimSpace(b)] = true
	}
	if h.version == "" {
		h.version = DefaultVersion
	}
	up, err := pc.NewUpstream(Provider, func() llm.Translator { return &call{t: tr, h: h} })
	if err != nil {
		return nil, err
	}
	return &Handler{up: up, url: up.BaseURL() + "/messages", h: h}, nil
}

// ServeHTTP implements POST …/chat/completions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.up.ServeHTTP(w, r) }

// headers holds the upstream headers a backend sends besides the key.
type headers struct {
	version      string
	betas        []string
	allowedBetas map[string]bool
}

// call is the llm.Translator of one request: OpenAI chat completions to Anthropic Messages.
type call struct {
	t       *translator
	h       *headers
	up      *upstreamRequest
	created int64
	key     string // removed from upstream error messages before they reach the client
	st      *streamState
	reply   *llm.Buffer // the translated reply's body, until Release
}

func (c *call) RequestBody(ctx context.Context, body []byte) (*llm.UpstreamRequest, *apierror.Error) {
	c.created = time.Now().Unix()
	up, err := c.t.translateRequest(ctx, body)
	if err != nil {
		return nil, err
	}
	c.up = up
	// The body is a new encoding, and nothing kept points into the client's body (the model is
	// a copy, the JSON tool a constant).
	return &llm.UpstreamRequest{Path: "/messages", Body: up.Body, Model: up.Model, Stream: up.Stream, OwnBody: true}, nil
}

// RequestHeaders sets the backend key (never the client's credentials), anthropic-version and
// the allow-listed anthropic-beta values.
func (c *call) RequestHeaders(hd, in http.Header, key string) {
	c.key = key
	if strings.HasPrefix(key, "sk-ant-oat") {
		hd.Set("Authorization", "Bearer "+key)
	} else {
		hd.Set("X-Api-Key", key)
	}
	hd.Set("Anthropic-Version", c.h.version)
	betas := append([]string(nil), c.h.betas...)
	for _, name := range []string{"Anthropic-Beta", "X-Anthropic-Beta"} {
		for _, v := range in.Values(name) {
			for _, b := range strings.Split(v, ",") {
				if b = strings.TrimSpace(b); b != "" && c.h.allowedBetas[b] && !contains(betas, b) {
					betas = append(betas, b)
				}
			}
		}
	}
	if len(betas) > 0 {
		hd.Set("Anthropic-Beta", strings.Join(betas, ","))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ResponseHeaders forwards Anthropic's request id, rate-limit headers and retry-after.
func (c *call) ResponseHeaders(dst, src http.Header) {
	if id := src.Get("Request-Id"); id != "" {
		dst.Set("Anthropic-Request-Id", id)
	}
	if ra := src.Get("Retry-After"); ra != "" {
		dst.Set("Retry-After", ra)
	}
	const rl = "anthropic-ratelimit-"
	for k, v := range src {
		if len(k) >= len(rl) && strings.EqualFold(k[:len(rl)], rl) { // ToLower would allocate per header
			dst[k] = append([]string(nil), v...)
		}
	}
}

func (c *call) ResponseBody(ctx context.Context, b []byte, res *llm.Result) ([]byte, *apierror.Error) {
	comp, ok := c.t.translateResponse(ctx, b, c.created, c.up.JSONTool)
	if !ok {
		return nil, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response",
			Message: "the Anthropic upstream returned an unexpected body: " + truncate(b, 256)}
	}
	res.ResponseModel, res.ResponseID, res.FinishReason = comp.Model, comp.ID, comp.FinishReason
	res.Usage, res.HasUsage = comp.Usage, true
	c.reply = comp.Buf
	return comp.Body, nil
}

// Release gives the translated reply's buffer back once llm.Upstream has written it.
func (c *call) Release() {
	c.reply.Release()
	c.reply = nil
}

func (c *call) stream(ctx context.Context) *streamState {
	if c.st == nil {
		c.st = c.t.newStream(ctx, c.created, c.up.IncludeUsage, c.up.JSONTool)
		c.st.secret = c.key
	}
	return c.st
}

func (c *call) StreamEvent(ctx context.Context, data []byte, w llm.ChunkWriter) (bool, error) {
	return c.stream(ctx).event(data, w)
}

func (c *call) StreamEnd(ctx context.Context, err error, w llm.ChunkWriter) error {
	return c.stream(ctx).StreamEnd(ctx, err, w)
}

func (c *call) StreamResult(res *llm.Result) {
	if st := c.st; st != nil {
		res.ResponseModel, res.ResponseID, res.FinishReason = st.model, st.id, st.finish
		res.Usage, res.HasUsage = st.usage, st.hasUsage
	}
}

func (c *call) ResponseError(status int, h http.Header, body []byte) *apierror.Error {
	return upstreamError(status, h, body)
}
