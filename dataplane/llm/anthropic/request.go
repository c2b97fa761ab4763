package anthropic

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
)

// jsonToolName is the synthetic tool used for response_format json_schema on models without
// native structured outputs; its input is returned as message.content.
const jsonToolName = "json_response"

// translator holds what request and response translation need from the Config.
type translator struct {
	model       string
	aliases     map[string]string
	models      modelTable
	defaultMax  int64
	strict      bool
	midSystem   bool
	alwaysUsage bool
	cacheSplit  bool
	webSearchOn bool
	serverTools map[string]bool // allowed server tool types
	log         *slog.Logger
}

func newTranslator(c *Config, log *slog.Logger) *translator {
	def := c.DefaultMaxTokens
	if def == 0 {
		def = DefaultMaxTokens
	}
	return &translator{
		model: c.Model, aliases: c.ModelAliases, models: newModelTable(c.Models), defaultMax: def,
		strict: c.Strict, midSystem: c.MidConversationSystem, alwaysUsage: c.AlwaysIncludeUsage,
		cacheSplit: !c.OmitCacheCreationSplit, webSearchOn: c.WebSearch, serverTools: newServerToolSet(c.ServerTools),
		log: log,
	}
}

// upstreamRequest is a translated request ready to send.
type upstreamRequest struct {
	Body         []byte
	Model        string // model sent upstream
	Stream       bool
	IncludeUsage bool   // emit the streamed usage chunk
	JSONTool     string // synthetic structured-output tool to fold back into content, or ""
}

// translateRequest maps an OpenAI chat completion request body to an Anthropic Messages body.
func (t *translator) translateRequest(ctx context.Context, body []byte) (*upstreamRequest, *apierror.Error) {
	sc := scratches.Get().(*reqScratch)
	defer sc.release()
	return t.translateRequestIn(ctx, body, sc)
}

// translateRequestIn is translateRequest with the request's values in sc, which the result
// does not point into.
func (t *translator) translateRequestIn(ctx context.Context, body []byte, sc *reqScratch) (*upstreamRequest, *apierror.Error) {
	in, out := &sc.in, &sc.out
	*in = chatRequest{} // the decoder fills a zero request
	if err := decodeRequestIn(body, in, sc); err != nil {
		if se := (*jsonstrict.Error)(nil); errors.As(err, &se) {
			return nil, apierror.Body(err)
		}
		return nil, apierror.InvalidRequest("", "request body is not a valid chat completion request: %s", jsonErrorText(err))
	}
	model := in.Model
	if t.model != "" {
		model = t.model
	}
	if alias, ok := t.aliases[model]; ok {
		model = alias
	}
	if model == "" {
		return nil, apierror.InvalidRequest("model", "model is required")
	}
	caps := t.models.lookup(model)
	*out = messagesRequest{Model: model, Stream: in.Stream}

	if in.N != nil && *in.N != 1 {
		return nil, apierror.InvalidRequest("n", "n=%d is not supported by this backend; only one choice can be generated", *in.N)
	}
	if t.strict && in.Logprobs != nil && *in.Logprobs {
		return nil, apierror.InvalidRequest("logprobs", "logprobs are not supported by this backend")
	}

	maxTokens, perr := t.maxTokens(in, model, caps)
	if perr != nil {
		return nil, perr
	}
	out.MaxTokens = maxTokens

	var err *apierror.Error
	if out.StopSequences, err = t.stopSequences(ctx, in.Stop); err != nil {
		return nil, err
	}
	if uid := userID(in.SafetyIdentifier, in.User); uid != "" {
		sc.meta = metadata{UserID: uid}
		out.Metadata = &sc.meta
	}

	thinking, effort, err := t.reasoning(ctx, in, caps, maxTokens)
	if err != nil {
		return nil, err
	}
	out.Thinking = thinking
	if effort != "" {
		out.OutputConfig = &outputConfig{Effort: effort}
	}
	thinkingOn := len(thinking) > 0 && !jsonstrict.Value(thinking).Lookup("type").Equal("disabled")
	if err := checkThinking(jsonstrict.Value(thinking), maxTokens); err != nil {
		return nil, err
	}

	if err := t.sampling(ctx, in, out, caps, thinkingOn, sc); err != nil {
		return nil, err
	}

	if err := t.tools(ctx, in, out, sc); err != nil {
		return nil, err
	}
	if thinkingOn && out.ToolChoice != nil && (out.ToolChoice.Type == "any" || out.ToolChoice.Type == "tool") {
		return nil, apierror.InvalidRequest("tool_choice", "a forced tool_choice cannot be combined with reasoning (extended thinking) on Anthropic models")
	}

	jsonTool, err := t.responseFormat(in, out, caps, thinkingOn)
	if err != nil {
		return nil, err
	}

	if err := t.messages(in, out, caps, sc); err != nil {
		return nil, err
	}

	b := out.encode(len(body) + 256)
	return &upstreamRequest{
		Body:         b,
		Model:        strings.Clone(model), // outlives the body it may alias (metric label)
		Stream:       in.Stream,
		IncludeUsage: t.alwaysUsage || (in.StreamOptions != nil && in.StreamOptions.IncludeUsage),
		JSONTool:     jsonTool,
	}, nil
}

