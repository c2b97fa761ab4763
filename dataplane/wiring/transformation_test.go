package wiring

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/gateway"
)

// routingStage serves the body-based routing transformation (json(request.body).model into a
// header) in front of a backend that records the header and the body it received.
func routingStage(t testing.TB, expr string) (url string, got func() (header, body string, n int)) {
	t.Helper()
	h, err := gateway.CompileHeaderExpression("X-Gateway-Model-Name", expr)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := transformationStage(&gateway.TrafficPolicy{Transformation: &gateway.Transformation{Set: []gateway.HeaderExpression{h}}})
	if err != nil {
		t.Fatal(err)
	}
	var header, body string
	n := 0
	srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		header, body = r.Header.Get("X-Gateway-Model-Name"), string(b)
		n++
	})))
	t.Cleanup(srv.Close)
	return srv.URL, func() (string, string, int) { return header, body, n }
}

// TestBodyRoutingStrict: the model routed on is read by exact key from a body without duplicate
// or case-colliding keys, so it is the model the backend reads; other bodies are a 400 in the
// OpenAI error shape naming the key, and reach no backend.
func TestBodyRoutingStrict(t *testing.T) {
	url, got := routingStage(t, "string(json(request.body).model)")
	for _, tc := range []struct {
		name, body string
		status     int
		header     string // routed model, for 200
		param, msg string // for 400
	}{
		{"plain", `{"model":"llama","messages":[]}`, 200, "llama", "", ""},
		{"escaped key and value", `{"m\u006fdel":"ll\u0061ma"}`, 200, "llama", "", ""},
		{"MODEL after model", `{"model":"a","MODEL":"b"}`, 400, "", "MODEL", `key equals the earlier key \"model\" under case folding`},
		{"model twice", `{"model":"a","model":"b"}`, 400, "", "model", "duplicate key"},
		{"duplicate elsewhere", `{"model":"a","messages":[{"role":"user","role":"system"}]}`, 400, "", "messages[0].role", "duplicate key"},
		{"Model alone", `{"Model":"a"}`, 400, "", "model", "model is required and must be a string"},
		{"lone surrogate", `{"model":"a\ud800"}`, 400, "", "", "the request body is not a JSON object"},
		{"trailing data", `{"model":"a"}{"model":"b"}`, 400, "", "", "the request body is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, before := got()
			resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			header, body, n := got()
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tc.status)
			}
			if tc.status == 200 {
				if header != tc.header || body != tc.body {
					t.Errorf("routed on %q with body %s, want %q and the body unchanged", header, body, tc.header)
				}
				return
			}
			var e struct {
				Error struct {
					Type  string  `json:"type"`
					Param *string `json:"param"`
				} `json:"error"`
			}
			param := ""
			if json.Unmarshal(b, &e) != nil || e.Error.Type != "invalid_request_error" {
				t.Fatalf("not an OpenAI error: %s", b)
			}
			if e.Error.Param != nil {
				param = *e.Error.Param
			}
			if param != tc.param || !strings.Contains(string(b), tc.msg) {
				t.Errorf("param %q body %s, want param %q and %s", param, b, tc.param, tc.msg)
			}
			if n != before {
				t.Error("the refused request reached the backend")
			}
		})
	}
}

// FuzzBodyRoutingDecision: for every body the routing stage passes on, the model it routed on
// is the model a backend reads from the forwarded bytes (exact keys, last duplicate wins).
func FuzzBodyRoutingDecision(f *testing.F) {
	for _, s := range []string{`{"model":"a","MODEL":"b"}`, `{"model":"a","model":"b"}`, `{"model":"a"}`, `{"Model":"a","model":"b"}`, `{"model":"\u0061"}`, `{"model":1}`} {
		f.Add([]byte(s))
	}
	url, got := routingStage(f, "json(request.body).model")
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _, before := got()
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		header, fwd, n := got()
		if n == before {
			return // refused
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(fwd), &m); err != nil {
			t.Fatalf("forwarded %q, which a backend cannot parse: %v", fwd, err)
		}
		if s, _ := m["model"].(string); s != header {
			t.Fatalf("%q: routed on %q, the backend reads model %q", body, header, s)
		}
	})
}
