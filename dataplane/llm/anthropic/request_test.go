package anthropic

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
)

const weatherTool = `{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}`

// requestCases cover every request mapping rule (dataplane/llm/README.md); each golden file holds the
// Anthropic body, or the HTTP status and OpenAI error.
var requestCases = []struct {
	name string
	cfg  Config
	in   string
	// newerThanSpec: the body uses API features newer than the reference spec copy
	// (role "system" in messages, anthropic-sdk-go v1.84.0), so schema validation is skipped.
	newerThanSpec bool
}{
	{name: "basic", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "model_override", cfg: Config{Model: "claude-sonnet-4-5"}, in: `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "model_alias", cfg: Config{ModelAliases: map[string]string{"fast": "claude-haiku-4-5"}}, in: `{"model":"fast","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "system_and_developer", in: `{"model":"claude-haiku-4-5","messages":[
		{"role":"system","content":"You are terse."},
		{"role":"developer","content":[{"type":"text","text":"Rule one.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"  "},{"type":"text","text":"Rule two."}]},
		{"role":"system","content":"   "},
		{"role":"user","content":"Hi"}]}`},
	{name: "system_only", in: `{"model":"claude-haiku-4-5","messages":[{"role":"system","content":"You are terse."}]}`},
	{name: "empty_user_text_dropped", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"Hi"}]},{"role":"user","content":" "}]}`},
	{name: "mid_conversation_system_opt_in", newerThanSpec: true, cfg: Config{MidConversationSystem: true}, in: `{"model":"claude-opus-4-8","messages":[{"role":"system","content":"First."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"system","content":"Be brief now."},{"role":"user","content":"Go"}]}`},
	{name: "max_completion_tokens_wins", in: `{"model":"claude-haiku-4-5","max_completion_tokens":300,"max_tokens":200,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "max_tokens", in: `{"model":"claude-haiku-4-5","max_tokens":200,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "max_tokens_default_capped_by_model", cfg: Config{DefaultMaxTokens: 10000}, in: `{"model":"claude-3-5-haiku-20241022","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "max_tokens_zero", in: `{"model":"claude-haiku-4-5","max_tokens":0,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "max_completion_tokens_negative", in: `{"model":"claude-haiku-4-5","max_completion_tokens":-5,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "temperature_clamped", in: `{"model":"claude-haiku-4-5","temperature":1.7,"top_p":0.9,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "temperature_zero_kept", in: `{"model":"claude-haiku-4-5","temperature":0,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "temperature_strict", cfg: Config{Strict: true}, in: `{"model":"claude-haiku-4-5","temperature":1.7,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "temperature_out_of_range", in: `{"model":"claude-haiku-4-5","temperature":2.5,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "restricted_sampling_dropped", in: `{"model":"claude-opus-4-7","temperature":0.5,"top_p":0.5,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "logprobs_ignored", in: `{"model":"claude-haiku-4-5","logprobs":true,"top_logprobs":3,"seed":4,"presence_penalty":0.1,"frequency_penalty":0.2,"logit_bias":{"50256":-100},"store":true,"metadata":{"a":"b"},"service_tier":"auto","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "logprobs_strict", cfg: Config{Strict: true}, in: `{"model":"claude-haiku-4-5","logprobs":true,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "stop_string", in: `{"model":"claude-haiku-4-5","stop":"END","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "stop_array_whitespace_dropped", in: `{"model":"claude-haiku-4-5","stop":["\n\n","END"," "],"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "n_2", in: `{"model":"claude-haiku-4-5","n":2,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "n_1", in: `{"model":"claude-haiku-4-5","n":1,"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "stream", in: `{"model":"claude-haiku-4-5","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`},
	{name: "tools_verbatim_schema", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[
		{"type":"function","function":{"name":"lookup","description":"Find","strict":true,"parameters":{"type":"object","properties":{"q":{"anyOf":[{"type":"string"},{"type":"null"}]},"opts":{"$ref":"#/$defs/Opts"}},"required":["q"],"additionalProperties":false,"$defs":{"Opts":{"type":"object","properties":{"n":{"type":"integer","minimum":1}}}}}}},
		{"type":"function","function":{"name":"get_time"}},
		{"type":"function","function":{"name":"notype","parameters":{"properties":{"x":{"type":"string"}}}}}]}`},
	{name: "tools_non_function", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"custom","custom":{"name":"x"}}]}`},
	{name: "tool_choice_auto", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[` + weatherTool + `],"tool_choice":"auto"}`},
	{name: "tool_choice_none", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[` + weatherTool + `],"tool_choice":"none","parallel_tool_calls":false}`},
	{name: "tool_choice_required", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[` + weatherTool + `],"tool_choice":"required","parallel_tool_calls":true}`},
	{name: "tool_choice_function", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[` + weatherTool + `],"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`},
	{name: "tool_choice_unknown_function", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[` + weatherTool + `],"tool_choice":{"type":"function","function":{"name":"nope"}}}`},
	{name: "tool_choice_bare_function_string", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[` + weatherTool + `],"tool_choice":"function"}`},
	{name: "tool_choice_allowed_tools", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[` + weatherTool + `,{"type":"function","function":{"name":"get_time"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"get_time"}}]}}}`},
	{name: "parallel_false_without_tool_choice", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[` + weatherTool + `],"parallel_tool_calls":false}`},
	{name: "parallel_without_tools_ignored", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}],"parallel_tool_calls":false}`},
	{name: "assistant_tool_calls_and_results", in: `{"model":"claude-haiku-4-5","tools":[` + weatherTool + `],"messages":[
		{"role":"user","content":"Weather in Paris and Rome?"},
		{"role":"assistant","content":"Checking.","tool_calls":[
			{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\", \"a\": 1}"}},
			{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":""}}]},
		{"role":"tool","tool_call_id":"call_1","content":"18C"},
		{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"21C"}]},
		{"role":"user","content":"Thanks, and now?"}]}`},
	{name: "tool_result_after_user_reordered", in: `{"model":"claude-haiku-4-5","tools":[` + weatherTool + `],"messages":[
		{"role":"user","content":"Weather?"},
		{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
		{"role":"user","content":"Here you go"},
		{"role":"tool","tool_call_id":"call_1","content":"18C"}]}`},
	{name: "tool_result_cache_control_lifted", in: `{"model":"claude-haiku-4-5","tools":[` + weatherTool + `],"messages":[
		{"role":"user","content":"Weather?"},
		{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":[{"type":"text","text":"18C","cache_control":{"type":"ephemeral"}},{"type":"image_url","image_url":{"url":"https://example.com/map.png"}}]}]}`},
	{name: "tool_arguments_invalid", in: `{"model":"claude-haiku-4-5","tools":[` + weatherTool + `],"messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"[1,2]"}}]},{"role":"tool","tool_call_id":"call_1","content":"x"}]}`},
	{name: "tool_arguments_not_json", in: `{"model":"claude-haiku-4-5","tools":[` + weatherTool + `],"messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{city: Paris"}}]}]}`},
	{name: "tool_call_missing_id", in: `{"model":"claude-haiku-4-5","tools":[` + weatherTool + `],"messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":"{}"}}]}]}`},
	{name: "tool_calls_without_tools", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"x"}]}`},
	{name: "images", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[
		{"type":"text","text":"Compare"},
		{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
		{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}},
		{"type":"image_url","image_url":{"url":"data:application/pdf;base64,JVBERi0x"}},
		{"type":"image_url","image_url":{"url":"https://example.com/spec.pdf?x=1"}}]}]}`},
	{name: "image_bad_media_type", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}]}]}`},
	{name: "image_unsupported_scheme", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"gs://bucket/cat.png"}}]}]}`},
	{name: "file_data", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[
		{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0x"}},
		{"type":"file","file":{"filename":"a.txt","file_data":"data:text/plain;base64,aGVsbG8="}},
		{"type":"text","text":"Summarise"}]}]}`},
	{name: "file_id", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}`},
	{name: "input_audio", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`},
	{name: "response_format_json_schema_native", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Extract"}],"response_format":{"type":"json_schema","json_schema":{"name":"person","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}}`},
	{name: "response_format_json_schema_fallback", in: `{"model":"claude-3-5-haiku-20241022","messages":[{"role":"user","content":"Extract"}],"response_format":{"type":"json_schema","json_schema":{"name":"person","schema":{"type":"object","properties":{"name":{"type":"string"}}}}}}`},
	{name: "response_format_json_object", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"JSON please"}],"response_format":{"type":"json_object"}}`},
	{name: "reasoning_adaptive", in: `{"model":"claude-opus-4-6","messages":[{"role":"user","content":"Think"}],"reasoning_effort":"xhigh","temperature":0.3}`},
	{name: "reasoning_budget", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Think"}],"reasoning_effort":"medium","temperature":0.3,"top_p":0.5}`},
	{name: "reasoning_budget_clamped", in: `{"model":"claude-sonnet-4-5","max_tokens":2000,"messages":[{"role":"user","content":"Think"}],"reasoning_effort":"high"}`},
	{name: "reasoning_small_max_tokens", in: `{"model":"claude-sonnet-4-5","max_tokens":1000,"messages":[{"role":"user","content":"Think"}],"reasoning_effort":"low"}`},
	{name: "reasoning_minimal", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Think"}],"reasoning_effort":"minimal"}`},
	{name: "reasoning_no_thinking_model", in: `{"model":"claude-3-5-haiku-20241022","messages":[{"role":"user","content":"Think"}],"reasoning_effort":"high"}`},
	{name: "reasoning_invalid", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Think"}],"reasoning_effort":"extreme"}`},
	{name: "reasoning_forced_tool", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Think"}],"reasoning_effort":"low","tools":[` + weatherTool + `],"tool_choice":"required"}`},
	{name: "thinking_vendor_passthrough", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Think"}],"thinking":{"type":"enabled","budget_tokens":1500}}`},
	{name: "thinking_replay", in: `{"model":"claude-sonnet-4-5","messages":[
		{"role":"user","content":"2+2?"},
		{"role":"assistant","content":"4","reasoning_content":"Two plus two.","reasoning_signature":"SIG=="},
		{"role":"user","content":"3+3?"},
		{"role":"assistant","content":"6","thinking_blocks":[{"type":"thinking","thinking":"Three.","signature":"S2"},{"type":"redacted_thinking","data":"RD"},{"type":"thinking","thinking":"unsigned"}]},
		{"role":"user","content":"And?"}]}`},
	{name: "thinking_unsigned_dropped", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello","reasoning_content":"no signature"},{"role":"user","content":"Go on"}]}`},
	{name: "final_assistant_trailing_whitespace", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Start a poem"},{"role":"assistant","content":"Roses are red \n"}]}`},
	{name: "assistant_refusal_parts", in: `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"refusal","refusal":"I can't."}]},{"role":"user","content":"ok"}]}`},
	{name: "user_metadata", in: `{"model":"claude-haiku-4-5","user":"user_12345","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "safety_identifier_preferred", in: `{"model":"claude-haiku-4-5","user":"u1","safety_identifier":"sid-9","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "user_email_dropped", in: `{"model":"claude-haiku-4-5","user":"ada@example.com","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "user_phone_dropped", in: `{"model":"claude-haiku-4-5","user":"+1 (555) 010-9999","messages":[{"role":"user","content":"Hi"}]}`},
	{name: "web_search_options_ignored", in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"web_search_options":{"search_context_size":"high"}}`},
	{name: "web_search_options_mapped", cfg: Config{WebSearch: true}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"tools":[` + weatherTool + `],"web_search_options":{"search_context_size":"high","user_location":{"type":"approximate","approximate":{"city":"Paris","country":"FR","region":"Île-de-France","timezone":"Europe/Paris"}}}}`},
	{name: "web_search_options_low_no_location", cfg: Config{WebSearch: true}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"web_search_options":{"search_context_size":"low","user_location":null}}`},
	{name: "web_search_options_empty", cfg: Config{WebSearch: true}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"web_search_options":{"user_location":{"type":"approximate","approximate":{"city":"","country":"US"}}}}`},
	{name: "web_search_options_bad_size", cfg: Config{WebSearch: true}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"web_search_options":{"search_context_size":"huge"}}`},
	{name: "web_search_options_bad_country", cfg: Config{WebSearch: true}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"web_search_options":{"user_location":{"type":"approximate","approximate":{"country":"France"}}}}`},
	{name: "web_search_options_bad_location_type", cfg: Config{WebSearch: true}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"web_search_options":{"user_location":{"type":"exact","approximate":{"country":"FR"}}}}`},
	{name: "web_search_options_function_conflict", cfg: Config{WebSearch: true}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"tools":[{"type":"function","function":{"name":"web_search"}}],"web_search_options":{}}`},
	{name: "web_search_options_explicit_tool_wins", cfg: Config{WebSearch: true, ServerTools: []string{"web_search_20250305"}}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"News?"}],"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":2,"allowed_domains":["example.com"]}],"web_search_options":{"search_context_size":"high"}}`},
	{name: "server_tools_passthrough", cfg: Config{ServerTools: []string{"web_search_20250305", " web_fetch_20250910", "code_execution_20250825"}}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Research"}],"tools":[
		` + weatherTool + `,
		{"type":"web_search_20250305","name":"web_search","max_uses":3,"user_location":{"type":"approximate","country":"DE"},"cache_control":{"type":"ephemeral"}},
		{"type":"web_fetch_20250910", "name":"web_fetch", "max_uses":2, "citations":{"enabled":true}},
		{"type":"code_execution_20250825","name":"code_execution"}],
		"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"nothing"}}]}},"parallel_tool_calls":false}`},
	{name: "server_tools_forced_by_name", cfg: Config{ServerTools: []string{"web_search_20250305"}}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Research"}],"tools":[{"type":"web_search_20250305","name":"web_search"}],"tool_choice":{"type":"function","function":{"name":"web_search"}}}`},
	{name: "server_tool_not_allowed", cfg: Config{ServerTools: []string{"web_fetch_20250910", "web_search_20250305"}}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Research"}],"tools":[{"type":"web_fetch_20250910","name":"web_fetch"},{"type":"code_execution_20250825","name":"code_execution"}]}`},
	{name: "server_tool_missing_name", cfg: Config{ServerTools: []string{"web_fetch_20250910"}}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Research"}],"tools":[{"type":"web_fetch_20250910"}]}`},
	{name: "server_tool_duplicate_name", cfg: Config{ServerTools: []string{"web_fetch_20250910"}}, in: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Research"}],"tools":[{"type":"web_fetch_20250910","name":"web_fetch"},{"type":"function","function":{"name":"web_fetch"}}]}`},
	{name: "thinking_blocks_with_tool_use", in: `{"model":"claude-sonnet-4-5","reasoning_effort":"low","tools":[` + weatherTool + `],"messages":[
		{"role":"user","content":"Weather in Paris?"},
		{"role":"assistant","content":"Checking.","thinking_blocks":[{"type":"thinking","thinking":"Need the tool.","signature":"SIG1"}],"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
		{"role":"tool","tool_call_id":"toolu_1","content":"18C"}]}`},
	{name: "thinking_blocks_merged_turn_first", in: `{"model":"claude-sonnet-4-5","messages":[
		{"role":"user","content":"Hi"},
		{"role":"assistant","content":"Part one."},
		{"role":"assistant","content":"Part two.","thinking_blocks":[{"type":"redacted_thinking","data":"RD"},{"type":"thinking","thinking":"T","signature":"S"}]},
		{"role":"user","content":"Go on"}]}`},
	{name: "unknown_role", in: `{"model":"claude-haiku-4-5","messages":[{"role":"wizard","content":"Hi"}]}`},
	{name: "not_json", in: `{"model":`},
	{name: "missing_model", in: `{"messages":[{"role":"user","content":"Hi"}]}`},
}

func translateForTest(t *testing.T, cfg Config, in []byte, validate bool) []byte {
	t.Helper()
	cfg.APIKey = func() (string, error) { return "k", nil }
	tr := newTranslator(&cfg, quietLogger())
	up, err := tr.translateRequest(context.Background(), in)
	if err != nil {
		return append([]byte("HTTP "+strconv.Itoa(err.Status)+"\n"), indent(t, err.AppendJSON(nil))...)
	}
	if !validate {
		return indent(t, up.Body)
	}
	if verr := anthropictest.ValidateBody(requestSchema(t), up.Body); verr != nil {
		t.Errorf("translated body is not a valid Anthropic request: %v\n%s", verr, up.Body)
	}
	return indent(t, up.Body)
}

func TestTranslateRequestGolden(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "request/"+tc.name+".golden", translateForTest(t, tc.cfg, []byte(tc.in), !tc.newerThanSpec))
		})
	}
}

