package mcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// recorder sits between the gateway and a target and keeps the bodies the target received.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (rec *recorder) serve(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	proxy.FlushInterval = -1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			rec.mu.Lock()
			rec.bodies = append(rec.bodies, string(b))
			rec.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path
}

func (rec *recorder) received(substr string) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []string
	for _, b := range rec.bodies {
		if strings.Contains(b, substr) {
			out = append(out, b)
		}
	}
	return out
}

// TestParserDifferentialRefused is issue #15 finding 2 against the real server-everything: with
// only echo allowed, a body the gateway would read as echo and the server as get-env (which
// returns the server's environment) is refused with HTTP 400 and a JSON-RPC error, and nothing
// of it reaches the server; a plain call still works.
func TestParserDifferentialRefused(t *testing.T) {
	ev := startEverything(t, "streamableHttp")
	var rec recorder
	_, gw := serveGateway(t, Config{Targets: []Target{{Name: "everything", URL: rec.serve(t, ev.URL)}}, Rules: Rules{Allow: []string{"echo"}}})
	sid := initializeRaw(t, gw.URL)

	call := func(id, rest string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,` + rest + `}`
	}
	for _, tc := range []struct {
		name, body, why string
	}{
		{"review: NAME after name", call("10", `"method":"tools/call","params":{"name":"get-env","NAME":"echo"}`), `params.NAME: key equals the earlier key \"name\" under case folding`},
		{"Name after name", call("11", `"method":"tools/call","params":{"name":"get-env","Name":"echo","arguments":{}}`), `params.Name`},
		{"name twice", call("12", `"method":"tools/call","params":{"name":"get-env","name":"echo"}`), `params.name: duplicate key`},
		{"name twice, one escaped", call("13", `"method":"tools/call","params":{"name":"get-env","n\u0061me":"echo"}`), `params.name: duplicate key`},
		{"NAME alone", call("14", `"method":"tools/call","params":{"NAME":"echo"}`), `params.NAME: unknown key; member names are case-sensitive`},
		{"METHOD after method", call("15", `"method":"tools/call","METHOD":"prompts/get","params":{"name":"get-env"}`), `METHOD: key equals the earlier key \"method\"`},
		{"method twice", call("16", `"method":"tools/call","params":{"name":"get-env"},"method":"prompts/get"`), `method: duplicate key`},
		{"PARAMS after params", call("17", `"method":"tools/call","params":{"name":"get-env"},"PARAMS":{"name":"echo"}`), `PARAMS: key equals the earlier key \"params\"`},
		{"params twice", call("18", `"method":"tools/call","params":{"name":"get-env"},"params":{"name":"echo"}`), `params: duplicate key`},
		{"long s folds to s", call("19", `"method":"tools/call","params":{"name":"get-env"},"paramſ":{"name":"echo"}`), `paramſ: key equals the earlier key \"params\"`},
		{"long s alone", call("20", `"method":"tools/call","paramſ":{"name":"echo"},"params":{"name":"get-env"}`), `paramſ: unknown key; member names are case-sensitive (the gateway reads \"params\")`},
		{"id twice", `{"jsonrpc":"2.0","id":21,"id":"x","method":"tools/call","params":{"name":"get-env"}}`, `id: duplicate key`},
		{"lone surrogate", call("22", `"method":"tools/call","params":{"name":"get-env\ud800"}`), `params.name: unpaired surrogate escape`},
		{"trailing data", call("23", `"method":"tools/call","params":{"name":"echo"}`) + `{"jsonrpc":"2.0","id":24,"method":"tools/call","params":{"name":"get-env"}}`, `invalid character after the JSON value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := postRaw(t, gw.URL, sid, tc.body, nil)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.body, `"jsonrpc":"2.0"`) || !strings.Contains(resp.body, `"error":{"code":-32`) {
				t.Fatalf("%d %s, want 400 with a JSON-RPC error", resp.StatusCode, resp.body)
			}
			if !strings.Contains(resp.body, tc.why) {
				t.Errorf("error %s does not say %s", resp.body, tc.why)
			}
			if strings.Contains(resp.body, "PATH") || strings.Contains(resp.body, "HOME") {
				t.Fatalf("the server's environment leaked: %s", resp.body)
			}
		})
	}
	if got := rec.received(`get-env`); len(got) > 0 {
		t.Errorf("the target received %d refused bodies, first %s", len(got), got[0])
	}

	plain := postRaw(t, gw.URL, sid, call("30", `"method":"tools/call","params":{"name":"echo","arguments":{"message":"still works"}}`), nil)
	if plain.StatusCode != http.StatusOK || !strings.Contains(plain.body, "Echo: still works") {
		t.Errorf("plain echo: %d %s", plain.StatusCode, plain.body)
	}
	refused := postRaw(t, gw.URL, sid, call("31", `"method":"tools/call","params":{"name":"get-env"}`), nil)
	if refused.StatusCode != http.StatusBadRequest || !strings.Contains(refused.body, "Unknown tool: get-env") {
		t.Errorf("plain get-env: %d %s, want the allow-list's refusal", refused.StatusCode, refused.body)
	}
}

// FuzzDecisionMatchesTarget: for every body the gateway accepts, what it dispatches, routes and
// authorizes on (method, id, tool/prompt name, resource URI, completion reference, protocol
// version) is what a target reads from the same bytes. The target is modelled by an independent
// reader with JavaScript's JSON.parse semantics: exact keys, the last duplicate wins.
func FuzzDecisionMatchesTarget(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env","NAME":"echo"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","METHOD":"prompts/get","params":{"name":"get-env"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env"},"paramſ":{"name":"echo"}}`,
		`{"jsonrpc":"2.0","id":"a","method":"resources/read","params":{"uri":"x+file:///a","URI":"y"}}`,
		`{"jsonrpc":"2.0","id":2,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"a_b","Name":"c"}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"2025-11-25","protocolversion":"x"}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"n\u0061me":"echo"}}`,
	} {
		f.Add([]byte(s))
	}
	decided := [][]string{{"name"}, {"uri"}, {"ref", "type"}, {"ref", "name"}, {"ref", "uri"}, {"protocolVersion"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, e := parseMessage(body)
		if e != nil {
			return
		}
		target, err := jsonParse(body)
		if err != nil {
			t.Fatalf("gateway accepted %q, which a target cannot parse: %v", body, err)
		}
		if got, want := m.Method, targetString(target, "method"); got != want {
			t.Fatalf("%q: gateway method %q, target method %q", body, got, want)
		}
		var id any
		if len(m.ID) > 0 {
			_ = json.Unmarshal(m.ID, &id)
		}
		if want, _ := lookupJS(target, "id"); fmt.Sprint(id) != fmt.Sprint(want) {
			t.Fatalf("%q: gateway id %s, target id %v", body, m.ID, want)
		}
		for _, p := range decided {
			if got, want := paramString(m.Params, p...), targetString(target, append([]string{"params"}, p...)...); got != want {
				t.Fatalf("%q: gateway params.%s %q, target %q", body, strings.Join(p, "."), got, want)
			}
		}
		if got, want := metaVersion(m.Params), targetString(target, "params", "_meta", "io.modelcontextprotocol/protocolVersion"); got != want {
			t.Fatalf("%q: gateway protocol version %q, target %q", body, got, want)
		}
		var p struct {
			ProtocolVersion string `json:"protocolVersion"` // as initialize decodes it
		}
		_ = json.Unmarshal(m.Params, &p)
		if want := targetString(target, "params", "protocolVersion"); p.ProtocolVersion != want {
			t.Fatalf("%q: initialize reads protocolVersion %q, target %q", body, p.ProtocolVersion, want)
		}
	})
}

// jsonParse decodes like JavaScript's JSON.parse: object keys exact, a repeated key replaces
// the earlier value.
func jsonParse(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := jsValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

func jsValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('['):
		var list []any
		for dec.More() {
			v, err := jsValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token()
		return list, err
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			if obj[k.(string)], err = jsValue(dec); err != nil {
				return nil, err
			}
		}
		_, err := dec.Token()
		return obj, err
	}
	return tok, nil
}

func lookupJS(v any, path ...string) (any, bool) {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

func targetString(v any, path ...string) string {
	x, _ := lookupJS(v, path...)
	s, _ := x.(string)
	return s
}
