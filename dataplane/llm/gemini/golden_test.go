package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/internal/testenv"
)

var update = testenv.Update

const created = 1754000000

// golden compares got with testdata/<name>, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update)", path, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("golden %s mismatch (run with -update to accept)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func testTranslator() *translator { return &translator{log: quietLogger()} }

// recorder is a ChunkWriter that keeps the SSE wire bytes.
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

func translateStream(t testing.TB, sse []byte, includeUsage bool, n int64) ([]byte, error) {
	t.Helper()
	st := testTranslator().newStream(context.Background(), created, &upstreamRequest{Model: "gemini-2.5-flash", IncludeUsage: includeUsage, Candidates: n})
	var rec recorder
	err := st.run(bytes.NewReader(sse), &rec)
	return rec.Bytes(), err
}

func candidatesOf(name string) int64 {
	if strings.HasPrefix(name, "two-candidates") {
		return 2
	}
	return 1
}

func TestResponseGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/response/*.json")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := testTranslator().translateResponse(context.Background(), in, created, "gemini-2.5-flash")
			if !ok {
				t.Fatal("not translated")
			}
			checkCompletion(t, c.Body)
			golden(t, "response/"+name+".golden", indent(t, c.Body))
		})
	}
}

func TestStreamGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream/*.sse")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := translateStream(t, in, true, candidatesOf(name))
			wantErr := strings.HasPrefix(name, "error") || strings.HasPrefix(name, "truncated")
			if _, isStreamErr := llm.IsStreamError(err); (err != nil) != wantErr || (err != nil && !isStreamErr) {
				t.Fatalf("err = %v, want error %v", err, wantErr)
			}
			checkStream(t, out, !wantErr)
			golden(t, "stream/"+name+".golden", out)
		})
	}
}

// checkCompletion checks the invariants of a chat.completion: usage adds up, and every tool
// call's arguments are a JSON object.
func checkCompletion(t *testing.T, body []byte) {
	t.Helper()
	var c struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct {
					Function struct{ Arguments string } `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage usageJSON `json:"usage"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	c.Usage.check(t)
	for _, ch := range c.Choices {
		for _, tc := range ch.Message.ToolCalls {
			var m map[string]any
			if json.Unmarshal([]byte(tc.Function.Arguments), &m) != nil {
				t.Errorf("arguments %q are not a JSON object", tc.Function.Arguments)
			}
		}
		switch ch.FinishReason {
		case "stop", "length", "tool_calls", "content_filter":
		default:
			t.Errorf("finish_reason %q is not OpenAI's", ch.FinishReason)
		}
	}
}

type usageJSON struct {
	Prompt, Completion, Total int64
	Details                   struct {
		Cached int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionDetails *struct {
		Reasoning int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u *usageJSON) UnmarshalJSON(b []byte) error {
	type plain usageJSON
	var v struct {
		plain
		P int64 `json:"prompt_tokens"`
		C int64 `json:"completion_tokens"`
		T int64 `json:"total_tokens"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*u = usageJSON(v.plain)
	u.Prompt, u.Completion, u.Total = v.P, v.C, v.T
	return nil
}

func (u usageJSON) check(t *testing.T) {
	t.Helper()
	if u.Total != u.Prompt+u.Completion || u.Details.Cached > u.Prompt {
		t.Errorf("usage does not add up: %+v", u)
	}
	if d := u.CompletionDetails; d != nil && d.Reasoning > u.Completion {
		t.Errorf("reasoning tokens exceed completion tokens: %+v", u)
	}
}

// checkStream checks a translated stream: every event is JSON, one id, finish chunks before
// the usage chunk (choices: []), [DONE] last on a clean stream and never after an error.
func checkStream(t *testing.T, out []byte, clean bool) {
	t.Helper()
	events := strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n")
	id := ""
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %d is not a data line: %q", i, ev)
		}
		if data == "[DONE]" {
			if !clean || i != len(events)-1 {
				t.Errorf("[DONE] at %d of %d (clean %v)", i, len(events), clean)
			}
			continue
		}
		var c struct {
			ID      string            `json:"id"`
			Choices []json.RawMessage `json:"choices"`
			Usage   *usageJSON        `json:"usage"`
			Error   json.RawMessage   `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("event %d not JSON: %v: %s", i, err, data)
		}
		if c.Error != nil {
			if clean || i != len(events)-1 {
				t.Errorf("error event at %d of %d (clean %v)", i, len(events), clean)
			}
			continue
		}
		if id == "" {
			id = c.ID
		} else if c.ID != id {
			t.Errorf("id changed: %s then %s", id, c.ID)
		}
		if c.Usage != nil {
			if len(c.Choices) != 0 {
				t.Errorf("usage chunk with choices: %s", data)
			}
			c.Usage.check(t)
		}
	}
	if clean && !strings.HasSuffix(string(out), "data: [DONE]\n\n") {
		t.Errorf("clean stream without [DONE]")
	}
}

// indent pretty-prints JSON for readable golden files.
func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}
