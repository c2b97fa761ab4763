package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
)

// recorder is a chunkWriter that keeps the SSE wire bytes.
type recorder struct{ bytes.Buffer }

func (r *recorder) Data(p []byte) error {
	r.WriteString("data: ")
	r.Write(p)
	r.WriteString("\n\n")
	return nil
}

func (r *recorder) Done() error {
	r.WriteString("data: [DONE]\n\n")
	return nil
}

// translateStream runs an Anthropic SSE body through the state machine.
func translateStream(t testing.TB, cfg Config, sse []byte, includeUsage bool, jsonTool string) ([]byte, error) {
	t.Helper()
	tr := newTranslator(&cfg, quietLogger())
	st := tr.newStream(context.Background(), created, includeUsage, jsonTool)
	var rec recorder
	err := st.run(bytes.NewReader(sse), &rec)
	return rec.Bytes(), err
}

// streamFixture is one recorded or hand-made Anthropic stream from the reference data.
type streamFixture struct {
	name string
	sse  []byte
}

func streamFixtures(t *testing.T) []streamFixture {
	t.Helper()
	var out []streamFixture
	ag, err := anthropictest.LoadStreams(ref(t, "fixtures/agentgateway/anthropic-response/streams.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"stream_basic", "stream_message_delta_usage", "stream_thinking", "stream_tool", "stream_tool_empty_args"} {
		b, ok := ag[n+".json"]
		if !ok {
			t.Fatalf("no stream %s.json", n)
		}
		out = append(out, streamFixture{name: "ag-" + n, sse: b})
	}
	sdk := ref(t, "fixtures/anthropic-sdk-go")
	sdkStreams, err := anthropictest.LoadStreams(filepath.Join(sdk, "sse", "streams.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"fallback-end", "fallback-tooluse", "refusal"} {
		b, ok := sdkStreams[n+".sse"]
		if !ok {
			t.Fatalf("no stream %s.sse", n)
		}
		out = append(out, streamFixture{name: "sdk-" + n, sse: b})
	}
	cassettes, err := filepath.Glob(filepath.Join(sdk, "cassettes", "*.yaml"))
	if err != nil || len(cassettes) == 0 {
		t.Fatalf("no cassettes: %v", err)
	}
	for _, c := range cassettes {
		ins, err := anthropictest.LoadCassette(c)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(filepath.Base(c), ".yaml")
		for i, in := range ins {
			if in.Streamed() {
				out = append(out, streamFixture{name: "cassette-" + base + "-" + string(rune('0'+i)), sse: []byte(in.ResponseBody)})
			}
		}
	}
	return out
}

func TestStreamReferenceGolden(t *testing.T) {
	for _, f := range streamFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			out, err := translateStream(t, Config{}, f.sse, true, "")
			if err != nil {
				t.Fatalf("stream failed: %v\n%s", err, out)
			}
			checkStream(t, out, true, true)
			golden(t, "stream/"+f.name+".golden", out)
		})
	}
}

