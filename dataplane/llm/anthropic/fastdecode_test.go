package anthropic

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fastDecodeEdges are inputs where the hand-written decoders must fall back or mirror an
// encoding/json quirk exactly.
var fastDecodeEdges = []string{
	`{"model":"m","messages":[{"role":"user","content":"Hi"}]}`,
	`{"Model":"m","messages":[]}`,                                   // case-insensitive key
	`{"model":"a","model":"b"}`,                                     // duplicate scalar
	`{"stream_options":{"include_usage":true},"stream_options":{}}`, // duplicate object merges
	`{"model":"\u00e9\ud83d\ude00 \n\t\"\\\/"}`,                     // escapes
	`{"model":"\ud800"}`,                                            // lone surrogate
	"{\"model\":\"\xff\xfe\"}",                                      // invalid UTF-8
	`{"model":"a\u2028b"}`,
	`{"max_tokens":1.0}`, `{"max_tokens":1e3}`, `{"max_tokens":-0}`, `{"max_tokens":99999999999999999999}`,
	`{"temperature":1e400}`, `{"temperature":-0.5e-3}`, `{"temperature":"1"}`,
	`{"stream":null,"n":null,"stop":null,"tool_choice":  null  ,"thinking":{"type":"enabled"}}`,
	`{"messages":null,"tools":null}`, `{"messages":[null,{"role":"user"}]}`, `{"messages":["x"]}`,
	`{"messages":[{"content":null},{"content":5},{"content":{}},{"content":[1]},{"content":[{"type":1}]},{"content":[null,{"type":"text"}]}]}`,
	`{"messages":[{"content":"a\\u00e9"},{"content":"\u0000"}]}`,
	`{"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":null},{"function":{"name":"f","arguments":"{}"}}],"refusal":null,"thinking_blocks":[{"type":"thinking","signature":"s"}]}]}`,
	`{"tools":[{"type":"function","function":{"name":"f","description":null,"parameters":{"a":[1,2,{"b":null}]},"strict":false},"cache_control":{"type":"ephemeral"}}]}`,
	`{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}`,
	`{"unknown":{"deep":[1,2,3,{"x":"y"}]},"model":"m"}`, `{"UNKNOWN":1}`, `{"k\u0065y":1}`,
	`{"model":"m"} x`, `{"model":"m"`, `{"model":"m",}`, `{"model" "m"}`, `[]`, `null`, ``, ` {} `, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":tru}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u","detail":"low"}},{"type":"file","file":{"file_data":"d","filename":"f"}}]}]}`,
	`{"model":"m","stream":true,"stream_options":{"include_usage":false,"x":1},"logprobs":true,"top_logprobs":2,"user":"u","safety_identifier":"s","reasoning_effort":"low","parallel_tool_calls":false}`,
	`{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
	// web_search_options and server tools
	`{"model":"m","web_search_options":{"search_context_size":"low","user_location":{"type":"approximate","approximate":{"city":"P","country":"FR","region":"R","timezone":"T","x":1}},"other":[1]}}`,
	`{"web_search_options":null}`, `{"web_search_options":{"user_location":null}}`, `{"web_search_options":{"user_location":{"approximate":null,"type":null}}}`,
	`{"web_search_options":{"search_context_size":1}}`, `{"web_search_options":{},"web_search_options":{"search_context_size":"high"}}`,
	`{"web_search_options":{"user_location":{"approximate":{"city":"a"},"approximate":{"country":"b"}}}}`, `{"web_search_options":[]}`,
	`{"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3,"user_location":{"type":"approximate"}},{"type":"function","name":"x","function":{"name":"f"}},null]}`,
	`{"tools":[{"name":"n", "cache_control" : {"type":"ephemeral"},"type":"code_execution_20250825"}]}`, `{"tools":[{"type":"custom","name":1}]}`, `{"tools":[{"type":"web_fetch_20250910","Name":"x"}]}`,
	// citations and server tool usage
	`{"id":"msg_1","content":[{"type":"text","text":"a","citations":[{"type":"web_search_result_location","url":"u","title":null,"cited_text":"c","encrypted_index":"e"},null,{"type":"char_location","start_char_index":1},{"type":"search_result_location","source":"https://x","title":"t"}]}]}`,
	`{"id":"msg_1","content":[{"type":"text","text":"a","citations":null},{"type":"text","citations":[{"url":1}]}]}`, `{"id":"msg_1","content":[{"citations":[{"url":"a","url":"b"}]}]}`,
	`{"id":"msg_1","usage":{"server_tool_use":{"web_search_requests":2,"web_fetch_requests":null}}}`, `{"id":"msg_1","usage":{"server_tool_use":{"web_fetch_requests":3,"code_execution_requests":1}}}`,
	// responses
	`{"id":"msg_1","model":"m","stop_reason":null,"content":[{"type":"text","text":"hi","citations":[]}],"usage":{"input_tokens":1,"output_tokens":2,"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":null},"output_tokens_details":{"thinking_tokens":null},"server_tool_use":{"web_search_requests":1,"web_fetch_requests":2},"service_tier":"standard"}}`,
	`{"id":"msg_1","usage":null,"content":[{"type":"tool_use","input":{"a" : 1}},{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"d"}]}`,
	`{"id":"msg_1","usage":{"cache_creation":null,"output_tokens_details":null,"server_tool_use":null}}`,
	`{"id":"msg_1","usage":{"input_tokens":"1"}}`, `{"id":"msg_1","usage":{"cache_creation":{"ephemeral_5m_input_tokens":1.5}}}`,
	// raw non-ASCII, U+2028 and escapes in every kind of string: after the strict read the
	// request decoder takes a literal without escapes as it is (jsonscan's Checked)
	"{\"model\":\"m\u00e9\",\"user\":\"é ü €\",\"messages\":[{\"role\":\"system\",\"content\":\"ça\u2028va\"},{\"role\":\"user\",\"content\":\"x\u2028y 日本\"},{\"role\":\"assistant\",\"content\":\"d\\\"é\",\"tool_calls\":[{\"id\":\"c\u00e9\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\\\"é\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"cé\",\"content\":[{\"type\":\"text\",\"text\":\"ü\\n\"}]}],\"stop\":[\"é\",\"\\t\"]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",
}

