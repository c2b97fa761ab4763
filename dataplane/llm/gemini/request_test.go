package gemini

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/infergw/gwctl/dataplane/llm/gemini/geminitest"
)

// translateForTest translates in and decodes the upstream body strictly into the SDK's types.
func translateForTest(t *testing.T, tr *translator, in string) (*upstreamRequest, geminitest.GenerateContentRequest) {
	t.Helper()
	up, err := tr.translateRequest(context.Background(), []byte(in))
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	var got geminitest.GenerateContentRequest
	if err := geminitest.Decode(up.Body, &got); err != nil {
		t.Fatalf("upstream body refused: %v\n%s", err, up.Body)
	}
	return up, got
}

func TestTranslateRequest(t *testing.T) {
	tr := testTranslator()
	t.Run("messages, roles, system, tools, tool results", func(t *testing.T) {
		up, got := translateForTest(t, tr, `{"model":"models/gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true},
"messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"Use metric units."}]},
{"role":"user","content":"Weather in Paris and Rome?"},
{"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_a__thought__CiQB0e2K","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},{"id":"call_b","type":"function","function":{"name":"get_weather","arguments":""}}]},
{"role":"tool","tool_call_id":"call_a__thought__CiQB0e2K","content":"{\"temp\":18}"},
{"role":"tool","tool_call_id":"call_b","content":[{"type":"text","text":"24C"}]},
{"role":"user","content":"Thanks"}],
"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}],
"tool_choice":"required","temperature":0.3,"top_p":0.9,"max_completion_tokens":256,"stop":["END"],"seed":7}`)
		if up.Path != "/models/gemini-2.5-flash:streamGenerateContent?alt=sse" || !up.Stream || !up.IncludeUsage || up.Model != "gemini-2.5-flash" {
			t.Errorf("upstream request %+v", up)
		}
		if si := got.SystemInstruction; si == nil || len(si.Parts) != 2 || si.Parts[0].Text != "Be brief." || si.Parts[1].Text != "Use metric units." {
			t.Errorf("systemInstruction %s", jsonOf(t, got.SystemInstruction))
		}
		if len(got.Contents) != 3 {
			t.Fatalf("contents %s", jsonOf(t, got.Contents))
		}
		user, model, results := got.Contents[0], got.Contents[1], got.Contents[2]
		if user.Role != "user" || user.Parts[0].Text != "Weather in Paris and Rome?" {
			t.Errorf("user turn %s", jsonOf(t, user))
		}
		if model.Role != "model" || len(model.Parts) != 3 || model.Parts[0].Text != "Checking." ||
			model.Parts[1].FunctionCall.Name != "get_weather" || model.Parts[1].FunctionCall.Args["city"] != "Paris" ||
			string(model.Parts[1].ThoughtSignature) != "\x0a\x24\x01\xd1\xed\x8a" || len(model.Parts[2].FunctionCall.Args) != 0 {
			t.Errorf("model turn %s", jsonOf(t, model))
		}
		if results.Role != "user" || len(results.Parts) != 3 ||
			results.Parts[0].FunctionResponse.Name != "get_weather" || results.Parts[0].FunctionResponse.Response["temp"] != float64(18) ||
			results.Parts[1].FunctionResponse.Response["output"] != "24C" || results.Parts[2].Text != "Thanks" {
			t.Errorf("tool results turn %s", jsonOf(t, results))
		}
		d := got.Tools[0].FunctionDeclarations[0]
		if d.Name != "get_weather" || d.Description != "Weather" || d.Parameters != nil || jsonOf(t, d.ParametersJsonSchema) != `{"additionalProperties":false,"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}` {
			t.Errorf("function declaration %s", jsonOf(t, d))
		}
		if fc := got.ToolConfig.FunctionCallingConfig; fc.Mode != genai.FunctionCallingConfigModeAny || len(fc.AllowedFunctionNames) != 0 {
			t.Errorf("toolConfig %s", jsonOf(t, got.ToolConfig))
		}
		gc := got.GenerationConfig
		if *gc.Temperature != 0.3 || *gc.TopP != 0.9 || gc.MaxOutputTokens != 256 || gc.StopSequences[0] != "END" || *gc.Seed != 7 || gc.CandidateCount != 0 {
			t.Errorf("generationConfig %s", jsonOf(t, gc))
		}
	})
	t.Run("images, files, n, response_format, reasoning, named tool", func(t *testing.T) {
		up, got := translateForTest(t, &translator{model: "gemini-3-pro-preview", log: quietLogger()}, `{"model":"anything",
"messages":[{"role":"user","content":[{"type":"text","text":"Compare"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
{"type":"image_url","image_url":{"url":"https://example.com/map.JPG?x=1","detail":"high"}},{"type":"file","file":{"filename":"a.pdf","file_data":"JVBERi0xLjQ="}}]}],
"n":2,"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"a":{"type":"string"}}}}},
"reasoning_effort":"high","tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`)
		if up.Path != "/models/gemini-3-pro-preview:generateContent" || up.Stream || up.Candidates != 2 {
			t.Errorf("upstream request %+v", up)
		}
		p := got.Contents[0].Parts
		if len(p) != 4 || p[1].InlineData.MIMEType != "image/png" || string(p[1].InlineData.Data) != "\x89PNG\r\n\x1a\n" ||
			p[2].FileData.FileURI != "https://example.com/map.JPG?x=1" || p[2].FileData.MIMEType != "image/jpeg" ||
			p[3].InlineData.MIMEType != "application/pdf" {
			t.Errorf("parts %s", jsonOf(t, p))
		}
		gc := got.GenerationConfig
		if gc.CandidateCount != 2 || gc.ResponseMIMEType != "application/json" || jsonOf(t, gc.ResponseJsonSchema) != `{"properties":{"a":{"type":"string"}},"type":"object"}` ||
			gc.ThinkingConfig.ThinkingLevel != genai.ThinkingLevelHigh || !gc.ThinkingConfig.IncludeThoughts || gc.ThinkingConfig.ThinkingBudget != nil {
			t.Errorf("generationConfig %s", jsonOf(t, gc))
		}
		if fc := got.ToolConfig.FunctionCallingConfig; fc.Mode != genai.FunctionCallingConfigModeAny || strings.Join(fc.AllowedFunctionNames, ",") != "g" {
			t.Errorf("toolConfig %s", jsonOf(t, got.ToolConfig))
		}
	})
	t.Run("allowed_tools auto offers only those, json_object, budget", func(t *testing.T) {
		_, got := translateForTest(t, tr, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],
"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g"}}],
"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"f"}}]}},
"response_format":{"type":"json_object"},"reasoning_effort":"none"}`)
		if d := got.Tools[0].FunctionDeclarations; len(d) != 1 || d[0].Name != "f" || got.ToolConfig.FunctionCallingConfig.Mode != genai.FunctionCallingConfigModeAuto {
			t.Errorf("tools %s %s", jsonOf(t, got.Tools), jsonOf(t, got.ToolConfig))
		}
		gc := got.GenerationConfig
		if gc.ResponseMIMEType != "application/json" || gc.ResponseJsonSchema != nil || *gc.ThinkingConfig.ThinkingBudget != 0 || gc.ThinkingConfig.IncludeThoughts {
			t.Errorf("generationConfig %s", jsonOf(t, gc))
		}
	})
}

func TestTranslateRequestRefuses(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct{ name, in, param string }{
		{"n too large", `{"model":"gemini-2.5-flash",` + msgs + `,"n":9}`, "n"},
		{"n zero", `{"model":"gemini-2.5-flash",` + msgs + `,"n":0}`, "n"},
		{"max_tokens zero", `{"model":"gemini-2.5-flash",` + msgs + `,"max_tokens":0}`, "max_tokens"},
		{"temperature", `{"model":"gemini-2.5-flash",` + msgs + `,"temperature":2.5}`, "temperature"},
		{"six stops", `{"model":"gemini-2.5-flash",` + msgs + `,"stop":["a","b","c","d","e","f"]}`, "stop"},
		{"model with a slash", `{"model":"gemini/../../v1/files",` + msgs + `}`, "model"},
		{"model with a query", `{"model":"gemini-2.5-flash?key=x",` + msgs + `}`, "model"},
		{"model with a colon", `{"model":"gemini-2.5-flash:streamGenerateContent",` + msgs + `}`, "model"},
		{"no model", `{` + msgs + `}`, "model"},
		{"no messages", `{"model":"gemini-2.5-flash","messages":[]}`, "messages"},
		{"duplicate key", `{"model":"gemini-2.5-flash","model":"other",` + msgs + `}`, "model"},
		{"case variant", `{"model":"gemini-2.5-flash","Model":"other",` + msgs + `}`, "Model"},
		{"ftp image", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/a.png"}}]}]}`, "messages[0].content[0].image_url.url"},
		{"bad data URL", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, "messages[0].content[0].image_url.url"},
		{"file id", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "messages[0].content[0].file"},
		{"audio", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "messages[0].content[0].type"},
		{"image in system", `{"model":"gemini-2.5-flash","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/a.png"}}]},{"role":"user","content":"hi"}]}`, "messages[0].content[0].type"},
		{"unknown tool result", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"nope","content":"x"}]}`, "messages[1].tool_call_id"},
		{"arguments not an object", `{"model":"gemini-2.5-flash","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[0].tool_calls[0].function.arguments"},
		{"tool call without id", `{"model":"gemini-2.5-flash","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].id"},
		{"non-function tool", `{"model":"gemini-2.5-flash",` + msgs + `,"tools":[{"type":"web_search"}]}`, "tools[0].type"},
		{"tool_choice names an unknown tool", `{"model":"gemini-2.5-flash",` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, "tool_choice.function.name"},
		{"json_schema without schema", `{"model":"gemini-2.5-flash",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, "response_format.json_schema.schema"},
		{"reasoning effort", `{"model":"gemini-2.5-flash",` + msgs + `,"reasoning_effort":"extreme"}`, "reasoning_effort"},
		{"role", `{"model":"gemini-2.5-flash","messages":[{"role":"function","content":"x"}]}`, "messages[0].role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testTranslator().translateRequest(context.Background(), []byte(tc.in))
			if err == nil || err.Status != 400 || err.Param != tc.param {
				t.Fatalf("got %v, want a 400 naming %s", err, tc.param)
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
