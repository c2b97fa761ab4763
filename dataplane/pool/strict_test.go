package pool

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBodyRoutingRefusesAmbiguous: a body from which the router could read another model than
// the model server is a 400 in the OpenAI error shape and is not passed on; the scheduler's own
// read of the body refuses it the same way.
func TestBodyRoutingRefusesAmbiguous(t *testing.T) {
	passed := false
	h := BodyRouting(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { passed = true }))
	p, err := New(Config{Source: StaticSource{}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"model":"a","MODEL":"b"}`, `MODEL: key equals the earlier key "model" under case folding`},
		{`{"model":"a","model":"b"}`, "model: duplicate key"},
		{`{"model":"a","messages":[{"content":"x","Content":"y"}]}`, "messages[0].Content: key equals"},
		{`{"model":"a\ud800"}`, "model: unpaired surrogate escape"},
		{`{"model":"a"} {"model":"b"}`, "invalid character after the JSON value"},
	} {
		passed = false
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
		var e struct {
			Error struct{ Message, Type string } `json:"error"`
		}
		if w.Code != http.StatusBadRequest || passed || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, tc.want) {
			t.Errorf("%s: %d %s (passed on: %v), want 400 saying %s", tc.body, w.Code, w.Body, passed, tc.want)
		}
		req := &request{body: []byte(tc.body)}
		if err := p.decodeBody(req, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: scheduler read %q, %v", tc.body, req.model, err)
		}
	}
}

// FuzzBodyRoutingModel: for every body BodyRouting passes on, the model header it set is the
// model a model server reads from the forwarded bytes (exact keys, last duplicate wins).
func FuzzBodyRoutingModel(f *testing.F) {
	for _, s := range []string{`{"model":"a","MODEL":"b"}`, `{"model":"a","model":"b"}`, `{"model":"sql-lora"}`, `{"Model":"a","model":"b"}`, `{"mode\u006c":"a"}`} {
		f.Add([]byte(s))
	}
	var header string
	var fwd []byte
	h := BodyRouting(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header = r.Header.Get(HeaderModelName)
		fwd, _ = io.ReadAll(r.Body)
	}))
	f.Fuzz(func(t *testing.T, body []byte) {
		fwd = nil
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if fwd == nil {
			return // refused
		}
		var m map[string]any
		if json.Unmarshal(fwd, &m) != nil {
			if header != "" {
				t.Fatalf("%q: routed on %q from a body a model server cannot parse", body, header)
			}
			return
		}
		if s, _ := m["model"].(string); s != header {
			t.Fatalf("%q: routed on %q, the model server reads %q", body, header, s)
		}
	})
}
