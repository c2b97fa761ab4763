package anthropic

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm/llmtest"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
	"github.com/infergw/gwctl/internal/testenv"
)

// scratchCase is a request body with the Config it is translated under.
type scratchCase struct {
	cfg Config
	in  string
}

// scratchInputs are the request cases and bodies that use every part of a scratch: tool
// calls with escaped arguments, tool results (string and parts, with images) merged before
// the user's text, system and developer parts, media and file parts, thinking replay, merged
// assistant turns, tools with a forced choice, sampling and user settings.
func scratchInputs() []scratchCase {
	out := []scratchCase{{in: string(benchRequest)}}
	for _, tc := range requestCases {
		out = append(out, scratchCase{tc.cfg, tc.in})
	}
	for _, s := range []string{
		`{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"Metric.","cache_control":{"type":"ephemeral"}}]},
{"role":"user","content":"Weather in Paris and Rome?"},
{"role":"assistant","content":"Checking.","thinking_blocks":[{"type":"thinking","thinking":"hm","signature":"sig"}],"tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},{"id":"call_b","type":"function","function":{"name":"get_weather","arguments":""}}]},
{"role":"assistant","content":[{"type":"text","text":"More. "}],"thinking_blocks":[{"type":"redacted_thinking","data":"xyz"}]},
{"role":"tool","tool_call_id":"call_a","content":"{\"temp\":18}"},
{"role":"tool","tool_call_id":"call_b","content":[{"type":"text","text":"24C "},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
{"role":"user","content":[{"type":"text","text":"Thanks"},{"type":"image_url","image_url":{"url":"https://example.com/a.pdf"}},{"type":"file","file":{"file_data":"data:text/plain;base64,QUJD","filename":"a.txt"}},{"type":"file","file":{"file_data":"QUJD"}}]},
{"role":"assistant","content":"Done.  "}],
"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"properties":{}},"strict":true}},{"type":"function","function":{"name":"get_time"}}],
"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,"temperature":1.5,"top_p":0.9,"max_completion_tokens":256,"stop":["END"," "],"user":"u-1","stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"claude-opus-4-1","messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{\"k\":\"\\u00e9\"}"}}]},{"role":"tool","tool_call_id":"x","content":"plain"},{"role":"system","content":"late"},{"role":"user","content":"b"}],
"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"f"}}]}},"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}},"reasoning_effort":"low","max_tokens":4096}`,
		// Refused after an accepted request, whatever came before.
		`{"model":"claude-sonnet-4-5","messages":[{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`,
		`{"model":"claude-sonnet-4-5","messages":[{"role":"tool","tool_call_id":"call_b","content":"x"}]}`,
	} {
		out = append(out, scratchCase{in: s})
		out = append(out, scratchCase{cfg: Config{MidConversationSystem: true}, in: s})
	}
	return out
}

// translated is a translation's result as bytes, errors included.
func translated(t *testing.T, tc scratchCase, sc *reqScratch) string {
	t.Helper()
	up, err := newTranslator(&tc.cfg, quietLogger()).translateRequestIn(context.Background(), []byte(tc.in), sc)
	if err != nil {
		return "error " + string(err.AppendJSON(nil))
	}
	return up.Model + " " + up.JSONTool + " " + string(up.Body)
}

// TestScratchReuseMatchesFresh: a translation in a scratch that an earlier, different request
// used (and cleared) writes the same bytes as one in a new scratch; and the earlier result is
// not changed by the later translation (nothing returned points into the scratch).
func TestScratchReuseMatchesFresh(t *testing.T) {
	inputs := scratchInputs()
	fresh := make([]string, len(inputs))
	for i, in := range inputs {
		fresh[i] = translated(t, in, new(reqScratch))
	}
	step := 1
	if testenv.RaceSlowdown > 1 {
		step = 7 // fewer predecessors: the race detector makes each translation slow
	}
	ctx := context.Background()
	sc := new(reqScratch)
	for b := 0; b < len(inputs); b += step {
		before := inputs[b]
		for i, in := range inputs {
			prev, perr := newTranslator(&before.cfg, quietLogger()).translateRequestIn(ctx, []byte(before.in), sc)
			var prevBody string
			if perr == nil {
				prevBody = string(prev.Body)
			}
			sc.clear()
			if got := translated(t, in, sc); got != fresh[i] {
				t.Fatalf("after %.80s, a reused scratch translated %.80s to\n%s\nfresh:\n%s", before.in, in.in, got, fresh[i])
			}
			sc.clear()
			if perr == nil && string(prev.Body) != prevBody {
				t.Fatalf("translating %.80s changed the earlier result of %.80s", in.in, before.in)
			}
		}
	}
}

