package llm

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestUsageOpenAI(t *testing.T) {
	u := Usage{Input: 10, CacheWrite: 20, CacheRead: 30, Output: 5, HasCacheSplit: true, CacheWrite5m: 20, HasWebSearch: true, WebSearch: 1}
	got := string(u.AppendOpenAI(nil, UsageFormat{CacheSplit: true}))
	want := `{"prompt_tokens":60,"completion_tokens":5,"total_tokens":65,"prompt_tokens_details":{"cached_tokens":30,"cache_write_tokens":20,"cache_creation_token_details":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":0}},"cache_read_input_tokens":30,"cache_creation_input_tokens":20,"server_tool_use":{"web_search_requests":1}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	u = Usage{Input: 1, Output: 9, HasReasoning: true, Reasoning: 7}
	got = string(u.AppendOpenAI(nil, UsageFormat{}))
	if !strings.Contains(got, `"completion_tokens_details":{"reasoning_tokens":7}`) || strings.Contains(got, "server_tool_use") {
		t.Errorf("reasoning usage %s", got)
	}
	u = Usage{Input: 1, Output: 2, HasWebSearch: true, WebSearch: 3, HasWebFetch: true, WebFetch: 4}
	if got = string(u.AppendOpenAI(nil, UsageFormat{})); !strings.HasSuffix(got, `"server_tool_use":{"web_search_requests":3,"web_fetch_requests":4}}`) {
		t.Errorf("server tool usage %s", got)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("second registration: %v", err)
	}
	r := RouteInfo{Route: "ns/r", Backend: "ns/b"}
	m.Record(r, "claude", Usage{Input: 10, Output: 5, CacheRead: 30, CacheWrite: 20})
	again.Record(r, "claude", Usage{Input: 1})
	for kind, want := range map[string]float64{TokenInput: 11, TokenOutput: 5, TokenCacheRead: 30, TokenCacheWrite: 20} {
		if got := testutil.ToFloat64(m.Counter(r, "claude", kind)); got != want {
			t.Errorf("%s = %v, want %v", kind, got, want)
		}
	}
	var nilMetrics *Metrics
	nilMetrics.Record(r, "x", Usage{Input: 1}) // must not panic
}

// TestMetricsSeries: Record's cached counters add up across views, label sets and concurrent
// requests, and a token type with no tokens has no series (as with a WithLabelValues per call).
func TestMetricsSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	base, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	views := []*Metrics{base.ForModels("a"), base.ForModels("b")}
	routes := []RouteInfo{{Route: "ns/r1", Backend: "ns/b"}, {Route: "ns/r2", Backend: "ns/b"}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				views[(i+j)%2].Record(routes[j%2], "m", Usage{Input: 1, Output: 2})
			}
		}()
	}
	wg.Wait()
	for _, r := range routes {
		for kind, want := range map[string]float64{TokenInput: 400, TokenOutput: 800} {
			if got := testutil.ToFloat64(base.Counter(r, "m", kind)); got != want {
				t.Errorf("%s %s = %v, want %v", r.Route, kind, got, want)
			}
		}
	}
	if n := testutil.CollectAndCount(base.tokens); n != 4 {
		t.Errorf("%d series, want 4 (input and output of two routes; no cache series without cache tokens)", n)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Authorization")
	key := KeyFile("ns/secret", p)
	if _, err := key(); err == nil || !strings.Contains(err.Error(), "ns/secret") {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(p, []byte("Bearer sk-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := key(); err != nil || k != "sk-123" {
		t.Errorf("key %q, %v", k, err)
	}
	if err := os.WriteFile(p, []byte("sk-rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, _ := key(); k != "sk-rotated" {
		t.Errorf("rotation not picked up: %q", k)
	}
	if err := os.WriteFile(p, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := key(); err == nil || strings.Contains(err.Error(), "sk-") {
		t.Errorf("empty secret: %v", err)
	}
}

func TestRouteContext(t *testing.T) {
	ctx := WithRoute(t.Context(), RouteInfo{Route: "a", Backend: "b"})
	if got := RouteFromContext(ctx); got.Route != "a" || got.Backend != "b" {
		t.Errorf("got %+v", got)
	}
	if got := RouteFromContext(t.Context()); got != (RouteInfo{}) {
		t.Errorf("empty context gave %+v", got)
	}
}

func TestCredentialsErrorNamesSecretNotValue(t *testing.T) {
	e := CredentialsError("ns/anthropic", errors.New("parse failure near sk-ant-LEAK"))
	body := string(e.AppendJSON(nil))
	if e.Status != 500 || !strings.Contains(body, "ns/anthropic") || strings.Contains(body, "sk-ant-LEAK") {
		t.Errorf("%d %s", e.Status, body)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// Both providers read client bodies through ReadRequestBody: a body over the limit is a 413,
// one that cannot be read a 400, both in OpenAI's error shape.
func TestReadRequestBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   io.Reader
		length int64
		status int
	}{
		{"fits", strings.NewReader(`{"a":1}`), 7, 0},
		{"unknown length", strings.NewReader(`{"a":1}`), -1, 0},
		{"too large", strings.NewReader(strings.Repeat("x", 11)), 11, http.StatusRequestEntityTooLarge},
		{"too large, length not declared", strings.NewReader(strings.Repeat("x", 11)), -1, http.StatusRequestEntityTooLarge},
		{"unreadable", failingReader{}, -1, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", tc.body)
			r.ContentLength = tc.length
			w := httptest.NewRecorder()
			var res Result
			buf := GetBuffer()
			defer buf.Release()
			body, ok := ReadRequestBody(w, r, 10, &res, buf)
			if tc.status == 0 {
				if !ok || string(body) != `{"a":1}` {
					t.Fatalf("ok=%v body=%q", ok, body)
				}
				return
			}
			if ok || w.Code != tc.status || res.Status != tc.status || !strings.Contains(w.Body.String(), `"invalid_request_error"`) {
				t.Fatalf("ok=%v status=%d result=%d body=%s", ok, w.Code, res.Status, w.Body)
			}
		})
	}
}

type lineSetter struct {
	http.ResponseWriter
	attrs []slog.Attr
}

func (l *lineSetter) SetLogAttrs(attrs ...slog.Attr) { l.attrs = append(l.attrs[:0], attrs...) }

type middlewareWriter struct{ http.ResponseWriter }

func (m middlewareWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// TestFinishJoinsTheAccessLine: behind the server, a call's fields go on the request's access
// line (found through middleware's Unwrap) and Finish logs nothing itself; outside it (no
// recorder), Finish writes its own line.
func TestFinishJoinsTheAccessLine(t *testing.T) {
	res := Result{Provider: "anthropic", RequestModel: "claude", Status: 200, FinishReason: "stop", HasUsage: true, Usage: Usage{Input: 10, CacheRead: 2, Output: 5}}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	rec := &lineSetter{ResponseWriter: httptest.NewRecorder()}
	Finish(t.Context(), middlewareWriter{rec}, log, nil, nil, &res, time.Now())
	if logs.Len() != 0 {
		t.Errorf("a second line beside the access line: %s", logs.String())
	}
	got := map[string]string{}
	for _, a := range rec.attrs {
		got[a.Key] = a.Value.String()
	}
	want := map[string]string{"provider": "anthropic", "model": "claude", "stream": "false", "error_type": "", "finish_reason": "stop", "prompt_tokens": "12", "completion_tokens": "5"}
	if !maps.Equal(got, want) {
		t.Errorf("access line fields %v, want %v", got, want)
	}

	Finish(t.Context(), httptest.NewRecorder(), log, nil, nil, &res, time.Now())
	if !strings.Contains(logs.String(), `"msg":"chat completion"`) || !strings.Contains(logs.String(), `"prompt_tokens":12`) {
		t.Errorf("outside the server: %s", logs.String())
	}
}
