package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const created = 1700000000

func msg(content, stop, usage string) string {
	return `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[` + content +
		`],"stop_reason":` + stop + `,"stop_sequence":null,"usage":` + usage + `}`
}

const plainUsage = `{"input_tokens":10,"output_tokens":5}`

// responseCases cover the non-streaming response mapping (message, tool calls, stop reasons, usage).
var responseCases = []struct {
	name     string
	jsonTool string
	cfg      Config
	in       string
}{
	{name: "text_blocks_concatenated", in: msg(`{"type":"text","text":"Hello, "},{"type":"text","text":"world","citations":[]}`, `"end_turn"`, plainUsage)},
	{name: "tool_calls_raw_arguments", in: msg(`{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"z": 1, "a": {"b": [1, 2]}}},{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}`, `"tool_use"`, plainUsage)},
	{name: "tool_only_content_null", in: msg(`{"type":"tool_use","id":"toolu_1","name":"get_time","input":{}}`, `"tool_use"`, plainUsage)},
	{name: "server_tool_use_not_a_tool_call", in: msg(`{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},{"type":"text","text":"Found it."}`, `"end_turn"`, `{"input_tokens":10,"output_tokens":5,"server_tool_use":{"web_search_requests":1}}`)},
	{name: "thinking_reasoning_content", in: msg(`{"type":"thinking","thinking":"First. ","signature":"s1"},{"type":"redacted_thinking","data":"RD"},{"type":"thinking","thinking":"Second.","signature":"s2"},{"type":"text","text":"Answer"}`, `"end_turn"`, `{"input_tokens":10,"output_tokens":50,"output_tokens_details":{"thinking_tokens":40}}`)},
	{name: "usage_cache_inclusive", in: msg(`{"type":"text","text":"ok"}`, `"end_turn"`, `{"input_tokens":10,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"cache_creation":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":0},"output_tokens":5,"service_tier":"standard","server_tool_use":{"web_search_requests":1}}`)},
	{name: "usage_cache_split_omitted", cfg: Config{OmitCacheCreationSplit: true}, in: msg(`{"type":"text","text":"ok"}`, `"end_turn"`, `{"input_tokens":10,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"cache_creation":{"ephemeral_5m_input_tokens":5,"ephemeral_1h_input_tokens":15},"output_tokens":5}`)},
	{name: "service_tier_priority", in: msg(`{"type":"text","text":"ok"}`, `"end_turn"`, `{"input_tokens":1,"output_tokens":1,"service_tier":"priority"}`)},
	{name: "service_tier_batch_omitted", in: msg(`{"type":"text","text":"ok"}`, `"end_turn"`, `{"input_tokens":1,"output_tokens":1,"service_tier":"batch"}`)},
	{name: "stop_sequence", in: msg(`{"type":"text","text":"ok"}`, `"stop_sequence"`, plainUsage)},
	{name: "pause_turn", in: msg(`{"type":"text","text":"ok"}`, `"pause_turn"`, plainUsage)},
	{name: "max_tokens", in: msg(`{"type":"text","text":"ok"}`, `"max_tokens"`, plainUsage)},
	{name: "model_context_window_exceeded", in: msg(`{"type":"text","text":"ok"}`, `"model_context_window_exceeded"`, plainUsage)},
	{name: "compaction", in: msg(`{"type":"text","text":"ok"}`, `"compaction"`, plainUsage)},
	{name: "refusal", in: msg(`{"type":"text","text":"I can't help with that."}`, `"refusal"`, plainUsage)},
	{name: "stop_reason_null", in: msg(`{"type":"text","text":"ok"}`, `null`, plainUsage)},
	{name: "stop_reason_unknown", in: msg(`{"type":"text","text":"ok"}`, `"brand_new_reason"`, plainUsage)},
	{name: "json_tool_folded_into_content", jsonTool: jsonToolName, in: msg(`{"type":"tool_use","id":"toolu_1","name":"json_response","input":{"name": "Ada"}}`, `"tool_use"`, plainUsage)},
	{name: "web_search_citations", in: msg(`{"type":"text","text":"Voilà — I'll search. "},`+
		`{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"paris weather"}},`+
		`{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://meteo.example/paris","title":"Paris forecast","encrypted_content":"EqAB","page_age":"1 day ago"}]},`+
		`{"type":"text","text":"Paris: 18°C 😀 and sunny","citations":[{"type":"web_search_result_location","url":"https://meteo.example/paris","title":"Paris forecast","cited_text":"18°C and sunny","encrypted_index":"Eo8B"},{"type":"web_search_result_location","url":"https://news.example/a?b=1&c=\u003c","title":null,"cited_text":"sunny","encrypted_index":"Eo9B"}]},`+
		`{"type":"text","text":", per the docs","citations":[{"type":"char_location","cited_text":"docs","document_index":0,"document_title":"Doc","start_char_index":0,"end_char_index":4},{"type":"search_result_location","source":"https://kb.example/x","title":"KB","cited_text":"x","search_result_index":0,"start_block_index":0,"end_block_index":0},{"type":"search_result_location","source":"kb://internal","title":"Internal","cited_text":"y","search_result_index":1,"start_block_index":0,"end_block_index":0}]},`+
		`{"type":"text","text":"."}`, `"end_turn"`, `{"input_tokens":2000,"output_tokens":80,"server_tool_use":{"web_search_requests":1,"web_fetch_requests":0}}`)},
	{name: "server_tools_code_execution", in: msg(`{"type":"server_tool_use","id":"srvtoolu_2","name":"code_execution","input":{"code":"print(1)"}},`+
		`{"type":"code_execution_tool_result","tool_use_id":"srvtoolu_2","content":{"type":"code_execution_result","stdout":"1\n","stderr":"","return_code":0,"content":[]}},`+
		`{"type":"server_tool_use","id":"srvtoolu_3","name":"web_fetch","input":{"url":"https://example.com"}},`+
		`{"type":"web_fetch_tool_result","tool_use_id":"srvtoolu_3","content":{"type":"web_fetch_result","url":"https://example.com","content":{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}}},`+
		`{"type":"tool_use","id":"toolu_9","name":"get_time","input":{}}`, `"tool_use"`, `{"input_tokens":10,"output_tokens":5,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":1}}`)},
	{name: "pause_turn_server_tool", in: msg(`{"type":"server_tool_use","id":"srvtoolu_4","name":"web_search","input":{"query":"q"}}`, `"pause_turn"`, `{"input_tokens":10,"output_tokens":5,"server_tool_use":{"web_search_requests":1}}`)},
	{name: "thinking_unsigned_not_replayable", in: msg(`{"type":"thinking","thinking":"unsigned","signature":""},{"type":"redacted_thinking","data":""},{"type":"text","text":"Answer"}`, `"end_turn"`, plainUsage)},
	{name: "text_escaping", in: msg(`{"type":"text","text":"quote \" backslash \\ newline \n tab \t <html> \u2028 é 😀"}`, `"end_turn"`, plainUsage)},
}

