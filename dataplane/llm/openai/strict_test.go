package openai

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
)

// TestPassthroughRefusesAmbiguousBodies: the passthrough forwards the body as it is, so a body
// from which it could read another model or stream flag than the upstream is a 400 in the OpenAI
// error shape naming the key, and is not forwarded. A plain body still passes.
func TestPassthroughRefusesAmbiguousBodies(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.SetChatReply(anthropictest.Reply{Body: []byte(completion)})
	msgs := `"messages":[{"role":"user","content":"Hi"}]`
	for _, tc := range []struct {
		name, body, param, msg string
	}{
		{"MODEL after model", `{"model":"a","MODEL":"b",` + msgs + `}`, "MODEL", `key equals the earlier key \"model\" under case folding`},
		{"model twice", `{"model":"a",` + msgs + `,"model":"b"}`, "model", "duplicate key"},
		{"Model alone", `{"Model":"a",` + msgs + `}`, "Model", `member names are case-sensitive (the gateway reads \"model\")`},
		{"stream twice", `{"model":"a","stream":false,"stream":true,` + msgs + `}`, "stream", "duplicate key"},
		{"ſtream", `{"model":"a","ſtream":true,` + msgs + `}`, "ſtream", `the gateway reads \"stream\"`},
		{"include_usage variant", `{"model":"a","stream":true,"stream_options":{"INCLUDE_USAGE":true},` + msgs + `}`, "stream_options.INCLUDE_USAGE", `the gateway reads \"include_usage\"`},
		{"duplicate deep in messages", `{"model":"a","messages":[{"role":"user","content":"Hi","content":"Bye"}]}`, "messages[0].content", "duplicate key"},
		{"trailing data", `{"model":"a",` + msgs + `} {"model":"b"}`, "", "invalid character after the JSON value"},
		{"invalid UTF-8", "{\"model\":\"a\xff\"," + msgs + `}`, "", "invalid UTF-8"},
		{"model not a string", `{"model":1,` + msgs + `}`, "model", "model must be a string, not a number"},
		{"not an object", `[{"model":"a"}]`, "", "must be a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.Requests())
			resp, err := http.Post(e.url+"/v1/chat/completions", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
				} `json:"error"`
			}
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &body) != nil || body.Error.Type != "invalid_request_error" {
				t.Fatalf("%d %s, want 400 invalid_request_error", resp.StatusCode, b)
			}
			param := ""
			if body.Error.Param != nil {
				param = *body.Error.Param
			}
			if param != tc.param || !strings.Contains(string(b), tc.msg) {
				t.Errorf("param %q, body %s; want param %q and %s", param, b, tc.param, tc.msg)
			}
			if n := len(e.fake.Requests()); n != before {
				t.Errorf("the refused body was forwarded")
			}
		})
	}
	resp, err := http.Post(e.url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"qwen3-8b",`+msgs+`}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("plain body: %d", resp.StatusCode)
	}
}

// FuzzPassthroughDecision: for every body the passthrough accepts, the model and stream flags
// it reports and decides on are those an upstream reads from the forwarded bytes (exact keys,
// last duplicate wins, as Python's json and JavaScript's JSON.parse read them).
func FuzzPassthroughDecision(f *testing.F) {
	for _, s := range []string{
		`{"model":"a","MODEL":"b"}`, `{"model":"a","model":"b"}`, `{"model":"a","stream":true,"stream_options":{"include_usage":true}}`,
		`{"Model":"a"}`, `{"model":"a","ſtream":true}`, `{"model":"a","stream_options":{"include_usage":false,"Include_usage":true}}`,
		`{"model":"m\u00e9","stream":null,"stream_options":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, perr := probeRequest(body)
		if perr != nil {
			return
		}
		var up map[string]any
		if err := lastWins(body, &up); err != nil {
			t.Fatalf("accepted %q, which an upstream cannot parse: %v", body, err)
		}
		model, _ := up["model"].(string)
		stream, _ := up["stream"].(bool)
		so, _ := up["stream_options"].(map[string]any)
		usage, _ := so["include_usage"].(bool)
		if p.Model != model || p.Stream != stream || p.IncludeUsage != usage {
			t.Fatalf("%q: gateway read %+v, upstream reads model %q stream %v include_usage %v", body, p, model, stream, usage)
		}
	})
}

// lastWins decodes into maps, which encoding/json fills by exact key with the last duplicate
// winning: the reading of the upstream servers the passthrough forwards to.
func lastWins(b []byte, v *map[string]any) error {
	return json.Unmarshal(b, v)
}