func (t *translator) maxTokens(in *chatRequest, model string, caps ModelCaps) (int64, *apierror.Error) {
	switch {
	case in.MaxCompletionTokens != nil:
		return *in.MaxCompletionTokens, checkMaxTokens("max_completion_tokens", *in.MaxCompletionTokens, model, caps)
	case in.MaxTokens != nil:
		return *in.MaxTokens, checkMaxTokens("max_tokens", *in.MaxTokens, model, caps)
	}
	n := t.defaultMax
	if caps.MaxOutputTokens > 0 && n > caps.MaxOutputTokens {
		n = caps.MaxOutputTokens
	}
	return n, nil
}

func (t *translator) stopSequences(ctx context.Context, raw json.RawMessage) ([]string, *apierror.Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, apierror.InvalidRequest("stop", "stop must be a string or an array of strings")
		}
		list = []string{s}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, apierror.InvalidRequest("stop", "stop must be a string or an array of strings")
	}
	out := list[:0]
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			t.log.WarnContext(ctx, "dropping whitespace-only stop sequence (Anthropic rejects it)")
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// userID maps safety_identifier (else user) to metadata.user_id, dropping values that look
// like an e-mail address or phone number and hashing values longer than Anthropic's limit.
func userID(safety, user string) string {
	v := safety
	if v == "" {
		v = user
	}
	v = strings.TrimSpace(v)
	if v == "" || looksLikeEmail(v) || looksLikePhone(v) {
		return ""
	}
	if len(v) > 512 {
		sum := sha256.Sum256([]byte(v))
		return hex.EncodeToString(sum[:])
	}
	return v
}

func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t")
}

func looksLikePhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() .", r):
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

var budgets = map[string]int64{"low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192, "max": 16384}

// reasoning maps reasoning_effort (or a verbatim vendor thinking object) to thinking and
// output_config.effort according to the model's thinking style.
func (t *translator) reasoning(ctx context.Context, in *chatRequest, caps ModelCaps, maxTokens int64) (json.RawMessage, string, *apierror.Error) {
	if raw := bytes.TrimSpace(in.Thinking); len(raw) > 0 && string(raw) != "null" {
		if raw[0] != '{' {
			return nil, "", apierror.InvalidRequest("thinking", "thinking must be an object")
		}
		return raw, "", nil
	}
	effort := in.ReasoningEffort
	switch effort {
	case "", "none", "minimal":
		return nil, "", nil
	case "low", "medium", "high", "xhigh", "max":
	default:
		return nil, "", apierror.InvalidRequest("reasoning_effort", "unsupported reasoning_effort %q (use none, minimal, low, medium, high, xhigh or max)", effort)
	}
	switch caps.Thinking {
	case ThinkingAdaptive:
		return json.RawMessage(`{"type":"adaptive"}`), effort, nil
	case ThinkingBudget:
		if maxTokens <= 1024 {
			t.log.WarnContext(ctx, "reasoning_effort ignored: max_tokens too small for extended thinking", "max_tokens", maxTokens)
			return nil, "", nil
		}
		b := min(max(budgets[effort], 1024), maxTokens-1)
		return json.RawMessage(`{"type":"enabled","budget_tokens":` + strconv.FormatInt(b, 10) + `}`), "", nil
	default:
		t.log.WarnContext(ctx, "reasoning_effort ignored: model has no extended thinking")
		return nil, "", nil
	}
}

// sampling copies temperature and top_p, clamping and dropping what the model rejects.
func (t *translator) sampling(ctx context.Context, in *chatRequest, out *messagesRequest, caps ModelCaps, thinkingOn bool, sc *reqScratch) *apierror.Error {
	if in.Temperature != nil {
		temp := *in.Temperature
		switch {
		case temp < 0 || temp > 2:
			return apierror.InvalidRequest("temperature", "temperature must be between 0 and 2")
		case temp > 1 && t.strict:
			return apierror.InvalidRequest("temperature", "temperature must be between 0 and 1 for Anthropic models")
		case temp > 1:
			temp = 1
		}
		switch {
		case thinkingOn:
			t.log.WarnContext(ctx, "temperature dropped: not accepted with extended thinking")
		case caps.RestrictedSampling && temp != 1:
			t.log.WarnContext(ctx, "temperature dropped: model accepts only the default", "model", out.Model)
		default:
			sc.temp = temp
			out.Temperature = &sc.temp
		}
	}
	if in.TopP != nil {
		p := *in.TopP
		if p < 0 || p > 1 {
			return apierror.InvalidRequest("top_p", "top_p must be between 0 and 1")
		}
		switch {
		case caps.RestrictedSampling && p < 0.99:
			t.log.WarnContext(ctx, "top_p dropped: model accepts only top_p >= 0.99", "model", out.Model)
		case thinkingOn && p < 0.95:
			t.log.WarnContext(ctx, "top_p dropped: extended thinking accepts only top_p >= 0.95")
		default:
			sc.topP = p
			out.TopP = &sc.topP
		}
	}
	return nil
}

// jsonErrorText describes a decoding error without quoting the input.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "malformed JSON at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		if te.Field != "" {
			return "field " + te.Field + " has the wrong type (" + te.Value + ")"
		}
		return "a value has the wrong type (" + te.Value + ")"
	default:
		return "malformed JSON"
	}
}
