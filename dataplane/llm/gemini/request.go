package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"strings"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/dataplane/llm/chat"
	"github.com/infergw/gwctl/pkg/gateway"
)

// Limits of the Gemini API the translation checks before calling it.
const (
	maxCandidates    = 8 // generationConfig.candidateCount
	maxStopSequences = 5 // generationConfig.stopSequences
)

// translator holds what request and response translation need from the Config.
type translator struct {
	model       string
	alwaysUsage bool
	log         *slog.Logger
}

// upstreamRequest is a translated request ready to send.
type upstreamRequest struct {
	Path         string // under the base URL: /models/<model>:generateContent or …:streamGenerateContent?alt=sse
	Body         []byte
	Model        string // model sent upstream
	Stream       bool
	IncludeUsage bool  // emit the streamed usage chunk
	Candidates   int64 // choices asked for (n)
}

// chatRequestKeys is every member name the translator reads, from the types it decodes into:
// a body with duplicate or case-colliding keys, or a case variant of one of these names, is
// refused before decoding, since encoding/json would read such a key into the member while
// body-based routing (exact keys) would have routed on another value.
var chatRequestKeys = func() *jsonstrict.Schema {
	s := jsonstrict.NewSchema()
	s.Type(chatRequest{}, nil)
	s.Type([]chatPart(nil), nil, "messages", jsonstrict.Each, "content")
	s.Type(chat.ToolChoiceObject{}, nil, "tool_choice")
	return s
}()

// translateRequest maps an OpenAI chat completion request body to a generateContent body.
func (t *translator) translateRequest(ctx context.Context, body []byte) (*upstreamRequest, *apierror.Error) {
	sc := scratches.Get().(*reqScratch)
	defer sc.release() // after the encoding: nothing returned points into it
	return t.translateRequestIn(ctx, body, sc)
}

// translateRequestIn is translateRequest with its working memory in sc.
func (t *translator) translateRequestIn(_ context.Context, body []byte, sc *reqScratch) (*upstreamRequest, *apierror.Error) {
	serr := chatRequestKeys.Read(body, nil)
	if serr != nil && isKeyError(serr) {
		return nil, apierror.Body(serr)
	}
	in := &sc.in
	if err := decodeRequestIn(body, in, serr == nil, sc); err != nil {
		return nil, apierror.InvalidRequest("", "request body is not a valid chat completion request: %s", jsonErrorText(err))
	}
	if serr != nil { // accepted by encoding/json, refused by the strict reader (invalid UTF-8, depth)
		return nil, apierror.Body(serr)
	}
	model := in.Model
	if t.model != "" {
		model = t.model
	}
	if model == "" {
		return nil, apierror.InvalidRequest("model", "model is required")
	}
	name, perr := modelPath(model)
	if perr != nil {
		return nil, perr
	}
	out, gc := &sc.out, &sc.gc

	n := int64(1)
	if in.N != nil {
		if n = *in.N; n < 1 || n > maxCandidates {
			return nil, apierror.InvalidRequest("n", "n=%d is not supported by this backend: Gemini generates 1 to %d candidates", n, maxCandidates)
		}
		if n > 1 {
			gc.CandidateCount = n
		}
	}
	switch {
	case in.MaxCompletionTokens != nil:
		gc.MaxOutputTokens = *in.MaxCompletionTokens
		if err := checkMaxTokens("max_completion_tokens", gc.MaxOutputTokens); err != nil {
			return nil, err
		}
	case in.MaxTokens != nil:
		gc.MaxOutputTokens = *in.MaxTokens
		if err := checkMaxTokens("max_tokens", gc.MaxOutputTokens); err != nil {
			return nil, err
		}
	}
	if err := sampling(in, gc); err != nil {
		return nil, err
	}
	var err *apierror.Error
	if gc.StopSequences, err = stopSequences(in.Stop); err != nil {
		return nil, err
	}
	if err := responseFormat(in.ResponseFormat, gc); err != nil {
		return nil, err
	}
	if gc.ThinkingConfig, err = thinking(in.ReasoningEffort, name); err != nil {
		return nil, err
	}
	if err := tools(in, out, sc); err != nil {
		return nil, err
	}
	if err := messages(in, out, sc); err != nil {
		return nil, err
	}
	if !reflect.ValueOf(gc).Elem().IsZero() {
		out.GenerationConfig = gc
	}

	upBody, eerr := out.encode(len(body) + 256)
	if eerr != nil {
		// Only a raw part that is not valid JSON can fail here; every raw part was decoded.
		return nil, apierror.InvalidRequest("", "request cannot be translated: %s", eerr)
	}
	path := "/models/" + name + ":generateContent"
	if in.Stream {
		path = "/models/" + name + ":streamGenerateContent?alt=sse"
	}
	return &upstreamRequest{
		// Model is in the path's own copy: name may alias the client's body, and a metric keeps it.
		Path: path, Body: upBody, Model: path[len("/models/") : len("/models/")+len(name)], Stream: in.Stream,
		IncludeUsage: t.alwaysUsage || (in.StreamOptions != nil && in.StreamOptions.IncludeUsage),
		Candidates:   n,
	}, nil
}

