package gemini

import (
	"context"
	"fmt"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm/llmtest"
)

// scratchInputs are request bodies that use every part of a scratch: tool calls with escaped
// arguments, tool results merged into one turn before the user's text, system and developer
// parts, media parts, tools and a tool choice, generation settings; and the fast path's inputs.
func scratchInputs() [][]byte {
	out := requestInputs()
	for _, s := range []string{
		`{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"Metric."}]},
{"role":"user","content":"Weather in Paris and Rome?"},
{"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_a__thought__CiQB0e2K","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},{"id":"call_b","type":"function","function":{"name":"get_weather","arguments":""}}]},
{"role":"user","content":"Also Rome."},
{"role":"tool","tool_call_id":"call_a__thought__CiQB0e2K","content":"{\"temp\":18}"},
{"role":"tool","tool_call_id":"call_b","content":[{"type":"text","text":"24C "},{"type":"text","text":"<b>"}]},
{"role":"user","content":[{"type":"text","text":"Thanks"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"file","file":{"file_data":"QUJD","filename":"a.pdf"}}]}],
"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object"}}},{"type":"function","function":{"name":"get_time"}}],
"tool_choice":{"type":"function","function":{"name":"get_weather"}},"temperature":0.3,"top_p":0.9,"max_completion_tokens":256,"stop":["END"],"seed":7,"reasoning_effort":"low"}`,
		`{"model":"gemini-3-pro","messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{\"k\":\"\\u00e9\"}"}}]},{"role":"tool","tool_call_id":"x","content":"plain"},{"role":"tool","tool_call_id":"x","content":"again"}],
"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"f"}}]}},"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}},"reasoning_effort":"none","n":2}`,
		// A tool result whose call is in an earlier request only: refused, whatever came before.
		`{"model":"gemini-2.5-flash","messages":[{"role":"tool","tool_call_id":"call_b","content":"x"}]}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// translated is a translation's result as bytes, errors included.
func translated(t *testing.T, in []byte, sc *reqScratch) string {
	t.Helper()
	up, err := testTranslator().translateRequestIn(context.Background(), in, sc)
	if err != nil {
		return "error " + err.Error()
	}
	return up.Path + " " + up.Model + " " + string(up.Body)
}

// TestScratchReuseMatchesFresh: a translation in a scratch that earlier requests used (and
// cleared) writes the same bytes as one in a new scratch, whichever request came before.
func TestScratchReuseMatchesFresh(t *testing.T) {
	inputs := scratchInputs()
	fresh := make([]string, len(inputs))
	for i, in := range inputs {
		fresh[i] = translated(t, in, newScratch())
	}
	sc := newScratch()
	for _, before := range inputs {
		for i, in := range inputs {
			translated(t, before, sc)
			sc.clear()
			if got := translated(t, in, sc); got != fresh[i] {
				t.Fatalf("after %.80s, a reused scratch translated %.80s to\n%s\nfresh:\n%s", before, in, got, fresh[i])
			}
			sc.clear()
		}
	}
}

// TestScratchClearDropsReferences: a cleared scratch holds nothing of the request (the pool
// keeps no client body alive).
func TestScratchClearDropsReferences(t *testing.T) {
	sc := newScratch()
	for _, in := range scratchInputs() {
		translated(t, in, sc)
	}
	sc.clear()
	for name, n := range map[string]int{"messages": len(sc.messages), "toolCalls": len(sc.toolCalls), "tools": len(sc.tools),
		"functions": len(sc.functions), "chatParts": len(sc.chatParts), "contents": len(sc.contents), "parts": len(sc.parts),
		"calls": len(sc.calls), "responses": len(sc.responses), "decls": len(sc.decls), "raw": len(sc.raw),
		"callNames": len(sc.callNames), "toolNames": len(sc.toolNames)} {
		if n != 0 {
			t.Errorf("%s: %d left after clear", name, n)
		}
	}
	for _, p := range sc.parts[:cap(sc.parts)] {
		if p != (part{}) {
			t.Fatalf("a cleared scratch still holds %+v", p)
		}
	}
	if cap(sc.raw) == 0 {
		t.Fatal("the inputs unquoted no tool call arguments into the scratch: the check below is void")
	}
	for i, b := range sc.raw[:cap(sc.raw)] {
		if b != 0 {
			t.Fatalf("a cleared scratch still holds argument bytes at %d: %q", i, sc.raw[i:min(i+32, cap(sc.raw))])
		}
	}
	if sc.in.Messages != nil || sc.out.Contents != nil || sc.sysTurn.Parts != nil {
		t.Error("a cleared scratch still holds the request")
	}
}

// TestTranslateRequestAllocs keeps the request translation's allocations down: the benchmark's
// agent turn (six messages, two tool calls with escaped arguments, two tool results, an image,
// two tools) takes the upstream body, its path and the returned request; each further
// allocation would be per message or per part again (46 before the scratch).
func TestTranslateRequestAllocs(t *testing.T) {
	tr := testTranslator()
	ctx := context.Background()
	llmtest.AllocBound(t, fastJSON, 5, "translating the benchmark request", func() {
		if _, err := tr.translateRequest(ctx, benchRequest); err != nil {
			t.Fatal(err)
		}
	})
}

// replied is a reply translation's result as bytes.
func replied(in []byte, rs *replyScratch) string {
	c, ok := testTranslator().translateReply(context.Background(), in, created, "gemini-2.5-flash", rs)
	if !ok {
		return "not a reply"
	}
	return fmt.Sprintf("%s %s %s %+v %v %s", c.ID, c.Model, c.FinishReason, c.Usage, c.HasUsage, c.Body)
}

// TestReplyScratchReuseMatchesFresh: a reply translated with a scratch other replies used
// gives what it gives with a new one, and a cleared scratch holds nothing of the reply.
func TestReplyScratchReuseMatchesFresh(t *testing.T) {
	inputs := append(decoderInputs(t), benchResponse)
	fresh := make([]string, len(inputs))
	for i, in := range inputs {
		fresh[i] = replied(in, new(replyScratch))
	}
	rs := new(replyScratch)
	for _, before := range inputs {
		for i, in := range inputs {
			replied(before, rs)
			rs.clear()
			if got := replied(in, rs); got != fresh[i] {
				t.Fatalf("after %.80s, a reused scratch translated %.80s to\n%s\nfresh:\n%s", before, in, got, fresh[i])
			}
			rs.clear()
		}
	}
	replied(benchResponse, rs)
	rs.clear()
	if len(rs.candidates)+len(rs.contents)+len(rs.parts)+len(rs.calls) != 0 || rs.r.Candidates != nil || rs.usage != (usageMetadata{}) {
		t.Error("a cleared reply scratch still holds the reply")
	}
	for _, p := range rs.parts[:cap(rs.parts)] {
		if p != (responsePart{}) {
			t.Fatalf("a cleared reply scratch still holds %+v", p)
		}
	}
}

// TestTranslateResponseAllocs keeps the reply translation's allocations down: the benchmark's
// reply (a text part and a function call) takes the client's body and the id and model the
// result keeps (18 before the reply scratch and aliasing).
func TestTranslateResponseAllocs(t *testing.T) {
	tr := testTranslator()
	ctx := context.Background()
	llmtest.AllocBound(t, fastJSON, 4, "translating the benchmark reply", func() {
		if _, ok := tr.translateResponse(ctx, benchResponse, created, "gemini-2.5-flash"); !ok {
			t.Fatal("not translated")
		}
	})
}
