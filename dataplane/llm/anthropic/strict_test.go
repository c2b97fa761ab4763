package anthropic

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestTranslatorRefusesAmbiguousAndOutOfRange: over HTTP through the handler, a body with a
// duplicate or case-variant key the translator reads, or a number the upstream does not accept,
// is a 400 in the OpenAI error shape naming the parameter, and nothing is sent upstream.
func TestTranslatorRefusesAmbiguousAndOutOfRange(t *testing.T) {
	e := newE2E(t, func(c *Config) { c.ServerTools = []string{"web_search_20250305"} })
	msgs := `"messages":[{"role":"user","content":"Hi"}]`
	for _, tc := range []struct {
		name, body, param, msg string
	}{
		{"review: max_completion_tokens int64 max", `{"model":"claude-haiku-4-5","max_completion_tokens":9223372036854775807,` + msgs + `}`, "max_completion_tokens", "accepts at most 64000"},
		{"max_tokens over the model's maximum", `{"model":"claude-sonnet-4-5","max_tokens":64001,` + msgs + `}`, "max_tokens", "model claude-sonnet-4-5 accepts at most 64000"},
		{"unknown model past int32", `{"model":"proxy-model","max_completion_tokens":2147483648,` + msgs + `}`, "max_completion_tokens", "at most 2147483647"},
		{"max_tokens beyond int64", `{"model":"claude-haiku-4-5","max_tokens":9223372036854775808,` + msgs + `}`, "", "max_tokens has the wrong type"},
		{"max_completion_tokens zero", `{"model":"claude-haiku-4-5","max_completion_tokens":0,` + msgs + `}`, "max_completion_tokens", "positive integer"},
		{"temperature above 2", `{"model":"claude-haiku-4-5","temperature":2.5,` + msgs + `}`, "temperature", "between 0 and 2"},
		{"top_p above 1", `{"model":"claude-haiku-4-5","top_p":1.5,` + msgs + `}`, "top_p", "between 0 and 1"},
		{"n above 1", `{"model":"claude-haiku-4-5","n":128,` + msgs + `}`, "n", "only one choice"},
		{"thinking budget below 1024", `{"model":"claude-haiku-4-5","thinking":{"type":"enabled","budget_tokens":500},` + msgs + `}`, "thinking.budget_tokens", "at least 1024"},
		{"thinking budget not below max_tokens", `{"model":"claude-haiku-4-5","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":2000},` + msgs + `}`, "thinking.budget_tokens", "less than max_tokens (2000)"},
		{"thinking budget huge", `{"model":"claude-haiku-4-5","thinking":{"type":"enabled","budget_tokens":1e30},` + msgs + `}`, "thinking.budget_tokens", "must be an integer"},
		{"server tool max_uses zero", `{"model":"claude-haiku-4-5","tools":[{"type":"web_search_20250305","name":"web_search","max_uses":0}],` + msgs + `}`, "tools[0].max_uses", "between 1 and 2147483647"},
		{"server tool max_uses int64 max", `{"model":"claude-haiku-4-5","tools":[{"type":"web_search_20250305","name":"web_search","max_uses":9223372036854775807}],` + msgs + `}`, "tools[0].max_uses", "between 1 and"},
		{"MODEL after model", `{"model":"claude-haiku-4-5","MODEL":"claude-opus-4-8",` + msgs + `}`, "MODEL", `key equals the earlier key \"model\"`},
		{"model twice", `{"model":"claude-haiku-4-5",` + msgs + `,"model":"claude-opus-4-8"}`, "model", "duplicate key"},
		{"Model alone", `{"Model":"claude-opus-4-8",` + msgs + `}`, "Model", `member names are case-sensitive (the gateway reads \"model\")`},
		{"max_tokens case variant", `{"model":"claude-haiku-4-5","MAX_TOKENS":5,` + msgs + `}`, "MAX_TOKENS", `the gateway reads \"max_tokens\"`},
		{"server tool TYPE", `{"model":"claude-haiku-4-5","tools":[{"type":"code_execution_20250825","TYPE":"web_search_20250305","name":"x"}],` + msgs + `}`, "tools[0].TYPE", `key equals the earlier key \"type\"`},
		{"role twice", `{"model":"claude-haiku-4-5","messages":[{"role":"system","content":"Hi","role":"user"}]}`, "messages[0].role", "duplicate key"},
		{"content part Text", `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"text","Text":"Hi"}]}]}`, "messages[0].content[0].Text", `the gateway reads \"text\"`},
		{"tool_choice Function", `{"model":"claude-haiku-4-5","tool_choice":{"type":"function","Function":{"name":"f"}},` + msgs + `}`, "tool_choice.Function", `the gateway reads \"function\"`},
		{"thinking TYPE", `{"model":"claude-haiku-4-5","thinking":{"type":"enabled","budget_tokens":1024,"TYPE":"disabled"},` + msgs + `}`, "thinking.TYPE", `key equals the earlier key \"type\"`},
		{"lone surrogate", `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"\ud800"}]}`, "", "messages[0].content: unpaired surrogate escape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.Requests())
			resp, err := http.Post(e.url+"/v1/chat/completions", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body struct {
				Error struct {
					Type  string  `json:"type"`
					Param *string `json:"param"`
				} `json:"error"`
			}
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &body) != nil || body.Error.Type != "invalid_request_error" {
				t.Fatalf("%d %s, want 400 invalid_request_error", resp.StatusCode, b)
			}
			param := ""
			if body.Error.Param != nil {
				param = *body.Error.Param
			}
			if param != tc.param || !strings.Contains(string(b), tc.msg) {
				t.Errorf("param %q, body %s; want param %q and %s", param, b, tc.param, tc.msg)
			}
			if len(e.fake.Requests()) != before {
				t.Error("the refused request was sent upstream")
			}
		})
	}
}

