package pool

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/apierror"
)

func testPool(t *testing.T, sc SchedulerConfig) *Pool {
	t.Helper()
	p, err := New(Config{Name: "ns/req", Source: StaticSource{}, Scheduler: sc, Objectives: map[string]int{"batch": -1}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseRequest(t *testing.T) {
	p := testPool(t, DefaultScheduler())
	long := strings.Repeat("x", 200)
	tests := []struct {
		name       string
		body       string
		hdr        map[string]string
		wantStatus int
		wantModel  string
		wantBlocks int
		wantAdapt  string
		wantPrio   int
	}{
		{name: "chat", body: `{"model":"m","messages":[{"role":"user","content":"` + long + `"}]}`, wantModel: "m", wantBlocks: 3, wantAdapt: "m"},
		{name: "completion prompt string", body: `{"model":"m","prompt":"` + long + `"}`, wantModel: "m", wantBlocks: 3, wantAdapt: "m"},
		{name: "header model wins, base model is not an adapter", body: `{"model":"m","prompt":"p"}`,
			hdr: map[string]string{HeaderModelName: "base", HeaderBaseModelName: "base", HeaderObjective: "batch"}, wantModel: "base", wantPrio: -1},
		{name: "missing model", body: `{"prompt":"p"}`, wantStatus: 400},
		{name: "model not a string", body: `{"model":3}`, wantStatus: 400},
		{name: "not json", body: `{"model":`, wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/completions", strings.NewReader(tc.body))
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			req, err := p.parseRequest(r, nil)
			if tc.wantStatus != 0 {
				he, ok := err.(*apierror.Error)
				if !ok || he.Status != tc.wantStatus {
					t.Fatalf("err %v, want status %d", err, tc.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.model != tc.wantModel || len(req.hashes) != tc.wantBlocks || req.adapter != tc.wantAdapt || req.priority != tc.wantPrio {
				t.Fatalf("got model %q blocks %d adapter %q priority %d", req.model, len(req.hashes), req.adapter, req.priority)
			}
			// The body is still readable for the proxy.
			if b, _ := io.ReadAll(r.Body); string(b) != tc.body {
				t.Fatalf("body after parse %q", b)
			}
		})
	}
}

func TestParseRequestLeavesBodyAloneWithoutBodyScorers(t *testing.T) {
	p := testPool(t, SchedulerConfig{Picker: PickerMaxScore, Weights: Weights{Queue: 2, KVCache: 2, LoRA: 1}})
	body := io.NopCloser(strings.NewReader(`{"model":"m"}`))
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Body, r.ContentLength = body, 13
	r.Header.Set(HeaderModelName, "m") // LoRA scorer gets the model from BodyRouting's header
	req, err := p.parseRequest(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Body != body || req.body != nil || req.model != "m" {
		t.Fatalf("body was buffered: %+v", req)
	}
}

func TestBodyRouting(t *testing.T) {
	var got http.Header
	var gotBody string
	h := BodyRouting(map[string]string{"sql-lora": "llama"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		if r.ContentLength != int64(len(b)) {
			t.Errorf("content length %d for %d bytes", r.ContentLength, len(b))
		}
	}))
	tests := []struct {
		name, body, ct string
		spoof          bool
		wantModel      string
		wantBase       string
	}{
		{name: "adapter maps to base", body: `{"model":"sql-lora","messages":[]}`, ct: "application/json", wantModel: "sql-lora", wantBase: "llama"},
		{name: "base is its own base", body: `{"model":"llama"}`, ct: "application/json; charset=utf-8", wantModel: "llama", wantBase: "llama"},
		{name: "unknown model has no base", body: `{"model":"gpt-x"}`, wantModel: "gpt-x"},
		{name: "client headers are dropped", body: `{"prompt":"no model"}`, ct: "application/json", spoof: true},
		{name: "non-json body untouched", body: `model=x`, ct: "application/x-www-form-urlencoded", spoof: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewBufferString(tc.body))
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			if tc.spoof {
				r.Header.Set(HeaderModelName, "spoofed")
				r.Header.Set(HeaderBaseModelName, "spoofed")
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got.Get(HeaderModelName) != tc.wantModel || got.Get(HeaderBaseModelName) != tc.wantBase || gotBody != tc.body {
				t.Fatalf("headers %q %q body %q", got.Get(HeaderModelName), got.Get(HeaderBaseModelName), gotBody)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`))
	f.Add([]byte(`{"model":"m","prompt":["a","b"]}`))
	p, err := New(Config{Source: StaticSource{}}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req, err := p.parseRequest(r, nil)
		if err != nil {
			if _, ok := err.(*apierror.Error); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if req.model == "" && len(body) > 0 {
			t.Fatalf("accepted a body without model: %q", body)
		}
		if len(req.hashes) > p.cfg.Scheduler.MaxPrefixBlocks {
			t.Fatalf("%d blocks", len(req.hashes))
		}
	})
}