// TestScratchClearDropsReferences: a cleared scratch holds nothing of the request, neither a
// value nor a byte, in any of its fields or anywhere in its slices' capacity (the pool keeps
// no client body alive).
func TestScratchClearDropsReferences(t *testing.T) {
	sc := new(reqScratch)
	for _, in := range scratchInputs() {
		translated(t, in, sc)
	}
	if len(sc.blocks) == 0 || len(sc.raw) == 0 || len(sc.sources) == 0 || fastJSON && len(sc.messages) == 0 {
		t.Fatal("the inputs did not fill the scratch")
	}
	sc.clear()
	assertCleared(t, sc)
}

// assertCleared fails when any field of the struct *p, or any element in its slices' whole
// capacity, is not zero.
func assertCleared(t *testing.T, p any) {
	t.Helper()
	v := reflect.ValueOf(p).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if f.Kind() != reflect.Slice {
			if !f.IsZero() {
				t.Errorf("%s: a cleared scratch still holds %v", name, f)
			}
			continue
		}
		if f.Len() != 0 {
			t.Errorf("%s: %d elements left after clear", name, f.Len())
		}
		whole := f.Slice(0, f.Cap())
		for j := range whole.Len() {
			if !whole.Index(j).IsZero() {
				t.Errorf("%s[%d]: a cleared scratch still holds %v", name, j, whole.Index(j))
				break
			}
		}
	}
}

// TestScratchBounded: a scratch that one huge request grew is not kept at that size.
func TestScratchBounded(t *testing.T) {
	body := []byte(`{"model":"claude-sonnet-4-5","messages":[` + repeatJoin(`{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`, 2*scratch.MaxKept) + `]}`)
	sc := new(reqScratch)
	if _, err := newTranslator(&Config{}, quietLogger()).translateRequestIn(context.Background(), body, sc); err != nil {
		t.Fatal(err)
	}
	sc.clear()
	if cap(sc.messages) > scratch.MaxKept || cap(sc.chatParts) > scratch.MaxKept || cap(sc.blocks) > scratch.MaxKept || cap(sc.other) > scratch.MaxKept {
		t.Errorf("a cleared scratch keeps %d messages, %d parts, %d blocks, %d pending", cap(sc.messages), cap(sc.chatParts), cap(sc.blocks), cap(sc.other))
	}
}

func repeatJoin(s string, n int) string {
	b := make([]byte, 0, n*(len(s)+1))
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return string(b)
}

// TestTranslateRequestAllocs keeps the request translation's allocations down: the benchmark's
// agent turn (six messages, two tool calls with escaped arguments, two tool results, an image,
// two tools) takes the upstream body, the model name and the returned request; each further
// allocation would be per message or per block again (48 before the scratch).
func TestTranslateRequestAllocs(t *testing.T) {
	tr := newTranslator(&Config{}, quietLogger())
	ctx := context.Background()
	llmtest.AllocBound(t, fastJSON, 3, "translating the benchmark request", func() {
		if _, err := tr.translateRequest(ctx, benchRequest); err != nil {
			t.Fatal(err)
		}
	})
}

// replyCase is an upstream reply with what it is translated under.
type replyCase struct {
	cfg      Config
	jsonTool string
	in       string
}

func replyInputs() []replyCase {
	out := []replyCase{{in: string(benchResponse)}, {jsonTool: jsonToolName, in: string(benchResponse)}}
	for _, tc := range responseCases {
		out = append(out, replyCase{tc.cfg, tc.jsonTool, tc.in})
	}
	out = append(out, replyCase{jsonTool: jsonToolName, in: `{"id":"msg_1","model":"claude-sonnet-4-5","stop_reason":"tool_use","content":[` +
		`{"type":"thinking","thinking":"plan","signature":"sig"},{"type":"redacted_thinking","data":"abc"},` +
		`{"type":"text","text":"Paris \u00e9","citations":[{"type":"web_search_result_location","url":"https://a.example/x","title":"A"},{"type":"char_location","source":"d"}]},` +
		`{"type":"tool_use","id":"t1","name":"json_response","input":{ "a" : [1, 2] }},{"type":"tool_use","id":"t2","name":"f","input":{ "k" : "v w" }}],` +
		`"usage":{"input_tokens":3,"output_tokens":4,"cache_creation_input_tokens":1,"cache_read_input_tokens":2,"cache_creation":{"ephemeral_5m_input_tokens":1,"ephemeral_1h_input_tokens":0},"output_tokens_details":{"thinking_tokens":2},"server_tool_use":{"web_search_requests":1,"web_fetch_requests":2},"service_tier":"priority"}}`})
	return out
}