// TestChatRequestKeysCoverDecodedTypes: the strict schema names every member the translator
// decodes, so no field can be reached through a case variant.
func TestChatRequestKeysCoverDecodedTypes(t *testing.T) {
	for _, tc := range []struct{ body, variant string }{
		{`{"messages":[{"tool_calls":[{"function":{"ARGUMENTS":"{}"}}]}]}`, "ARGUMENTS"},
		{`{"messages":[{"thinking_blocks":[{"Signature":"s"}]}]}`, "Signature"},
		{`{"web_search_options":{"user_location":{"approximate":{"City":"P"}}}}`, "City"},
		{`{"response_format":{"json_schema":{"Schema":{}}}}`, "Schema"},
		{`{"tool_choice":{"allowed_tools":{"tools":[{"function":{"NAME":"f"}}]}}}`, "NAME"},
		{`{"stream_options":{"Include_Usage":true}}`, "Include_Usage"},
		{`{"tools":[{"function":{"parameters":{"Type":"object"}}}]}`, "Type"},
	} {
		err := chatRequestKeys.Read([]byte(tc.body), nil)
		if !isKeyError(err) || !strings.Contains(err.Error(), tc.variant+": unknown key") {
			t.Errorf("%s: %v, want the case variant %s refused", tc.body, err, tc.variant)
		}
	}
	// A key that only looks like a member where the translator does not read one passes.
	if err := chatRequestKeys.Read([]byte(`{"tools":[{"function":{"parameters":{"properties":{"Name":{},"TYPE":{}}}}}],"metadata":{"Model":"x"}}`), nil); err != nil {
		t.Errorf("opaque members were checked: %v", err)
	}
}

// FuzzTranslatorDecision: for every request the translator accepts, the values it decided on
// and re-encoded (model, stream, max_tokens, temperature, top_p, tools) are those an independent
// exact-key reader sees in the client's bytes, within the bounds Anthropic accepts.
func FuzzTranslatorDecision(f *testing.F) {
	for _, s := range []string{
		`{"model":"claude-haiku-4-5","MODEL":"claude-opus-4-8","messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"claude-haiku-4-5","max_completion_tokens":9223372036854775807,"messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"m","max_tokens":5,"MAX_TOKENS":6,"messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"m","stream":true,"ſtream":false,"messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"m","temperature":0.5,"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"typ\u0065":"object"}}}]}`,
	} {
		f.Add([]byte(s))
	}
	tr := newTranslator(&Config{WebSearch: true, ServerTools: []string{"web_search_20250305"}}, quietLogger())
	f.Fuzz(func(t *testing.T, in []byte) {
		up, err := tr.translateRequest(context.Background(), in)
		if err != nil {
			return
		}
		var client map[string]any
		if err := json.Unmarshal(in, &client); err != nil {
			t.Fatalf("accepted %q, which an exact-key reader cannot parse: %v", in, err)
		}
		var out map[string]any
		if err := json.Unmarshal(up.Body, &out); err != nil {
			t.Fatalf("upstream body is not JSON: %v", err)
		}
		if m, _ := client["model"].(string); m != up.Model || out["model"] != m {
			t.Fatalf("%q: client model %q, translator decided %q, sent %v", in, m, up.Model, out["model"])
		}
		if s, _ := client["stream"].(bool); s != up.Stream {
			t.Fatalf("%q: client stream %v, translator %v", in, s, up.Stream)
		}
		mt, _ := out["max_tokens"].(float64)
		if mt < 1 || mt > maxTokensLimit {
			t.Fatalf("%q: max_tokens %v sent", in, out["max_tokens"])
		}
		for _, k := range []string{"max_completion_tokens", "max_tokens"} {
			if v, ok := client[k].(float64); ok {
				if v != mt {
					t.Fatalf("%q: client %s %v, sent max_tokens %v", in, k, v, mt)
				}
				break
			}
		}
		if v, ok := out["temperature"].(float64); ok && (v < 0 || v > 1) {
			t.Fatalf("%q: temperature %v sent", in, v)
		}
		if v, ok := out["top_p"].(float64); ok && (v < 0 || v > 1) {
			t.Fatalf("%q: top_p %v sent", in, v)
		}
		if tools, ok := out["tools"].([]any); ok {
			for _, tl := range tools {
				if m, ok := tl.(map[string]any); ok && !reflect.DeepEqual(m["max_uses"], nil) {
					if n, _ := m["max_uses"].(float64); n < 1 || n > maxTokensLimit {
						t.Fatalf("%q: max_uses %v sent", in, m["max_uses"])
					}
				}
			}
		}
	})
}
