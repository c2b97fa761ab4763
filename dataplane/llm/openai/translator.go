package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/pkg/fastpath"
)

// passthrough is the translator of an OpenAI-compatible upstream: the body goes upstream as
// the client sent it (unless the model is overridden or stream usage must be asked for) and
// replies come back unchanged, read only for usage, model, id and finish reason.
type passthrough struct {
	model  string // the backend's model override
	always bool   // pass the usage chunk to clients that did not ask for it

	passUsage bool // the client sees the upstream's usage chunk
	first     bool // the first stream chunk is decoded for the response id and model
	layout    chunkLayout
	key       string
	result    llm.Result
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

func (t *passthrough) RequestBody(_ context.Context, body []byte) (*llm.UpstreamRequest, *apierror.Error) {
	probe, perr := probeRequest(body)
	if perr != nil {
		return nil, perr
	}
	clientUsage := probe.IncludeUsage
	t.passUsage, t.first = clientUsage || t.always, true
	up := &llm.UpstreamRequest{Path: "/chat/completions", Body: body, Model: probe.Model, Stream: probe.Stream}
	if t.model != "" && t.model != probe.Model || probe.Stream && !clientUsage {
		// Ask for stream usage even when the client did not, so it can be counted.
		var err error
		if up.Body, err = t.rewrite(body, probe.Stream && !clientUsage); err != nil {
			return nil, apierror.InvalidRequest("", "request body must be a JSON object")
		}
		if t.model != "" {
			up.Model = t.model
		}
	}
	return up, nil
}

// rewrite sets the model override and stream_options.include_usage.
func (t *passthrough) rewrite(body []byte, forceUsage bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, fmt.Errorf("request body must be a JSON object")
	}
	if t.model != "" {
		m["model"], _ = json.Marshal(t.model)
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

// RequestHeaders sends the backend key as a bearer token; the client's own Authorization is
// never forwarded.
func (t *passthrough) RequestHeaders(h, _ http.Header, key string) {
	t.key = key
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
}

func (t *passthrough) ResponseHeaders(dst, src http.Header) {
	for _, k := range []string{"Retry-After", "X-Request-Id"} {
		if v := src.Get(k); v != "" {
			dst.Set(k, v)
		}
	}
}

// responseProbe reads what metrics and tracing need from a completion or chunk.
type responseProbe struct {
	ID      string          `json:"id"`
	Model   string          `json:"model"`
	Choices []choiceProbe   `json:"choices"`
	Usage   *usageProbe     `json:"usage"`
	Error   json.RawMessage `json:"error"`
}

type choiceProbe struct {
	FinishReason *string `json:"finish_reason"`
}

type usageProbe struct {
	PromptTokens            int64              `json:"prompt_tokens"`
	CompletionTokens        int64              `json:"completion_tokens"`
	PromptTokensDetails     *promptDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails *completionDetails `json:"completion_tokens_details"`
}

type promptDetails struct {
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
}

type completionDetails struct {
	ReasoningTokens *int64 `json:"reasoning_tokens"`
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

// ResponseBody returns the upstream's body unchanged once it is known to be JSON.
func (t *passthrough) ResponseBody(_ context.Context, b []byte, res *llm.Result) ([]byte, *apierror.Error) {
	var p responseProbe
	if err := p.decode(b); err != nil {
		return nil, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "the upstream returned a non-JSON body"}
	}
	p.apply(res)
	return b, nil
}

// StreamEvent forwards a chunk; the usage chunk only when the client asked for it (or the
// backend always passes it), and an upstream error chunk ends the stream without [DONE].
func (t *passthrough) StreamEvent(_ context.Context, data []byte, w llm.ChunkWriter) (bool, error) {
	if string(data) == "[DONE]" {
		return true, w.Done()
	}
	if !t.first {
		// Plain content deltas are forwarded without decoding (the hot path).
		if t.layout.match(data) {
			return false, w.Data(data)
		}
		if !needsProbe(data) {
			t.layout.learn(data)
			return false, w.Data(data)
		}
	}
	t.first = false
	var p responseProbe
	if err := p.decode(data); err != nil {
		e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "upstream sent a malformed stream event"}
		if err := w.Data(e.AppendJSON(nil)); err != nil {
			return true, err
		}
		return true, &llm.StreamError{Err: e}
	}
	p.apply(&t.result)
	if len(p.Error) > 0 && string(p.Error) != "null" {
		if err := w.Data(data); err != nil {
			return true, err
		}
		return true, &llm.StreamError{Err: &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "api_error", Message: "upstream stream error: " + llm.Truncate(p.Error, 256)}}
	}
	if p.Usage != nil && len(p.Choices) == 0 && !t.passUsage {
		return false, nil
	}
	return false, w.Data(data)
}

