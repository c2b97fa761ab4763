package anthropictest

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

func TestValidateBody(t *testing.T) {
	ref := filepath.Join(testenv.RepoRoot(t), "testdata", "llm-apis")
	schema, err := CompileSchema(filepath.Join(ref, "anthropic", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Real requests recorded against api.anthropic.com must pass.
	cassettes, _ := filepath.Glob(filepath.Join(ref, "fixtures", "anthropic-sdk-go", "cassettes", "*.yaml"))
	if len(cassettes) == 0 {
		t.Fatal("no cassettes")
	}
	n := 0
	for _, c := range cassettes {
		ins, err := LoadCassette(c)
		if err != nil {
			t.Fatal(err)
		}
		for i, in := range ins {
			n++
			if err := ValidateBody(schema, []byte(in.RequestBody)); err != nil {
				t.Errorf("%s[%d]: recorded request rejected: %v", filepath.Base(c), i, err)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d recorded requests", n)
	}
	bad := map[string]string{
		"unknown field":            `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"n":2}`,
		"stop_sequences string":    `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"stop_sequences":"END"}`,
		"missing max_tokens":       `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		"max_tokens zero":          `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`,
		"empty text block":         `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":" "}]}]}`,
		"tool_result not first":    `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"text","text":"x"},{"type":"tool_result","tool_use_id":"t1"}]}]}`,
		"trailing whitespace":      `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"a "}]}]}`,
		"disable_parallel on none": `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"none","disable_parallel_tool_use":true},"messages":[{"role":"user","content":"q"}]}`,
		"input_schema null":        `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":null}],"messages":[{"role":"user","content":"q"}]}`,
		"duplicate tool names":     `{"model":"m","max_tokens":5,"tools":[{"name":"web_search","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"q"}]}`,
		"web search bad max_uses":  `{"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":0}],"messages":[{"role":"user","content":"q"}]}`,
		"web search bad country":   `{"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search","user_location":{"type":"approximate","country":"USA"}}],"messages":[{"role":"user","content":"q"}]}`,
		"tool_choice unknown tool": `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"g"},"messages":[{"role":"user","content":"q"}]}`,
		"thinking after text":      `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"thinking","thinking":"t","signature":"s"}]},{"role":"user","content":"q"}]}`,
		"thinking unsigned":        `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":""},{"type":"text","text":"a"}]},{"role":"user","content":"q"}]}`,
	}
	good := map[string]string{
		"server tools":   `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search","max_uses":5,"user_location":{"type":"approximate","city":"Paris","country":"FR","timezone":"Europe/Paris"}},{"type":"web_fetch_20250910","name":"web_fetch"},{"type":"code_execution_20250825","name":"code_execution"}],"tool_choice":{"type":"tool","name":"web_search"},"messages":[{"role":"user","content":"q"}]}`,
		"thinking first": `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"d"},{"type":"text","text":"a"}]},{"role":"user","content":"q"}]}`,
	}
	for name, body := range good {
		if err := ValidateBody(schema, []byte(body)); err != nil {
			t.Errorf("%s: rejected: %v", name, err)
		}
	}
	for name, body := range bad {
		if err := ValidateBody(schema, []byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestServerChecksHeaders(t *testing.T) {
	s := New(t, SchemaPath(t))
	body := []byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	h := http.Header{"Content-Type": {"application/json"}, "Anthropic-Version": {"2023-06-01"}}
	if err := s.Validate(h, body); err == nil || !strings.Contains(err.Error(), "x-api-key") {
		t.Errorf("missing key accepted: %v", err)
	}
	h.Set("X-Api-Key", "k")
	h.Set("Authorization", "Bearer client")
	if err := s.Validate(h, body); err == nil {
		t.Error("client Authorization beside x-api-key accepted")
	}
	h.Del("Authorization")
	if err := s.Validate(h, body); err != nil {
		t.Errorf("valid request rejected: %v", err)
	}
}
