package pool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

var poolLog = flag.Bool("pool.log", false, "log pool warnings to stderr in tests")

// startFleet starts n simulators on loopback and stops them at cleanup.
func startFleet(t testing.TB, n int, cfg vllmsim.Config) []*vllmsim.Server {
	t.Helper()
	sims := make([]*vllmsim.Server, n)
	for i := range sims {
		c := cfg
		c.Seed = uint64(i + 1)
		s, err := vllmsim.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		sims[i] = s
	}
	return sims
}

func addrs(sims []*vllmsim.Server) StaticSource {
	out := make(StaticSource, len(sims))
	for i, s := range sims {
		out[i] = s.Addr()
	}
	return out
}

// startPool builds and starts a pool, serves it on loopback and waits until want endpoints are candidates.
func startPool(t testing.TB, cfg Config, want int) (*Pool, *httptest.Server) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "default/test"
	}
	cfg.ExposeServedEndpoint = true
	var logger *slog.Logger
	if *poolLog {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := New(cfg, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	waitFor(t, 5*time.Second, fmt.Sprintf("%d candidates", want), func() bool { return p.candidates() == want })
	return p, srv
}

// candidates counts endpoints that may be picked now.
func (p *Pool) candidates() int {
	n := 0
	for _, e := range *p.eps.Load() {
		if e.candidate(time.Now(), &p.cfg.Scheduler) {
			n++
		}
	}
	return n
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not a wait for an event
	}
}

type chatResult struct {
	status  int
	served  string
	body    string
	ttft    time.Duration
	e2e     time.Duration
	outTok  int
	cached  int
	chunks  int
	errType string
}

func chatBody(model, system, user string, maxTokens int, stream bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"model": model, "stream": stream, "max_tokens": maxTokens,
		"stream_options": map[string]any{"include_usage": true},
		"messages":       []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": user}},
	})
	return b
}

// doChat posts a chat completion and reads it to the end, measuring TTFT on the first content chunk.
func doChat(ctx context.Context, client *http.Client, url string, body []byte, hdr map[string]string) (chatResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return chatResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return chatResult{}, err
	}
	defer resp.Body.Close()
	res := chatResult{status: resp.StatusCode, served: resp.Header.Get(HeaderServed)}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		res.body = string(b)
		res.e2e = time.Since(start)
		var e struct {
			Error struct {
				Type        string
				Param, Code *string // OpenAI's: a string or null
			} `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil {
			res.errType = e.Error.Type
		}
		return res, nil
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || line == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
			Usage *struct {
				CompletionTokens    int `json:"completion_tokens"`
				PromptTokensDetails struct {
					CachedTokens int `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			return res, fmt.Errorf("bad chunk %q: %w", line, err)
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
			if res.chunks == 0 {
				res.ttft = time.Since(start)
			}
			res.chunks++
		}
		if ch.Usage != nil {
			res.outTok = ch.Usage.CompletionTokens
			res.cached = ch.Usage.PromptTokensDetails.CachedTokens
		}
	}
	res.e2e = time.Since(start)
	return res, sc.Err()
}
