package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm"
)

// Handler serves OpenAI chat completions from an Anthropic upstream. Create it with NewHandler.
type Handler struct {
	url          string
	version      string
	key          func() (string, error)
	secretName   string
	betas        []string
	allowedBetas map[string]bool
	client       *http.Client
	maxReq       int64
	maxResp      int64
	t            *translator
	log          *slog.Logger
	metrics      *llm.Metrics
	onResult     llm.ResultFunc
}

// NewHandler validates cfg and returns the backend handler.
func NewHandler(cfg Config) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	u, err := cfg.baseURL()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("provider", "anthropic")
	h := &Handler{
		url: u, version: cfg.Version, key: cfg.APIKey, secretName: cfg.SecretName, betas: cfg.Betas,
		allowedBetas: map[string]bool{}, client: cfg.Client,
		maxReq: cfg.MaxRequestBytes, maxResp: cfg.MaxResponseBytes,
		t: newTranslator(&cfg, log), log: log, metrics: cfg.Metrics.ForModels(cfg.Model), onResult: cfg.OnResult,
	}
	for _, b := range cfg.AllowedBetas {
		h.allowedBetas[strings.TrimSpace(b)] = true
	}
	if h.version == "" {
		h.version = DefaultVersion
	}
	if h.client == nil {
		h.client = &http.Client{}
	}
	if h.maxReq <= 0 {
		h.maxReq = DefaultMaxRequestBytes
	}
	if h.maxResp <= 0 {
		h.maxResp = DefaultMaxResponseBytes
	}
	return h, nil
}

// ServeHTTP implements POST …/chat/completions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	res := llm.Result{Provider: "anthropic", Route: llm.RouteFromContext(ctx)}
	defer func() { h.finish(ctx, &res, start) }()

	if !llm.AcceptChatCompletions(w, r, &res) {
		return
	}
	body, ok := llm.ReadRequestBody(w, r, h.maxReq, &res)
	if !ok {
		return
	}
	up, perr := h.t.translateRequest(ctx, body)
	if perr != nil {
		llm.Reject(w, &res, perr)
		return
	}
	res.RequestModel, res.Stream = up.Model, up.Stream

	key, err := h.key()
	if err == nil {
		key = strings.TrimSpace(strings.TrimPrefix(key, "Bearer "))
		if key == "" {
			err = errors.New("empty API key")
		}
	}
	if err != nil {
		h.log.ErrorContext(ctx, "API key unavailable", "secret", h.secretName, "err", err)
		llm.Reject(w, &res, llm.CredentialsError(h.secretName, err))
		return
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(up.Body))
	if err != nil {
		llm.Reject(w, &res, &apierror.Error{Status: http.StatusInternalServerError, Type: apierror.ErrServer, Message: "building upstream request failed"})
		return
	}
	h.setHeaders(req, r.Header, key, up.Stream)
	created := start.Unix()

	resp, err := h.client.Do(req)
	if err != nil {
		// Only a cancelled context is the client leaving; a deadline (the route's timeout) is
		// answered as a timeout below.
		if errors.Is(ctx.Err(), context.Canceled) {
			res.Status, res.ErrorType = 499, "client_closed_request"
			return
		}
		e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "upstream_unreachable", Message: "calling the Anthropic upstream failed"}
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			e = &apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.ErrTimeout, Code: "upstream_timeout", Message: "the Anthropic upstream timed out"}
		}
		h.log.WarnContext(ctx, "upstream call failed", "err", llm.Redact(err.Error(), key))
		llm.Reject(w, &res, e)
		return
	}
	defer resp.Body.Close()
	copyResponseHeaders(w.Header(), resp.Header)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := upstreamError(resp.StatusCode, resp.Header, b)
		e.Message = llm.Redact(e.Message, key)
		if e.Type == apierror.ErrAuthentication {
			h.log.ErrorContext(ctx, "upstream rejected the backend credentials", "status", resp.StatusCode)
		}
		llm.Reject(w, &res, e)
		return
	}
	if up.Stream {
		h.stream(ctx, w, resp, up, created, &res, key)
		return
	}
	h.complete(ctx, w, resp, up, created, &res)
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// setHeaders sets the upstream headers: the backend key (never the client's credentials),
// anthropic-version and the allow-listed anthropic-beta values.
func (h *Handler) setHeaders(req *http.Request, in http.Header, key string, stream bool) {
	hd := req.Header
	hd.Set("Content-Type", "application/json")
	if stream {
		hd.Set("Accept", "text/event-stream")
	} else {
		hd.Set("Accept", "application/json")
	}
	if strings.HasPrefix(key, "sk-ant-oat") {
		hd.Set("Authorization", "Bearer "+key)
	} else {
		hd.Set("X-Api-Key", key)
	}
	hd.Set("Anthropic-Version", h.version)
	betas := append([]string(nil), h.betas...)
	for _, name := range []string{"Anthropic-Beta", "X-Anthropic-Beta"} {
		for _, v := range in.Values(name) {
			for _, b := range strings.Split(v, ",") {
				if b = strings.TrimSpace(b); b != "" && h.allowedBetas[b] && !contains(betas, b) {
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

// copyResponseHeaders forwards Anthropic's request id, rate-limit headers and retry-after.
func copyResponseHeaders(dst, src http.Header) {
	if id := src.Get("Request-Id"); id != "" {
		dst.Set("Anthropic-Request-Id", id)
	}
	if ra := src.Get("Retry-After"); ra != "" {
		dst.Set("Retry-After", ra)
	}
	for k, v := range src {
		if strings.HasPrefix(strings.ToLower(k), "anthropic-ratelimit-") {
			dst[k] = append([]string(nil), v...)
		}
	}
}

func (h *Handler) complete(ctx context.Context, w http.ResponseWriter, resp *http.Response, up *upstreamRequest, created int64, res *llm.Result) {
	b, err := llm.ReadBody(io.LimitReader(resp.Body, h.maxResp+1), resp.ContentLength, h.maxResp)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			res.Status, res.ErrorType = 499, "client_closed_request"
			return
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
			llm.Reject(w, res, &apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.ErrTimeout, Code: "upstream_timeout", Message: "the Anthropic upstream timed out"})
			return
		}
		llm.Reject(w, res, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "upstream_read_failed", Message: "reading the Anthropic response failed"})
		return
	}
	if int64(len(b)) > h.maxResp {
		llm.Reject(w, res, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "the Anthropic response is too large"})
		return
	}
	c, ok := h.t.translateResponse(ctx, b, created, up.JSONTool)
	if !ok {
		llm.Reject(w, res, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response",
			Message: "the Anthropic upstream returned an unexpected body: " + truncate(b, 256)})
		return
	}
	res.ResponseModel, res.ResponseID, res.FinishReason = c.Model, c.ID, c.FinishReason
	res.Usage, res.HasUsage, res.Status = c.Usage, true, http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.Body)
}