// StreamEnd reports a stream that ended without [DONE].
func (t *passthrough) StreamEnd(_ context.Context, _ error, w llm.ChunkWriter) error {
	e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "api_error", Message: "the upstream stream ended before [DONE]"}
	if err := w.Data(e.AppendJSON(nil)); err != nil {
		return err
	}
	return &llm.StreamError{Err: e}
}

func (t *passthrough) StreamResult(res *llm.Result) {
	r := &t.result
	res.ResponseID, res.ResponseModel, res.FinishReason = r.ResponseID, r.ResponseModel, r.FinishReason
	res.Usage, res.HasUsage = r.Usage, r.HasUsage
}

func (t *passthrough) ResponseError(status int, h http.Header, body []byte) *apierror.Error {
	e := upstreamError(status, body)
	e.RetryAfter = h.Get("Retry-After")
	return e
}

// needsProbe reports whether a chunk may carry what metrics and tracing read: usage, a finish
// reason, or an error. Content deltas carry none of these and skip decoding. The hot path runs
// it on every chunk, so it makes one pass, stopping only at colons (a dozen per chunk, where
// quotes are several dozen): the name before each is compared as encoding/json matches keys.
// It may say yes to a chunk that has none of these (it is then decoded), never no to one
// that has.
func needsProbe(data []byte) bool { return !probeKeys || scanKeys(data) }

// scanKeys is needsProbe's scan.
func scanKeys(data []byte) bool {
	if len(data) == 0 || data[0] != '{' {
		return true
	}
	for i := 1; ; {
		c := bytes.IndexByte(data[i:], ':')
		if c < 0 {
			return false
		}
		c += i
		i = c + 1
		switch keyBefore(data, c) {
		case keyUsage:
			if v := valueAfter(data, i); v == '{' {
				return true
			}
		case keyFinish:
			if v := valueAfter(data, i); v == '"' {
				return true
			}
		case keyError, keyUnsure:
			return true
		}
	}
}

// probeKeys turns needsProbe's scan on; GWCTL_NOFAST=openaistream decodes every chunk with
// encoding/json instead.
var probeKeys = fastpath.Enabled(fastpath.OpenAIStream)

type probeKey int

const (
	keyOther  probeKey = iota
	keyUsage           // usage
	keyFinish          // finish_reason
	keyError           // error
	keyUnsure          // a name with escapes or non-ASCII bytes, which encoding/json may read as one of them
)

// keyBefore names the key whose colon is data[c]: the string literal ending just before it
// (blanks allowed). A quote preceded by a backslash is inside a string (a key's opening quote
// never is), so a colon in text like {\"city\": is no key.
func keyBefore(data []byte, c int) probeKey {
	j := c - 1
	for j >= 0 && isBlank(data[j]) {
		j--
	}
	if j < 1 || data[j] != '"' {
		return keyOther
	}
	k := bytes.LastIndexByte(data[:j], '"')
	if k < 1 || data[k-1] == '\\' {
		return keyOther
	}
	name := data[k+1 : j]
	if len(name) > len("finish_reason")*3 { // longer than any spelling encoding/json folds to these
		return keyOther
	}
	for _, b := range name {
		if b == '\\' || b >= 0x80 {
			return keyUnsure
		}
	}
	switch {
	case bytes.EqualFold(name, []byte("usage")):
		return keyUsage
	case bytes.EqualFold(name, []byte("finish_reason")):
		return keyFinish
	case bytes.EqualFold(name, []byte("error")):
		return keyError
	}
	return keyOther
}

// valueAfter returns the first byte of the value starting at data[i] after blanks (0 at the end).
func valueAfter(data []byte, i int) byte {
	for i < len(data) && isBlank(data[i]) {
		i++
	}
	if i < len(data) {
		return data[i]
	}
	return 0
}

func isBlank(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

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
			Message: fmt.Sprintf("upstream returned HTTP %d with a non-JSON body: %s", status, llm.Truncate(body, 256))}
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