func fastDecodeInputs() []string {
	in := append([]string{string(benchRequest), string(benchResponse)}, fastDecodeEdges...)
	for _, tc := range requestCases {
		in = append(in, tc.in)
	}
	for _, tc := range responseCases {
		in = append(in, tc.in)
	}
	// Stream events: every data line of the benchmark stream, the stream cases and the web
	// search stream, and events made to trip the event decoder.
	streams := []string{string(benchStream()), webSearchStream}
	for _, tc := range streamCases {
		streams = append(streams, tc.in)
	}
	for _, st := range streams {
		for _, line := range strings.Split(st, "\n") {
			if data, ok := strings.CutPrefix(line, "data:"); ok {
				in = append(in, strings.TrimSpace(data))
			}
		}
	}
	return append(in,
		`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{"a": [1]}}}`,
		`{"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","url":"u","title":"t"}}}`,
		`{"type":"error","error":{"type":"overloaded_error","message":"busy \u00e9"}}`,
		`{"type":"message_delta","delta":null,"usage":null,"message":null,"content_block":null,"error":null,"index":null}`,
		`{"type":"x","index":1.5}`, `{"type":"x","index":"1"}`, `{"type":"x","Index":1}`, `{"type":"x","type":"y"}`,
		`{"type":"x","delta":{"type":"a","type":"b"}}`, `{"type":"x","delta":{"citation":[]}}`,
	)
}