func TestTranslateResponseGolden(t *testing.T) {
	for _, tc := range responseCases {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "response/"+tc.name+".golden", translateResponseForTest(t, tc.cfg, []byte(tc.in), tc.jsonTool))
		})
	}
}

func translateResponseForTest(t *testing.T, cfg Config, in []byte, jsonTool string) []byte {
	t.Helper()
	tr := newTranslator(&cfg, quietLogger())
	c, ok := tr.translateResponse(context.Background(), in, created, jsonTool)
	if !ok {
		t.Fatalf("not translated: %s", in)
	}
	checkCompletion(t, c.Body)
	return indent(t, c.Body)
}

// checkCompletion asserts the invariants of every response: usage consistency (prompt_tokens
// includes cached tokens) and the OpenAI shape.
func checkCompletion(t *testing.T, body []byte) {
	t.Helper()
	var c struct {
		Object  string `json:"object"`
		Choices []struct {
			FinishReason string `json:"finish_reason"`
			Message      struct {
				ToolCalls []struct {
					Function struct{ Arguments string } `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
		Usage openAIUsage `json:"usage"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, body)
	}
	if c.Object != "chat.completion" || len(c.Choices) != 1 {
		t.Errorf("want one chat.completion choice, got %s", body)
	}
	for _, ch := range c.Choices {
		switch ch.FinishReason {
		case "stop", "length", "tool_calls", "content_filter":
		default:
			t.Errorf("finish_reason %q is not an OpenAI value", ch.FinishReason)
		}
		for _, tc := range ch.Message.ToolCalls {
			var obj map[string]any
			if err := json.Unmarshal([]byte(tc.Function.Arguments), &obj); err != nil {
				t.Errorf("tool arguments %q are not a JSON object", tc.Function.Arguments)
			}
		}
	}
	c.Usage.check(t)
}

type openAIUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	CacheRead  int64 `json:"cache_read_input_tokens"`
	CacheWrite int64 `json:"cache_creation_input_tokens"`
}

func (u openAIUsage) check(t *testing.T) {
	t.Helper()
	d := u.PromptTokensDetails
	if d.CachedTokens+d.CacheWriteTokens > u.PromptTokens {
		t.Errorf("usage: cached %d + writes %d > prompt %d", d.CachedTokens, d.CacheWriteTokens, u.PromptTokens)
	}
	if u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage: total %d != prompt %d + completion %d", u.TotalTokens, u.PromptTokens, u.CompletionTokens)
	}
	if u.CacheRead != d.CachedTokens || u.CacheWrite != d.CacheWriteTokens {
		t.Errorf("usage: top-level mirrors %d/%d differ from details %d/%d", u.CacheRead, u.CacheWrite, d.CachedTokens, d.CacheWriteTokens)
	}
}

