package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// encodeInputs are requests that translate, touching every member the upstream body can have.
func encodeInputs() [][]byte {
	out := [][]byte{benchRequest}
	for _, s := range []string{
		`{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"Be <terse> & kind\u2028."},{"role":"user","content":[{"type":"text","text":"a\u00e9\ud83d\ude00 \"q\" \u0001"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"image_url","image_url":{"url":"https://x/a.jpg?x=1"}},{"type":"file","file":{"file_data":"QUJD","filename":"a.pdf"}}]}]}`,
		`{"model":"gemini-3-pro","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1__thought__c2ln","type":"function","function":{"name":"f","arguments":" {\"a\" : [1, 2]} "}}]},{"role":"tool","tool_call_id":"c1__thought__c2ln","content":"{\"ok\": true}"},{"role":"tool","tool_call_id":"c1__thought__c2ln","content":"plain <text>"}],
		 "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object", "properties":{}}}},{"type":"function","function":{"name":"g"}}],
		 "tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"g"}}]}},
		 "temperature":0.000001,"top_p":1,"presence_penalty":-0.5,"frequency_penalty":1e-7,"seed":-7,"n":2,"max_completion_tokens":20,"reasoning_effort":"high","stop":["a","b"],
		 "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}}}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"q"}],"reasoning_effort":"minimal","response_format":{"type":"json_object"},"tool_choice":"none","tools":[{"type":"function","function":{"name":"f"}}],"stop":"END"}`,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"q"}],"temperature":1e21,"top_p":0}`,
	} {
		out = append(out, []byte(s))
	}
	return append(out, requestInputs()...)
}

// checkEncode: the hand-written upstream body is encoding/json's, but for raw parts copied as
// they came (compacted, the two are the same bytes).
func checkEncode(t *testing.T, in []byte) {
	t.Helper()
	defer func(was bool) { fastJSON = was }(fastJSON)
	fastJSON = true
	fast, ferr := testTranslator().translateRequest(context.Background(), in)
	fastJSON = false
	slow, serr := testTranslator().translateRequest(context.Background(), in)
	if (ferr == nil) != (serr == nil) {
		t.Fatalf("fast path error %v, encoding/json %v on %s", ferr, serr, in)
	}
	if ferr != nil {
		return
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, fast.Body); err != nil {
		t.Fatalf("hand-written body is not JSON: %v\n%s", err, fast.Body)
	}
	if !bytes.Equal(compact.Bytes(), slow.Body) {
		t.Fatalf("hand-written body differs from encoding/json on %s:\n got %s\nwant %s", in, compact.Bytes(), slow.Body)
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	n := 0
	for _, in := range encodeInputs() {
		if _, err := testTranslator().translateRequest(context.Background(), in); err == nil {
			n++
		}
		checkEncode(t, in)
	}
	if n < 6 {
		t.Errorf("only %d inputs translate; the test compares little", n)
	}
}
