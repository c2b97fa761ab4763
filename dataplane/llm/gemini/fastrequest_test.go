package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

// requestInputs are the benchmark's agent turn and bodies made to trip the request fast path.
func requestInputs() [][]byte {
	out := [][]byte{benchRequest, bytes.Replace(benchRequest, []byte(`"stream":false`), []byte(`"stream":true,"stream_options":{"include_usage":true}`), 1)}
	for _, s := range []string{
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":null,"messages":null,"tools":null,"stop":null,"tool_choice":null,"response_format":null,"stream_options":null,"temperature":null,"n":null}`,
		`{"messages":[],"tools":[],"stop":[]}`,
		`{"messages":[null,{"role":"user","content":null,"tool_calls":null}]}`,
		`{"messages":[{"role":"assistant","content":"x","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}},{"function":null},null]}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a\u00e9\ud83d\ude00 \"q\""},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"file","file":{"file_data":"QUJD","filename":"a.pdf","file_id":null}},{"type":"image_url","image_url":null},null]}]}`,
		`{"messages":[{"role":"user","content":[{"type":"refusal","refusal":"no"}]}]}`,
		`{"tools":[{"type":"function","function":{"name":"f","description":null,"parameters":{"type":"object"},"strict":true}},{"type":"function","function":{"name":"g","description":"d","strict":null}},{"type":"function","function":null}]}`,
		`{"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`,
		`{"response_format":{"type":"json_object","json_schema":null}}`,
		`{"temperature":0.2,"top_p":1,"presence_penalty":-0.5,"frequency_penalty":1e-3,"seed":-7,"n":2,"max_tokens":10,"max_completion_tokens":20,"reasoning_effort":"low","stream":true,"stream_options":{"include_usage":false}}`,
		`{"tool_choice":{"type":"function","function":{"name":"f"}},"stop":"END"}`,
		`{"model":5}`, `{"messages":{}}`, `{"messages":["x"]}`, `{"n":1.0}`, `{"n":1e2}`, `{"max_tokens":99999999999999999999}`,
		`{"temperature":1e400}`, `{"temperature":"hot"}`, `{"stream":"yes"}`, `{"stream_options":[]}`,
		`{"tools":[{"function":{"parameters":null}}]}`, `{"tools":{"a":1}}`,
		`{"messages":[{"content":[{"type":1}]}]}`, `{"messages":[{"content":[{"image_url":"u"}]}]}`,
		`{"messages":[{"tool_calls":[{"function":{"arguments":{}}}]}]}`,
		`{"\u006dodel":"escaped key"}`, `{"messages":[{"r\u006fle":"user"}]}`,
		`{"unknown":{"deep":[1,2,{"x":null}]},"model":"m"}`,
		`[1]`, `null`, `{}`, `"s"`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// checkRequestDecode: decodeRequest gives what encoding/json gives, the fast path, where it
// answers, does too, and so does the content-parts fast path on every message's content.
func checkRequestDecode(t *testing.T, in []byte) {
	t.Helper()
	if chatRequestKeys.Read(in, nil) != nil {
		return // refused before decoding; the fast path never sees such a body
	}
	var got, want chatRequest
	gerr, werr := decodeRequest(in, &got, true), json.Unmarshal(in, &want)
	if (gerr == nil) != (werr == nil) || werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeRequest differs from encoding/json on %q:\n got %+v (%v)\nwant %+v (%v)", in, got, gerr, want, werr)
	}
	var fast chatRequest
	if fastChatRequest(in, &fast) && (werr != nil || !reflect.DeepEqual(fast, want)) {
		t.Fatalf("fast path differs from encoding/json on %q:\n got %+v\nwant %+v (%v)", in, fast, want, werr)
	}
	for _, m := range want.Messages {
		c := bytes.TrimSpace(m.Content)
		if len(c) == 0 || c[0] != '[' {
			continue
		}
		var fp, wp []chatPart
		werr := json.Unmarshal(c, &wp)
		if fastContentParts(c, &fp) && (werr != nil || !reflect.DeepEqual(fp, wp)) {
			t.Fatalf("content parts fast path differs from encoding/json on %s:\n got %+v\nwant %+v (%v)", c, fp, wp, werr)
		}
	}
}

func TestFastRequestMatchesEncodingJSON(t *testing.T) {
	for _, in := range requestInputs() {
		checkRequestDecode(t, in)
	}
}

// TestFastRequestTakesFastPath keeps the fast path from silently giving up on ordinary requests.
func TestFastRequestTakesFastPath(t *testing.T) {
	for _, in := range requestInputs()[:14] {
		var r chatRequest
		if chatRequestKeys.Read(in, nil) != nil || !fastChatRequest(in, &r) {
			t.Errorf("fast path gave up on %.100s", in)
		}
	}
}

// FuzzDecodeRequest checks the request decoder against encoding/json and runs the translation
// on the input: it never panics, and what it sends upstream is JSON.
func FuzzDecodeRequest(f *testing.F) {
	for _, in := range requestInputs() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRequestDecode(t, in)
		checkEncode(t, in)
		if up, err := testTranslator().translateRequest(context.Background(), in); err == nil && !json.Valid(up.Body) {
			t.Fatalf("request translated to invalid JSON: %s", up.Body)
		}
	})
}