func TestTranslateResponseReferenceInputs(t *testing.T) {
	dir := ref(t, "fixtures/agentgateway/anthropic-response")
	for _, name := range []string{"basic", "multiple_text_blocks", "thinking", "tool"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "response/ag-"+name+".golden", translateResponseForTest(t, Config{}, in, ""))
		})
	}
}

// TestTranslateResponseCassettes translates the recorded non-streaming /v1/messages replies.
func TestTranslateResponseCassettes(t *testing.T) {
	for _, name := range []string{"tool_runner_basic", "tool_runner_tool_call_error", "tool_runner_max_iterations"} {
		for i, in := range cassette(t, name) {
			if in.Streamed() || in.Status != 200 {
				continue
			}
			t.Run(name+"-"+string(rune('0'+i)), func(t *testing.T) {
				golden(t, "response/cassette-"+name+"-"+string(rune('0'+i))+".golden", translateResponseForTest(t, Config{}, []byte(in.ResponseBody), ""))
			})
		}
	}
}

func TestTranslateResponseRejectsNonMessage(t *testing.T) {
	tr := newTranslator(&Config{}, quietLogger())
	for _, in := range []string{``, `<html>`, `{}`, `[]`, `{"type":"error","error":{"type":"api_error","message":"x"}}`} {
		if _, ok := tr.translateResponse(context.Background(), []byte(in), created, ""); ok {
			t.Errorf("translated %q, want rejection", in)
		}
	}
}

// TestUpstreamErrors checks how each upstream error status maps to the client's error.
func TestUpstreamErrors(t *testing.T) {
	body := func(typ string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"m"},"request_id":"req_1"}`
	}
	cases := []struct {
		status     int
		body       string
		wantStatus int
		wantType   string
		wantCode   string
	}{
		{400, body("invalid_request_error"), 400, "invalid_request_error", "invalid_request_error"},
		{413, body("request_too_large"), 413, "invalid_request_error", "request_too_large"},
		{401, body("authentication_error"), 401, "authentication_error", "authentication_error"},
		{403, body("permission_error"), 403, "permission_error", "permission_error"},
		{404, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`, 404, "invalid_request_error", "model_not_found"},
		{404, body("not_found_error"), 404, "invalid_request_error", "not_found_error"},
		{402, body("billing_error"), 402, "insufficient_quota", "billing_error"},
		{429, body("rate_limit_error"), 429, "rate_limit_error", "rate_limit_error"},
		{500, body("api_error"), 500, "server_error", "api_error"},
		{504, body("timeout_error"), 504, "timeout", "timeout_error"},
		{529, body("overloaded_error"), 503, "server_error", "overloaded_error"},
		{503, body("some_future_error"), 503, "server_error", "some_future_error"},
		{502, `<html><body>Bad gateway</body></html>`, 502, "server_error", "bad_upstream_response"},
		{500, ``, 502, "server_error", "bad_upstream_response"},
	}
	for _, tc := range cases {
		h := http.Header{}
		h.Set("Retry-After", "7")
		e := upstreamError(tc.status, h, []byte(tc.body))
		if e.Status != tc.wantStatus || e.Type != tc.wantType || e.Code != tc.wantCode {
			t.Errorf("%d %s: got %d %s %s, want %d %s %s", tc.status, tc.body, e.Status, e.Type, e.Code, tc.wantStatus, tc.wantType, tc.wantCode)
		}
		if e.RetryAfter != "7" {
			t.Errorf("%d: retry-after %q not kept", tc.status, e.RetryAfter)
		}
		if strings.HasPrefix(tc.body, "<html>") && !strings.Contains(e.Message, "Bad gateway") {
			t.Errorf("non-JSON body not quoted in message: %q", e.Message)
		}
		var env struct {
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal(e.AppendJSON(nil), &env); err != nil || len(env.Error) != 4 {
			t.Errorf("error body %s does not have the four OpenAI keys", e.AppendJSON(nil))
		}
	}
}
