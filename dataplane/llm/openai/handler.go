package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/sse"
)

// Handler proxies OpenAI chat completions. Create it with NewHandler.
type Handler struct {
	url        string
	key        func() (string, error)
	secretName string
	model      string
	always     bool
	client     *http.Client
	maxReq     int64
	maxResp    int64
	log        *slog.Logger
	metrics    *llm.Metrics
	onResult   llm.ResultFunc
}

// NewHandler returns the passthrough handler for cfg.
func NewHandler(cfg Config) (*Handler, error) {
	u, err := cfg.baseURL()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{url: u, key: cfg.APIKey, secretName: cfg.SecretName, model: cfg.Model, always: cfg.AlwaysIncludeUsage, client: cfg.Client,
		maxReq: cfg.MaxRequestBytes, maxResp: cfg.MaxResponseBytes, log: log.With("provider", "openai"),
		metrics: cfg.Metrics.ForModels(cfg.Model), onResult: cfg.OnResult}
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

// requestFields is what the passthrough reads of a request body, in one strict pass: the model
// it reports and may override, and whether and how the client streams. The body is forwarded as
// it is, so these are read by exact key with duplicate and case-colliding keys refused: the
// upstream then reads the same values.
var (
	requestFields     = jsonstrict.NewSchema()
	slotModel         = requestFields.Capture("model")
	slotStream        = requestFields.Capture("stream")
	slotStreamOptions = requestFields.Capture("stream_options")
	slotIncludeUsage  = requestFields.Capture("stream_options", "include_usage")
)

type requestProbe struct {
	Model        string
	Stream       bool
	IncludeUsage bool
}

// probeRequest reads requestFields from body with the types encoding/json would require.
func probeRequest(body []byte) (requestProbe, *apierror.Error) {
	var v [4]jsonstrict.Value
	if err := requestFields.Read(body, v[:]); err != nil {
		return requestProbe{}, apierror.Body(err)
	}
	var p requestProbe
	if jsonstrict.Lookup(body).Kind() != jsonstrict.Object {
		return p, apierror.InvalidRequest("", "request body must be a JSON object")
	}
	for _, f := range []struct {
		name string
		v    jsonstrict.Value
		kind jsonstrict.Kind
	}{
		{"model", v[slotModel], jsonstrict.String},
		{"stream", v[slotStream], jsonstrict.Bool},
		{"stream_options", v[slotStreamOptions], jsonstrict.Object},
		{"stream_options.include_usage", v[slotIncludeUsage], jsonstrict.Bool},
	} {
		if k := f.v.Kind(); k != jsonstrict.Absent && k != jsonstrict.Null && k != f.kind {
			return p, apierror.InvalidRequest(f.name, "%s must be a %s, not a %s", f.name, f.kind, k)
		}
	}
	p.Model, _ = v[slotModel].Str()
	p.Stream, _ = v[slotStream].Bool()
	p.IncludeUsage, _ = v[slotIncludeUsage].Bool()
	return p, nil
}

// ServeHTTP implements POST …/chat/completions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	res := llm.Result{Provider: "openai", Route: llm.RouteFromContext(ctx)}
	defer func() { h.finish(ctx, &res, start) }()

	if !llm.AcceptChatCompletions(w, r, &res) {
		return
	}
	body, ok := llm.ReadRequestBody(w, r, h.maxReq, &res)
	if !ok {
		return
	}
	var err error
	probe, perr := probeRequest(body)
	if perr != nil {
		llm.Reject(w, &res, perr)
		return
	}
	clientUsage := probe.IncludeUsage
	res.RequestModel, res.Stream = probe.Model, probe.Stream
	if h.model != "" && h.model != probe.Model || probe.Stream && !clientUsage {
		// Ask for stream usage even when the client did not, so it can be counted.
		if body, err = h.rewrite(body, probe.Stream && !clientUsage); err != nil {
			llm.Reject(w, &res, apierror.InvalidRequest("", "request body must be a JSON object"))
			return
		}
		if h.model != "" {
			res.RequestModel = h.model
		}
	}

	var key string
	if h.key != nil {
		if key, err = h.key(); err == nil {
			key = strings.TrimSpace(strings.TrimPrefix(key, "Bearer "))
		}
		if err != nil {
			h.log.ErrorContext(ctx, "API key unavailable", "secret", h.secretName, "err", err)
			llm.Reject(w, &res, llm.CredentialsError(h.secretName, err))
			return
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		llm.Reject(w, &res, &apierror.Error{Status: http.StatusInternalServerError, Type: apierror.ErrServer, Message: "building upstream request failed"})
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if probe.Stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		// Only a cancelled context is the client leaving; a deadline (the route's timeout) is a timeout.
		if errors.Is(ctx.Err(), context.Canceled) {
			res.Status, res.ErrorType = 499, "client_closed_request"
			return
		}
		e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "upstream_unreachable", Message: "calling the upstream failed"}
		var te interface{ Timeout() bool }
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout()) {
			e = &apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.ErrTimeout, Code: "upstream_timeout", Message: "the upstream timed out"}
		}
		h.log.WarnContext(ctx, "upstream call failed", "err", llm.Redact(err.Error(), key))
		llm.Reject(w, &res, e)
		return
	}
	defer resp.Body.Close()
	for _, k := range []string{"Retry-After", "X-Request-Id"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := upstreamError(resp.StatusCode, b)
		e.Message = llm.Redact(e.Message, key)
		e.RetryAfter = resp.Header.Get("Retry-After")
		llm.Reject(w, &res, e)
		return
	}
	if probe.Stream {
		h.stream(ctx, w, resp, clientUsage || h.always, &res)
		return
	}
	h.complete(ctx, w, resp, &res)
}

