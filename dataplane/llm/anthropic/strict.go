package anthropic

import (
	"errors"
	"fmt"
	"math"
	"reflect"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/dataplane/llm/chat"
)

// chatRequestKeys is every member name the translator reads from a chat completion request, taken
// from the types it decodes into. decodeRequest refuses, before either of its decoders runs, a
// body with duplicate or case-colliding keys or with a case variant of one of these names:
// encoding/json would decode such a key into the member, the hand-written decoder would not, and
// body-based routing (which reads exact keys) would have routed on another value. What is
// translated, and re-encoded for the upstream, is then exactly what was checked.
var chatRequestKeys = func() *jsonstrict.Schema {
	s := jsonstrict.NewSchema()
	as := map[reflect.Type]any{
		reflect.TypeFor[chatContent](): []chatPart(nil),
		reflect.TypeFor[chatTool]():    chatToolFields{},
	}
	s.Type(chatRequest{}, as)
	s.Type(chat.ToolChoiceObject{}, as, "tool_choice")
	for _, p := range [][]string{
		{"thinking", "type"}, {"thinking", "budget_tokens"},
		{"tools", jsonstrict.Each, "function", "parameters", "type"},
	} {
		s.Known(p...)
	}
	for _, f := range serverToolCounts {
		s.Known("tools", jsonstrict.Each, f)
	}
	return s
}()

// isKeyError reports a body refused for a key: a duplicate, a case collision or a case variant.
func isKeyError(err error) bool {
	if err == nil {
		return false // before se is declared: errors.As makes it escape
	}
	var se *jsonstrict.Error
	return errors.As(err, &se) && se.Key
}

// maxTokensLimit bounds max_tokens for a model the capability table does not know: no
// provider's integer field accepts more, and a value past it is a client error, not a budget.
const maxTokensLimit = math.MaxInt32

// checkMaxTokens range-checks the client's max_completion_tokens or max_tokens (param) against
// what the model accepts (Anthropic's max_tokens is a positive integer up to the model's maximum
// output).
func checkMaxTokens(param string, n int64, model string, caps ModelCaps) *apierror.Error {
	if n <= 0 {
		return apierror.InvalidRequest(param, "%s must be a positive integer", param)
	}
	if caps.MaxOutputTokens > 0 && n > caps.MaxOutputTokens {
		return apierror.InvalidRequest(param, "%s is %d; model %s accepts at most %d", param, n, model, caps.MaxOutputTokens)
	}
	if n > maxTokensLimit {
		return apierror.InvalidRequest(param, "%s is %d; at most %d is accepted", param, n, maxTokensLimit)
	}
	return nil
}

// checkThinking range-checks a vendor thinking object, which passes verbatim: with type
// "enabled", budget_tokens is an integer of at least 1024 and below max_tokens (Anthropic's
// ThinkingConfigEnabled).
func checkThinking(raw jsonstrict.Value, maxTokens int64) *apierror.Error {
	if !raw.Lookup("type").Equal("enabled") {
		return nil
	}
	const param = "thinking.budget_tokens"
	b, err := raw.Lookup("budget_tokens").Int64()
	switch {
	case err != nil:
		return apierror.InvalidRequest(param, "budget_tokens is required with thinking type enabled and must be an integer")
	case b < 1024:
		return apierror.InvalidRequest(param, "budget_tokens must be at least 1024")
	case b >= maxTokens:
		return apierror.InvalidRequest(param, "budget_tokens must be less than max_tokens (%d)", maxTokens)
	}
	return nil
}

// serverToolCounts are the integer members of Anthropic server tool objects (web search, web
// fetch), all positive; server tools pass verbatim, so they are checked here.
var serverToolCounts = []string{"max_uses", "max_content_tokens", "max_characters"}

func checkServerTool(i int, raw jsonstrict.Value) *apierror.Error {
	for _, f := range serverToolCounts {
		v := raw.Lookup(f)
		if v.Kind() == jsonstrict.Absent || v.Kind() == jsonstrict.Null {
			continue
		}
		if n, err := v.Int64(); err != nil || n < 1 || n > maxTokensLimit {
			param := fmt.Sprintf("tools[%d].%s", i, f)
			return apierror.InvalidRequest(param, "%s must be an integer between 1 and %d", f, maxTokensLimit)
		}
	}
	return nil
}