// modelPath checks a model that goes into the upstream URL path (gateway.CheckGeminiModel: a
// slash, "..", "?", "#", "%" or ":" could change the path the key is sent to) and returns its id
// without a "models/" prefix.
func modelPath(model string) (string, *apierror.Error) {
	if err := gateway.CheckGeminiModel(model); err != nil {
		return "", apierror.InvalidRequest("model", "%s", truncateRunes(err.Error(), 160))
	}
	return strings.TrimPrefix(model, "models/"), nil
}

func checkMaxTokens(param string, n int64) *apierror.Error {
	if n <= 0 || n > math.MaxInt32 {
		return apierror.InvalidRequest(param, "%s must be a positive integer no larger than %d", param, math.MaxInt32)
	}
	return nil
}

// sampling copies the sampling parameters, which Gemini takes in the same ranges as OpenAI
// (temperature 0–2, top_p 0–1, penalties -2–2); values outside them are the client's error.
func sampling(in *chatRequest, gc *generationConfig) *apierror.Error {
	for _, p := range []struct {
		name   string
		v      *float64
		lo, hi float64
		dst    **float64
	}{
		{"temperature", in.Temperature, 0, 2, &gc.Temperature},
		{"top_p", in.TopP, 0, 1, &gc.TopP},
		{"presence_penalty", in.PresencePenalty, -2, 2, &gc.PresencePenalty},
		{"frequency_penalty", in.FrequencyPenalty, -2, 2, &gc.FrequencyPenalty},
	} {
		if p.v == nil {
			continue
		}
		if *p.v < p.lo || *p.v > p.hi || math.IsNaN(*p.v) {
			return apierror.InvalidRequest(p.name, "%s must be between %g and %g", p.name, p.lo, p.hi)
		}
		*p.dst = p.v
	}
	if in.Seed != nil {
		if *in.Seed < math.MinInt32 || *in.Seed > math.MaxInt32 {
			return apierror.InvalidRequest("seed", "seed must be a 32-bit integer for Gemini")
		}
		gc.Seed = in.Seed
	}
	return nil
}

// stopSequences accepts a string or an array of at most 5 strings (Gemini's limit); empty
// entries are dropped.
func stopSequences(raw json.RawMessage) ([]string, *apierror.Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, apierror.InvalidRequest("stop", "stop must be a string or an array of strings")
		}
		list = []string{s}
	} else if json.Unmarshal(raw, &list) != nil {
		return nil, apierror.InvalidRequest("stop", "stop must be a string or an array of strings")
	}
	out := list[:0]
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) > maxStopSequences {
		return nil, apierror.InvalidRequest("stop", "Gemini accepts at most %d stop sequences, got %d", maxStopSequences, len(out))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// responseFormat maps json_object to responseMimeType application/json and json_schema to
// that plus responseJsonSchema, the schema verbatim.
func responseFormat(rf *chat.ResponseFormat, gc *generationConfig) *apierror.Error {
	if rf == nil {
		return nil
	}
	switch rf.Type {
	case "", "text":
	case "json_object":
		gc.ResponseMIMEType = "application/json"
	case "json_schema":
		if rf.JSONSchema == nil || !isObject(rf.JSONSchema.Schema) {
			return apierror.InvalidRequest("response_format.json_schema.schema", "response_format json_schema needs json_schema.schema, a JSON object")
		}
		gc.ResponseMIMEType = "application/json"
		gc.ResponseJSONSchema = rf.JSONSchema.Schema
	default:
		return apierror.InvalidRequest("response_format.type", "response_format type %q is not supported (text, json_object, json_schema)", truncateRunes(rf.Type, 64))
	}
	return nil
}

// thinking maps reasoning_effort: Gemini 3 models take a thinkingLevel, Gemini 2.5 a token
// budget (Google's own OpenAI compatibility layer uses these budgets); "none" turns thinking
// off where the model allows it. Thought summaries are asked for so they come back as
// reasoning_content.
func thinking(effort, model string) (*thinkingConfig, *apierror.Error) {
	if effort == "" {
		return nil, nil
	}
	var budget int64
	switch effort {
	case "none":
	case "minimal", "low":
		budget = 1024
	case "medium":
		budget = 8192
	case "high":
		budget = 24576
	default:
		return nil, apierror.InvalidRequest("reasoning_effort", "reasoning_effort %q is not supported (none, minimal, low, medium, high)", truncateRunes(effort, 32))
	}
	if strings.HasPrefix(model, "gemini-3") {
		if effort == "none" {
			effort = "minimal"
		}
		return &thinkingConfig{IncludeThoughts: true, ThinkingLevel: strings.ToUpper(effort)}, nil
	}
	if budget == 0 {
		return &thinkingConfig{ThinkingBudget: &budget}, nil
	}
	return &thinkingConfig{IncludeThoughts: true, ThinkingBudget: &budget}, nil
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "field " + te.Field + " must not be a JSON " + te.Value
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON"
	}
	return "invalid value"
}

var truncateRunes = chat.Truncate

// isKeyError reports a strict reader's refusal of a key (a duplicate or a case variant).
func isKeyError(err error) bool {
	var se *jsonstrict.Error
	return errors.As(err, &se) && se.Key
}