// checkFastDecode compares the hand-written decoders with encoding/json on one input. A
// request the strict reader refuses (a duplicate or case-variant key always; invalid UTF-8, a
// lone surrogate or deep nesting when encoding/json accepts it) is refused with its error.
func checkFastDecode(t *testing.T, in []byte) {
	t.Helper()
	var got, want chatRequest
	gerr, werr := decodeRequest(in, &got), json.Unmarshal(in, &want)
	if serr := chatRequestKeys.Read(in, nil); isKeyError(serr) || serr != nil && werr == nil {
		werr = serr
	}
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("request %q: error %v, encoding/json %v", in, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("request %q:\n got %+v\nwant %+v", in, got, want)
	}
	// The hand-written decoders themselves, which decodeRequest and decodeMessage skip under
	// GWCTL_NOFAST: what they accept, encoding/json decodes the same way.
	var fr chatRequest
	if s := newScanner(in); chatRequestKeys.Read(in, nil) == nil && s.Peek() == '{' && s.chatRequest(&fr) && s.End() {
		if werr != nil || !reflect.DeepEqual(fr, want) {
			t.Fatalf("request %q, fast decoder:\n got %+v\nwant %+v (%v)", in, fr, want, werr)
		}
	}
	var fm, jm message
	if s := newScanner(in); s.Peek() == '{' && s.message(&fm) && s.End() {
		if err := json.Unmarshal(in, &jm); err != nil || !reflect.DeepEqual(fm, jm) {
			t.Fatalf("message %q, fast decoder:\n got %+v\nwant %+v (%v)", in, fm, jm, err)
		}
	}
	if json.Valid(in) {
		var buf bytes.Buffer
		_ = json.Compact(&buf, in)
		if got := appendCompactValid(nil, in); !bytes.Equal(got, buf.Bytes()) {
			t.Fatalf("compact %q: got %q, json.Compact %q", in, got, buf.Bytes())
		}
	}
	if got, ok := toolInput(string(in)); ok && len(bytes.TrimSpace(in)) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, bytes.TrimSpace(in)); err != nil || !bytes.Equal(got, buf.Bytes()) {
			t.Fatalf("toolInput %q: got %q, json.Compact %q (%v)", in, got, buf.Bytes(), err)
		}
	}
	checkEventDecode(t, in)
	var gm, wm message
	gerr, werr = decodeMessage(in, &gm), json.Unmarshal(in, &wm)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("message %q: error %v, encoding/json %v", in, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(gm, wm) {
		t.Fatalf("message %q:\n got %+v\nwant %+v", in, gm, wm)
	}
}

// checkEventDecode: decodeEvent gives what encoding/json gives, and keeps nothing of the
// event's bytes (they are scribbled over after decoding, as the SSE reader reuses them).
func checkEventDecode(t *testing.T, in []byte) {
	t.Helper()
	var want streamEvent
	werr := json.Unmarshal(in, &want)
	buf := bytes.Clone(in)
	var got streamEvent
	gerr := decodeEvent(buf, &got)
	for i := range buf {
		buf[i] = 'x'
	}
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("event %q: error %v, encoding/json %v", in, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("event %q:\n got %+v\nwant %+v", in, got, want)
	}
	var fe streamEvent
	if s := newScanner(in); s.Peek() == '{' && s.streamEvent(&fe) && s.End() && (werr != nil || !reflect.DeepEqual(fe, want)) {
		t.Fatalf("event %q, fast decoder:\n got %+v\nwant %+v (%v)", in, fe, want, werr)
	}
}

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range fastDecodeInputs() {
		checkFastDecode(t, []byte(in))
	}
}

// TestFastDecodeTakesFastPath guards the speed-up: the benchmark bodies must not fall back.
func TestFastDecodeTakesFastPath(t *testing.T) {
	var in chatRequest
	if s := newScanner(benchRequest); !s.chatRequest(&in) || !s.End() {
		t.Error("benchRequest took the encoding/json path")
	}
	var m message
	if s := newScanner(benchResponse); !s.message(&m) || !s.End() {
		t.Error("benchResponse took the encoding/json path")
	}
	for _, line := range strings.Split(string(benchStream()), "\n") {
		var ev streamEvent
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			if s := newScanner([]byte(data)); !s.streamEvent(&ev) || !s.End() {
				t.Errorf("stream event took the encoding/json path: %s", data)
			}
		}
	}
}

// FuzzFastDecode: the hand-written decoders agree with encoding/json on every input.
func FuzzFastDecode(f *testing.F) {
	for _, in := range fastDecodeInputs() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkFastDecode(t, in) })
}