// rewrite sets the model override and stream_options.include_usage.
func (h *Handler) rewrite(body []byte, forceUsage bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, fmt.Errorf("request body must be a JSON object")
	}
	if h.model != "" {
		m["model"], _ = json.Marshal(h.model)
	}
	if forceUsage {
		var so map[string]json.RawMessage
		_ = json.Unmarshal(m["stream_options"], &so)
		if so == nil {
			so = map[string]json.RawMessage{}
		}
		so["include_usage"] = json.RawMessage("true")
		m["stream_options"], _ = json.Marshal(so)
	}
	return json.Marshal(m)
}

// responseProbe reads what metrics and tracing need from a completion or chunk.
type responseProbe struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens     int64 `json:"cached_tokens"`
			CacheWriteTokens int64 `json:"cache_write_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails *struct {
			ReasoningTokens *int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

func (p *responseProbe) apply(res *llm.Result) {
	if p.ID != "" {
		res.ResponseID = p.ID
	}
	if p.Model != "" {
		res.ResponseModel = p.Model
	}
	for _, c := range p.Choices {
		if c.FinishReason != nil && *c.FinishReason != "" {
			res.FinishReason = *c.FinishReason
		}
	}
	if u := p.Usage; u != nil {
		var out llm.Usage
		out.Output = u.CompletionTokens
		if d := u.PromptTokensDetails; d != nil {
			out.CacheRead, out.CacheWrite = d.CachedTokens, d.CacheWriteTokens
		}
		out.Input = max(u.PromptTokens-out.CacheRead-out.CacheWrite, 0)
		if d := u.CompletionTokensDetails; d != nil && d.ReasoningTokens != nil {
			out.HasReasoning, out.Reasoning = true, *d.ReasoningTokens
		}
		res.Usage, res.HasUsage = out, true
	}
}

func (h *Handler) complete(ctx context.Context, w http.ResponseWriter, resp *http.Response, res *llm.Result) {
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer putResponseBuffer(buf)
	if n := resp.ContentLength; n > 0 && n <= h.maxResp {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, h.maxResp+1))
	b := buf.Bytes() // valid until the handler returns: the probe copies what it keeps
	if err != nil || int64(len(b)) > h.maxResp {
		if errors.Is(ctx.Err(), context.Canceled) {
			res.Status, res.ErrorType = 499, "client_closed_request"
			return
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			llm.Reject(w, res, &apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.ErrTimeout, Code: "upstream_timeout", Message: "the upstream timed out"})
			return
		}
		llm.Reject(w, res, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "upstream_read_failed", Message: "reading the upstream response failed"})
		return
	}
	var p responseProbe
	if err := json.Unmarshal(b, &p); err != nil {
		llm.Reject(w, res, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "the upstream returned a non-JSON body"})
		return
	}
	p.apply(res)
	res.Status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (h *Handler) stream(ctx context.Context, w http.ResponseWriter, resp *http.Response, passUsage bool, res *llm.Result) {
	llm.SetStreamHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	res.Status = http.StatusOK
	sw := llm.NewSSEWriter(w)
	rd := sse.NewReader(resp.Body, 0)
	defer rd.Release()
	// One flush per burst of upstream events; none is held while waiting for the upstream. A
	// final error event leaves before the request's bookkeeping.
	sw.FlushWhenIdle(rd)
	defer func() { _ = sw.Flush() }()
	first := true // the first chunk is decoded for the response id and model
	for {
		ev, err := rd.Next()
		if err != nil {
			switch {
			case errors.Is(ctx.Err(), context.DeadlineExceeded):
				res.ErrorType = apierror.ErrTimeout
				e := &apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.ErrTimeout, Code: "upstream_timeout", Message: "the request timed out while streaming"}
				_ = sw.Data(e.AppendJSON(nil))
			case ctx.Err() != nil:
				res.ErrorType = "client_closed_request"
			default:
				res.ErrorType = apierror.ErrServer
				e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "api_error", Message: "the upstream stream ended before [DONE]"}
				_ = sw.Data(e.AppendJSON(nil))
				h.log.WarnContext(ctx, "upstream stream ended early", "err", err)
			}
			return
		}
		if string(ev.Data) == "[DONE]" {
			_ = sw.Done()
			return
		}
		if !first && !needsProbe(ev.Data) {
			// Plain content deltas are forwarded without decoding (the hot path).
			if err := sw.Data(ev.Data); err != nil {
				res.ErrorType = "client_closed_request"
				return
			}
			continue
		}
		first = false
		var p responseProbe
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			res.ErrorType = apierror.ErrServer
			e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "upstream sent a malformed stream event"}
			_ = sw.Data(e.AppendJSON(nil))
			return
		}
		p.apply(res)
		if len(p.Error) > 0 && string(p.Error) != "null" {
			res.ErrorType = apierror.ErrServer
			_ = sw.Data(ev.Data)
			return
		}
		if p.Usage != nil && len(p.Choices) == 0 && !passUsage {
			continue
		}
		if err := sw.Data(ev.Data); err != nil {
			res.ErrorType = "client_closed_request"
			return
		}
	}
}

// needsProbe reports whether a chunk may carry what metrics and tracing read: usage, a finish
// reason, or an error. Content deltas carry none of these and skip decoding. It scans the
// chunk once per key (the hot path runs it on every chunk).
func needsProbe(data []byte) bool {
	return !bytes.HasPrefix(data, []byte("{")) || valueStarts(data, []byte(`"usage":`), '{') ||
		valueStarts(data, []byte(`"finish_reason":`), '"') || bytes.Contains(data, []byte(`"error"`))
}

// valueStarts reports whether some occurrence of key (a quoted name and its colon) in data is
// followed, after optional spaces, by the byte c.
func valueStarts(data, key []byte, c byte) bool {
	for {
		i := bytes.Index(data, key)
		if i < 0 {
			return false
		}
		data = bytes.TrimLeft(data[i+len(key):], " \t\r\n")
		if len(data) > 0 && data[0] == c {
			return true
		}
	}
}

// upstreamError normalises an upstream error body ({"error":{…}} or vLLM's top-level
// {"object":"error",…}) to the OpenAI error shape; a non-JSON body is a 502.
func upstreamError(status int, body []byte) *apierror.Error {
	type fields struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   *string         `json:"param"`
		Code    json.RawMessage `json:"code"`
	}
	var env struct {
		Error *fields `json:"error"`
		fields
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response",
			Message: fmt.Sprintf("upstream returned HTTP %d with a non-JSON body: %s", status, truncate(body, 256))}
	}
	f := &env.fields
	if env.Error != nil {
		f = env.Error
	}
	e := &apierror.Error{Status: status, Message: f.Message, Type: f.Type}
	if f.Param != nil {
		e.Param = *f.Param
	}
	if c := bytes.TrimSpace(f.Code); len(c) > 0 && string(c) != "null" {
		var s string
		if json.Unmarshal(c, &s) == nil {
			e.Code = s
		} else {
			e.Code = string(c)
		}
	}
	if e.Type == "" {
		e.Type = apierror.ErrServer
		if status < 500 {
			e.Type = apierror.ErrInvalidRequest
		}
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("upstream returned HTTP %d", status)
	}
	if status < 400 || status > 599 {
		e.Status = http.StatusBadGateway
	}
	return e
}

// responseBuffers recycles the buffers non-streamed replies are read into (most of what such
// a request allocates otherwise).
var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putResponseBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // keep the pool small; a rare large reply is not worth holding on to
	}
	b.Reset()
	responseBuffers.Put(b)
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
}

func (h *Handler) finish(ctx context.Context, res *llm.Result, start time.Time) {
	llm.Finish(ctx, h.log, h.metrics, h.onResult, res, start)
}