// replied is a reply translation's result as bytes, and the result.
func replied(tc replyCase, rs *replyScratch) (string, *completion) {
	c, ok := newTranslator(&tc.cfg, quietLogger()).translateResponseIn(context.Background(), []byte(tc.in), created, tc.jsonTool, rs)
	if !ok {
		return "not a reply", nil
	}
	return completionText(c), c
}

func completionText(c *completion) string {
	return fmt.Sprintf("%s %s %s %+v %s", c.ID, c.Model, c.FinishReason, c.Usage, c.Body)
}

// TestReplyScratchReuseMatchesFresh: a reply translated with a scratch other replies used
// gives what it gives with a new one; the earlier result is not changed by the later
// translation; and a cleared scratch holds nothing of the reply.
func TestReplyScratchReuseMatchesFresh(t *testing.T) {
	inputs := replyInputs()
	fresh := make([]string, len(inputs))
	for i, in := range inputs {
		fresh[i], _ = replied(in, new(replyScratch))
	}
	rs := new(replyScratch)
	for _, before := range inputs {
		for i, in := range inputs {
			prev, c := replied(before, rs)
			rs.clear()
			if got, _ := replied(in, rs); got != fresh[i] {
				t.Fatalf("after %.80s, a reused scratch translated %.80s to\n%s\nfresh:\n%s", before.in, in.in, got, fresh[i])
			}
			rs.clear()
			if c != nil && completionText(c) != prev {
				t.Fatalf("translating %.80s changed the earlier result of %.80s", in.in, before.in)
			}
		}
	}
	for _, in := range inputs {
		replied(in, rs)
	}
	if cap(rs.text) == 0 || fastJSON && (len(rs.blocks) == 0 || len(rs.int64s) == 0 || len(rs.citations) == 0) {
		t.Fatal("the replies did not fill the scratch")
	}
	rs.clear()
	assertCleared(t, rs)
}

// TestTranslateResponseAllocs keeps the reply translation's allocations down: the benchmark's
// reply (a text block and a tool_use) takes the returned completion and the model and id it
// keeps, the client's body a pooled buffer that llm.Upstream releases once written (15 before
// the reply scratch, 4 before the pooled body).
func TestTranslateResponseAllocs(t *testing.T) {
	tr := newTranslator(&Config{}, quietLogger())
	ctx := context.Background()
	llmtest.AllocBound(t, fastJSON, 3, "translating the benchmark reply", func() {
		c, ok := tr.translateResponse(ctx, benchResponse, created, "")
		if !ok {
			t.Fatal("not translated")
		}
		c.Buf.Release()
	})
}

// FuzzScratchReuse: any request body translates to the same bytes (or error) in a scratch
// that the benchmark request used before as in a new one, and the scratch clears to nothing.
func FuzzScratchReuse(f *testing.F) {
	for _, tc := range scratchInputs() {
		f.Add([]byte(tc.in))
	}
	tr := newTranslator(&Config{MidConversationSystem: true, WebSearch: true, ServerTools: []string{"web_search_20250305"}}, quietLogger())
	text := func(in []byte, sc *reqScratch) string {
		up, err := tr.translateRequestIn(context.Background(), in, sc)
		if err != nil {
			return "error " + string(err.AppendJSON(nil))
		}
		return up.Model + " " + up.JSONTool + " " + string(up.Body)
	}
	sc := new(reqScratch)
	f.Fuzz(func(t *testing.T, in []byte) {
		want := text(in, new(reqScratch))
		text(benchRequest, sc)
		sc.clear()
		if got := text(in, sc); got != want {
			t.Fatalf("a reused scratch translated %q to\n%s\nfresh:\n%s", in, got, want)
		}
		sc.clear()
		assertCleared(t, sc)
	})
}