// TestTranslateRequestReferenceInputs runs agentgateway's request fixtures through the
// translation (our own outputs are the goldens; AG's snapshots are one anchor's opinion).
func TestTranslateRequestReferenceInputs(t *testing.T) {
	dir := ref(t, "fixtures/agentgateway/completions-request")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "request/ag-"+name+".golden", translateForTest(t, Config{}, in, true))
		})
	}
}

// TestInputSchemaType: "type":"object" is added only when the schema has no top-level "type"
// key, however it is written, so the upstream never gets two.
func TestInputSchemaType(t *testing.T) {
	for in, want := range map[string]string{
		`{"type":"object"}`:                         `{"type":"object"}`,
		`{"properties":{"type":{"type":"string"}}}`: `{"type":"object","properties":{"type":{"type":"string"}}}`,
		`{"a":"type","b":["type"]}`:                 `{"type":"object","a":"type","b":["type"]}`,
		`{"a":"x\"type","type":1}`:                  `{"a":"x\"type","type":1}`,
		`{"typ\u0065":"object"}`:                    `{"typ\u0065":"object"}`,
		`{}`:                                        `{"type":"object"}`,
	} {
		if got, err := inputSchema([]byte(in)); err != nil || string(got) != want {
			t.Errorf("%s: got %s %v, want %s", in, got, err, want)
		}
	}
}

func TestContentShapeErrorNamesMessage(t *testing.T) {
	out := translateForTest(t, Config{}, []byte(`{"model":"m","messages":[{"role":"user","content":"ok"},{"role":"user","content":42}]}`), true)
	if !strings.Contains(string(out), `"param": "messages[1].content"`) {
		t.Errorf("got %s", out)
	}
}