const (
	startEv = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":20,\"cache_read_input_tokens\":30,\"output_tokens\":1}}}\n\n"
	textEv  = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	deltaEv = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\n"
	stopEv  = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

// sseBody frames Anthropic event payloads as an SSE body with event: lines.
func sseBody(payloads ...string) string {
	var b strings.Builder
	for _, p := range payloads {
		var head struct{ Type string }
		_ = json.Unmarshal([]byte(p), &head)
		b.WriteString("event: " + head.Type + "\ndata: " + p + "\n\n")
	}
	return b.String()
}

// webSearchStream is a web search answer as Anthropic streams it: a server_tool_use block
// with its query, the results block, then text blocks whose citations arrive as
// citations_delta before their text.
var webSearchStream = startEv + sseBody(
	`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Voilà — I'll search. "}}`,
	`{"type":"content_block_stop","index":0}`,
	`{"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}`,
	`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`,
	`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"query\": \"paris weather\"}"}}`,
	`{"type":"content_block_stop","index":1}`,
	`{"type":"content_block_start","index":2,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://meteo.example/paris","title":"Paris forecast","encrypted_content":"EqAB","page_age":"1 day ago"}]}}`,
	`{"type":"content_block_stop","index":2}`,
	`{"type":"content_block_start","index":3,"content_block":{"type":"text","text":"","citations":[]}}`,
	`{"type":"content_block_delta","index":3,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","url":"https://meteo.example/paris","title":"Paris forecast","cited_text":"18°C and sunny","encrypted_index":"Eo8B"}}}`,
	`{"type":"content_block_delta","index":3,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","url":"https://news.example/a?b=1&c=\u003c","title":null,"cited_text":"sunny","encrypted_index":"Eo9B"}}}`,
	`{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"Paris: 18°C \ud83d\ude00"}}`,
	`{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":" and sunny"}}`,
	`{"type":"content_block_stop","index":3}`,
	`{"type":"content_block_start","index":4,"content_block":{"type":"text","text":"","citations":[]}}`,
	`{"type":"content_block_delta","index":4,"delta":{"type":"citations_delta","citation":{"type":"char_location","cited_text":"docs","document_index":0,"document_title":"Doc","start_char_index":0,"end_char_index":4,"file_id":null}}}`,
	`{"type":"content_block_delta","index":4,"delta":{"type":"text_delta","text":", per the docs"}}`,
	`{"type":"content_block_stop","index":4}`,
	`{"type":"content_block_start","index":5,"content_block":{"type":"text","text":""}}`,
	`{"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"."}}`,
	`{"type":"content_block_stop","index":5}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":2000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":80,"server_tool_use":{"web_search_requests":1,"web_fetch_requests":0}}}`,
) + stopEv

// streamCases cover the stream state machine and the stream error rules.
var streamCases = []struct {
	name         string
	in           string
	includeUsage bool
	jsonTool     string
	wantErr      bool
}{
	{name: "text_with_usage", in: startEv + textEv + deltaEv + stopEv, includeUsage: true},
	{name: "text_without_usage", in: startEv + textEv + deltaEv + stopEv},
	{name: "interleaved_parallel_tools", includeUsage: true, in: startEv +
		"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Two tools.\"}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}\n\n" +
		"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_a\",\"name\":\"get_weather\",\"input\":{}}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n" +
		"data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_b\",\"name\":\"get_time\",\"input\":{}}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}\n\n" +
		": a comment line\n\n" +
		"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
		"data: {\"type\":\"content_block_stop\",\"index\":2}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n" +
		"data: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":30,\"output_tokens_details\":{\"thinking_tokens\":4}}}\n\n" +
		stopEv},
	{name: "web_search_citations", includeUsage: true, in: webSearchStream},
	{name: "server_tools_not_tool_calls", includeUsage: true, in: startEv + sseBody(
		`{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_2","name":"code_execution","input":{}}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"code\":\"print(1)\"}"}}`,
		`{"type":"content_block_stop","index":0}`,
		`{"type":"content_block_start","index":1,"content_block":{"type":"code_execution_tool_result","tool_use_id":"srvtoolu_2","content":{"type":"code_execution_result","stdout":"1\n","stderr":"","return_code":0,"content":[]}}}`,
		`{"type":"content_block_stop","index":1}`,
		`{"type":"content_block_start","index":2,"content_block":{"type":"server_tool_use","id":"srvtoolu_3","name":"web_fetch","input":{"url":"https://example.com"}}}`,
		`{"type":"content_block_stop","index":2}`,
		`{"type":"content_block_start","index":3,"content_block":{"type":"web_fetch_tool_result","tool_use_id":"srvtoolu_3","content":{"type":"web_fetch_tool_result_error","error_code":"url_not_accessible"}}}`,
		`{"type":"content_block_stop","index":3}`,
		`{"type":"content_block_start","index":4,"content_block":{"type":"tool_use","id":"toolu_9","name":"get_time","input":{}}}`,
		`{"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"{\"tz\":\"UTC\"}"}}`,
		`{"type":"content_block_stop","index":4}`,
		`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":40,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":1}}}`,
	) + stopEv},
	{name: "thinking_signature_and_redacted", includeUsage: true, in: startEv + sseBody(
		`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"First "}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"thought."}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"SIG-A=="}}`,
		`{"type":"content_block_stop","index":0}`,
		`{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"RD-opaque"}}`,
		`{"type":"content_block_stop","index":1}`,
		`{"type":"content_block_start","index":2,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
		`{"type":"content_block_delta","index":2,"delta":{"type":"thinking_delta","thinking":"Second."}}`,
		`{"type":"content_block_delta","index":2,"delta":{"type":"signature_delta","signature":"SIG-B=="}}`,
		`{"type":"content_block_stop","index":2}`,
		`{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`,
		`{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}`,
		`{"type":"content_block_stop","index":3}`,
		`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}`,
	) + stopEv},
	{name: "tool_input_in_start", in: startEv +
		"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_a\",\"name\":\"get_weather\",\"input\":{\"city\": \"Rome\"}}}\n\n" +
		"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n" + stopEv},
	{name: "usage_only_in_delta", includeUsage: true, in: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_02\",\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n" + textEv +
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"input_tokens\":7,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":null,\"output_tokens\":3}}\n\n" +
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":4}}\n\n" + stopEv},
	{name: "json_tool_streamed_as_content", jsonTool: jsonToolName, includeUsage: true, in: startEv +
		"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_j\",\"name\":\"json_response\",\"input\":{}}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"name\\\":\"}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Ada\\\"}\"}}\n\n" +
		"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n" + stopEv},
	{name: "no_space_multiline_data_crlf", in: strings.ReplaceAll("event:message_start\ndata:{\"type\":\"message_start\",\n"+
		"data:\"message\":{\"id\":\"msg_03\",\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}   \n\n"+
		"data:{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":2}}\n\n"+
		"data:{\"type\":\"message_stop\"}", "\n", "\r\n")},
	{name: "mid_stream_error", includeUsage: true, wantErr: true, in: startEv + textEv +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n" + deltaEv + stopEv},
	{name: "mid_stream_error_no_usage", wantErr: true, in: startEv +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal error\"}}\n\n"},
	{name: "eof_before_message_stop", includeUsage: true, wantErr: true, in: startEv + textEv + deltaEv},
	{name: "eof_mid_event", wantErr: true, in: startEv + "data: {\"type\":\"content_block_start\",\"ind"},
	{name: "empty_stream", wantErr: true, in: ""},
	{name: "content_before_message_start", wantErr: true, in: textEv + stopEv},
	{name: "malformed_event", wantErr: true, in: startEv + "data: {not json}\n\n" + stopEv},
	{name: "unknown_events_ignored", in: startEv + "data: {\"type\":\"future_event\",\"x\":1}\n\n" +
		"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"citations_delta\",\"citation\":{}}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"future_delta\"}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":7,\"delta\":{\"type\":\"text_delta\",\"text\":\"orphan\"}}\n\n" +
		"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n" + deltaEv + stopEv},
}

func TestStreamGolden(t *testing.T) {
	for _, tc := range streamCases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := translateStream(t, Config{}, []byte(tc.in), tc.includeUsage, tc.jsonTool)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v\n%s", err, tc.wantErr, out)
			}
			checkStream(t, out, tc.includeUsage, !tc.wantErr)
			golden(t, "stream/"+tc.name+".golden", out)
		})
	}
}

// checkStream asserts the stream properties on our output: data lines of JSON chunks with one id,
// usage only when asked and only after the finish chunk, contiguous tool slots whose arguments
// parse, and a clean stream ending with finish, usage, [DONE].
func checkStream(t *testing.T, out []byte, includeUsage, clean bool) {
	t.Helper()
	events := strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n")
	if len(out) == 0 {
		events = nil
	}
	var (
		ids      = map[string]bool{}
		args     = map[int]string{}
		slots    []int
		finishAt = -1
		usageAt  = -1
		doneAt   = -1
		errorAt  = -1
	)
	for i, e := range events {
		data, ok := strings.CutPrefix(e, "data: ")
		if !ok {
			t.Fatalf("event %d is not a data line: %q", i, e)
		}
		if data == "[DONE]" {
			doneAt = i
			continue
		}
		var c struct {
			ID      string          `json:"id"`
			Object  string          `json:"object"`
			Error   json.RawMessage `json:"error"`
			Usage   json.RawMessage `json:"usage"`
			Choices []struct {
				Index        int     `json:"index"`
				FinishReason *string `json:"finish_reason"`
				Delta        struct {
					ToolCalls []struct {
						Index    int `json:"index"`
						Function struct {
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("event %d is not JSON: %v: %s", i, err, data)
		}
		if c.Error != nil {
			errorAt = i
			continue
		}
		ids[c.ID] = true
		if c.Object != "chat.completion.chunk" {
			t.Errorf("event %d: object %q", i, c.Object)
		}
		if len(c.Choices) == 0 {
			usageAt = i
			var u openAIUsage
			if err := json.Unmarshal(c.Usage, &u); err != nil {
				t.Errorf("usage chunk without usage: %s", data)
			}
			u.check(t)
			continue
		}
		if includeUsage && string(c.Usage) != "null" {
			t.Errorf("event %d: a chunk with choices must carry \"usage\":null, got %s", i, c.Usage)
		}
		if !includeUsage && c.Usage != nil {
			t.Errorf("event %d: usage present without include_usage", i)
		}
		if c.Choices[0].FinishReason != nil {
			finishAt = i
		}
		for _, tc := range c.Choices[0].Delta.ToolCalls {
			if _, seen := args[tc.Index]; !seen {
				slots = append(slots, tc.Index)
			}
			args[tc.Index] += tc.Function.Arguments
		}
	}
	if len(ids) > 1 {
		t.Errorf("more than one id across chunks: %v", ids)
	}
	for i, s := range slots {
		if s != i {
			t.Errorf("tool slots %v are not contiguous from 0", slots)
			break
		}
	}
	for slot, a := range args {
		var obj map[string]any
		if err := json.Unmarshal([]byte(a), &obj); err != nil && clean {
			t.Errorf("tool slot %d arguments %q do not parse as a JSON object", slot, a)
		}
	}
	if clean {
		if errorAt >= 0 || doneAt != len(events)-1 || finishAt < 0 {
			t.Errorf("clean stream must end finish chunk … [DONE] without error (finish %d, done %d, error %d of %d)", finishAt, doneAt, errorAt, len(events))
		}
		if includeUsage && !(finishAt < usageAt && usageAt == doneAt-1) {
			t.Errorf("usage chunk must follow the finish chunk and precede [DONE] (finish %d, usage %d, done %d)", finishAt, usageAt, doneAt)
		}
		if !includeUsage && usageAt >= 0 {
			t.Errorf("usage chunk without include_usage")
		}
	} else {
		if doneAt >= 0 {
			t.Errorf("a failed stream must not send [DONE]")
		}
		if errorAt != len(events)-1 {
			t.Errorf("a failed stream must end with an error event (error at %d of %d)", errorAt, len(events))
		}
	}
}

func TestFastDelta(t *testing.T) {
	cases := []struct {
		in     string
		ok     bool
		index  int
		isText bool
		lit    string
	}{
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll"}    }`, true, 0, true, `"I'll"`},
		{`{"type":"content_block_delta","index":12,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`, true, 12, false, `"{\"a\":"`},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\\"}}`, true, 0, true, `"a\\"`},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Voilà 😀"}}`, true, 0, true, `"Voilà 😀"`},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","extra":1}}`, false, 0, false, ""},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"bad\q"}}`, false, 0, false, ""},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"unterminated}}`, false, 0, false, ""},
		{`{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"x"}}`, false, 0, false, ""},
		{`{"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}`, false, 0, false, ""},
	}
	for _, tc := range cases {
		index, isText, lit, plain, ok := fastDelta([]byte(tc.in))
		if ok != tc.ok || ok && (index != tc.index || isText != tc.isText || string(lit) != tc.lit) {
			t.Errorf("%s: got %d %v %s %v", tc.in, index, isText, lit, ok)
		}
		wantPlain := ok && !strings.Contains(string(lit), `\`)
		for _, c := range lit {
			wantPlain = wantPlain && c < 0x80
		}
		if plain != wantPlain {
			t.Errorf("%s: plain %v", tc.in, plain)
		}
		if ok && plain && literalRunes(lit) != len(lit)-2 {
			t.Errorf("%s: a plain literal of %d characters", tc.in, literalRunes(lit))
		}
	}
}