func (h *Handler) stream(ctx context.Context, w http.ResponseWriter, resp *http.Response, up *upstreamRequest, created int64, res *llm.Result, key string) {
	llm.SetStreamHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	res.Status = http.StatusOK
	sw := llm.NewSSEWriter(w)
	st := h.t.newStream(ctx, created, up.IncludeUsage, up.JSONTool)
	st.secret = key
	err := st.run(resp.Body, sw)
	res.ResponseModel, res.ResponseID, res.FinishReason = st.model, st.id, st.finish
	res.Usage, res.HasUsage = st.usage, st.hasUsage

	var se *streamError
	switch {
	case err == nil:
	case errors.As(err, &se):
		res.ErrorType = se.err.Type
		h.log.WarnContext(ctx, "upstream stream failed", "id", st.id, "code", se.err.Code, "err", llm.Redact(se.err.Message, key))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The route's timeout cut the stream: say so, with no [DONE].
		res.ErrorType = apierror.ErrTimeout
		e := &apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.ErrTimeout, Code: "upstream_timeout", Message: "the request timed out while streaming"}
		_ = sw.Data(e.AppendJSON(nil))
	case ctx.Err() != nil || errors.Is(err, llm.ErrClientWrite):
		// The client went away; the request context cancels the upstream call.
		res.ErrorType = "client_closed_request"
	default:
		res.ErrorType = apierror.ErrServer
		h.log.WarnContext(ctx, "stream aborted", "id", st.id, "err", llm.Redact(err.Error(), key))
	}
}

// finish records usage, reports the Result and writes the request's single log line.
func (h *Handler) finish(ctx context.Context, res *llm.Result, start time.Time) {
	llm.Finish(ctx, h.log, h.metrics, h.onResult, res, start)
}
