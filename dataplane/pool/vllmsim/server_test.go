package vllmsim

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
)

func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func post(t *testing.T, s *Server, path, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post("http://"+s.Addr()+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestChatCompletion(t *testing.T) {
	s := newServer(t, Config{Seed: 7, DecodePerToken: time.Millisecond})
	body := `{"model":"sim-model","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	resp, b := post(t, s, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		Object  string
		Choices []struct {
			Message struct{ Role, Content string }
		}
		Usage struct{ PromptTokens, CompletionTokens, TotalTokens int } `json:"usage"`
	}
	if err := json.Unmarshal([]byte(b), &out); err != nil {
		t.Fatal(err)
	}
	if out.Object != "chat.completion" || out.Choices[0].Message.Role != "assistant" || len(strings.Fields(out.Choices[0].Message.Content)) != 5 {
		t.Fatalf("response %s", b)
	}
	// Deterministic with the seed: a second server with the same seed says the same.
	s2 := newServer(t, Config{Seed: 7, DecodePerToken: time.Millisecond})
	if _, b2 := post(t, s2, "/v1/chat/completions", body); !strings.Contains(b2, out.Choices[0].Message.Content) {
		t.Fatalf("not deterministic:\n%s\n%s", b, b2)
	}
}

func TestStreamingCompletionWithUsage(t *testing.T) {
	s := newServer(t, Config{DecodePerToken: time.Millisecond, StreamChunkTokens: 2})
	resp, b := post(t, s, "/v1/completions", `{"model":"sim-model","prompt":"hello","max_tokens":5,"stream":true,"stream_options":{"include_usage":true}}`)
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	var texts, usage int
	sc := bufio.NewScanner(strings.NewReader(b))
	var last string
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		last = line
		if line == "[DONE]" {
			continue
		}
		var ch struct {
			Object  string
			Choices []struct{ Text string }
			Usage   *struct {
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatal(err)
		}
		if ch.Object != "text_completion" {
			t.Fatalf("object %q", ch.Object)
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Text != "" {
			texts++
		}
		if ch.Usage != nil {
			usage = ch.Usage.CompletionTokens
		}
	}
	// 1 first token, then chunks of 2: 1 + 2 + 2.
	if texts != 3 || usage != 5 || last != "[DONE]" {
		t.Fatalf("text chunks %d, usage %d, last %q\n%s", texts, usage, last, b)
	}
}

func TestErrorsAndModels(t *testing.T) {
	s := newServer(t, Config{LoRAs: []string{"sql-lora"}})
	if resp, _ := post(t, s, "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`); resp.StatusCode != 404 {
		t.Fatalf("unknown model: %d", resp.StatusCode)
	}
	if resp, _ := post(t, s, "/v1/chat/completions", `{"model":"sim-model"`); resp.StatusCode != 400 {
		t.Fatalf("bad json: %d", resp.StatusCode)
	}
	resp, err := http.Get("http://" + s.Addr() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"id":"sql-lora"`) || !strings.Contains(string(b), `"parent":"sim-model"`) {
		t.Fatalf("models: %s", b)
	}
	s.SetFaults(Faults{ErrorRate: 1})
	if resp, b := post(t, s, "/v1/completions", `{"model":"sim-model","prompt":"x"}`); resp.StatusCode != 500 || !strings.Contains(b, `"error"`) {
		t.Fatalf("injected error: %d %s", resp.StatusCode, b)
	}
}

func scrape(t *testing.T, s *Server) metricsparse.Metrics {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, err := metricsparse.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestQueueingAndMetrics(t *testing.T) {
	s := newServer(t, Config{MaxNumSeqs: 2, DecodePerToken: 5 * time.Millisecond, NumGPUBlocks: 1000, MaxLoRAs: 3, LoRAs: []string{"a"}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			model := "sim-model"
			if i == 0 {
				model = "a"
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.Addr()+"/v1/completions",
				strings.NewReader(`{"model":"`+model+`","prompt":"x","max_tokens":1000,"stream":true}`))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(3 * time.Second)
	for s.Stats().Running+s.Stats().Waiting < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	m := scrape(t, s)
	if m.Running != 2 || m.Waiting != 3 {
		t.Fatalf("running %v waiting %v, want 2 and 3 behind max_num_seqs", m.Running, m.Waiting)
	}
	// Each running sequence holds ceil((1+1000)/16) = 63 blocks of 1000.
	if m.KVUsage != 0.126 {
		t.Fatalf("kv usage %v, want 0.126", m.KVUsage)
	}
	if m.BlockSize != 16 || m.NumGPUBlocks != 1000 || !m.HasLoRA || m.MaxLoRA != 3 {
		t.Fatalf("metrics %+v", m)
	}
	cancel()
	wg.Wait()
}

func TestKVCacheLimitsAdmission(t *testing.T) {
	// 100 blocks; each request needs 63: only one runs although max_num_seqs allows 4.
	s := newServer(t, Config{MaxNumSeqs: 4, DecodePerToken: 5 * time.Millisecond, NumGPUBlocks: 100})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.Addr()+"/v1/completions",
				strings.NewReader(`{"model":"sim-model","prompt":"x","max_tokens":1000,"stream":true}`))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(3 * time.Second)
	for s.Stats().Waiting < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	st := s.Stats()
	if st.Running != 1 || st.Waiting != 1 || st.KVUsage != 0.63 {
		t.Fatalf("stats %+v, want 1 running, 1 waiting for KV, usage 0.63", st)
	}
	if resp, _ := post(t, s, "/v1/completions", `{"model":"sim-model","prompt":"x","max_tokens":2000}`); resp.StatusCode != 400 {
		t.Fatalf("request larger than the cache: %d", resp.StatusCode)
	}
}

func TestPrefixCacheCutsPrefill(t *testing.T) {
	// 2,000 prompt tokens at 1ms each: a miss takes ~2s of prefill, a hit on 1,984 cached tokens ~16ms.
	s := newServer(t, Config{PrefillPerToken: time.Millisecond, PrefillBase: time.Microsecond, DecodePerToken: time.Microsecond, Speed: 4})
	prompt := strings.Repeat("abcd", 2000)
	body := `{"model":"sim-model","prompt":"` + prompt + `","max_tokens":1}`
	start := time.Now()
	_, b := post(t, s, "/v1/completions", body)
	miss := time.Since(start)
	start = time.Now()
	_, b2 := post(t, s, "/v1/completions", body)
	hit := time.Since(start)
	if miss < 400*time.Millisecond || hit > miss/5 {
		t.Fatalf("miss %v (want >= 500ms at speed 4), hit %v", miss, hit)
	}
	if !strings.Contains(b, `"cached_tokens":0`) || !strings.Contains(b2, `"cached_tokens":2000`) {
		t.Fatalf("usage: %s / %s", b, b2)
	}
	if st := s.Stats(); st.CachedTokens != 2000 || st.PromptTokens != 4000 {
		t.Fatalf("stats %+v", st)
	}
}

func TestKVEvictionIsLRU(t *testing.T) {
	c := newKVCache(10)
	a := []uint64{1, 2, 3, 4}
	b := []uint64{5, 6, 7, 8}
	blocks, _ := c.allocate(a, 4)
	c.release(blocks)
	blocks, _ = c.allocate(b, 4)
	c.release(blocks)
	if c.lookup(a) != 4 || c.lookup(b) != 4 || c.usage() != 0 {
		t.Fatalf("resident a=%d b=%d usage %v", c.lookup(a), c.lookup(b), c.usage())
	}
	// 6 new blocks need 4 evictions: the tails of a (least recently used) go first: 4,3,2,1.
	if !c.fits([]uint64{9}, 6) {
		t.Fatal("evictable blocks not counted as free")
	}
	blocks, hit := c.allocate([]uint64{9, 10, 11, 12, 13, 14}, 6)
	if hit != 0 || c.lookup(a) != 0 || c.lookup(b) != 4 || c.usage() != 0.6 {
		t.Fatalf("hit %d a=%d b=%d usage %v", hit, c.lookup(a), c.lookup(b), c.usage())
	}
	c.release(blocks)
}

func TestSlowStartKillRestart(t *testing.T) {
	s := newServer(t, Config{StartupDelay: 200 * time.Millisecond})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("during startup: %d", rec.Code)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rec.Code != 200 {
		t.Fatalf("after startup: %d", rec.Code)
	}
	s.Kill()
	if _, err := http.Get("http://" + s.Addr() + "/metrics"); err == nil {
		t.Fatal("killed server still answers")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("restart must go through startup again: %d", resp.StatusCode)
	}
}

func TestLoRAMaxLoaded(t *testing.T) {
	s := newServer(t, Config{MaxNumSeqs: 8, MaxLoRAs: 1, LoRAs: []string{"a", "b"}, DecodePerToken: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, m := range []string{"a", "b"} {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.Addr()+"/v1/completions",
				strings.NewReader(`{"model":"`+m+`","prompt":"x","max_tokens":500,"stream":true}`))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		deadline := time.Now().Add(2 * time.Second)
		for s.Stats().Running+s.Stats().Waiting < 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Stats().Waiting < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	m := scrape(t, s)
	if m.Running != 1 || m.Waiting != 1 || len(m.RunningAdapters) != 1 || len(m.WaitingAdapters) != 1 || m.MaxLoRA != 1 {
		t.Fatalf("metrics %+v, want one adapter running and the other waiting for a slot", m)
	}
}
