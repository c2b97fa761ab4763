// Package pooltest is the picking benchmark's workload and load driver, shared by the pool's
// quality comparison and the endpoint-picker comparison: a shared_prefix chat workload, an
// OpenAI chat client that measures time to first token, and an open-loop Poisson driver.
package pooltest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// Workload and fleet: the high-cache shared_prefix shape (150 groups x 5 prompts, long shared
// system prompt), scaled down so a run takes minutes on loopback.
const (
	Endpoints   = 8
	Groups      = 150
	PerGroup    = 5
	SystemToks  = 2000
	QuestToks   = 400
	OutputToks  = 64
	MaxNumSeqs  = 4
	GPUBlocks   = 3500
	BlockTokens = 16
)

// HeaderServed is the pool's served-endpoint response header (pool.HeaderServed).
const HeaderServed = "X-Gateway-Destination-Endpoint-Served"

// Sim is the simulated model server of the fleet.
func Sim() vllmsim.Config {
	return vllmsim.Config{
		MaxNumSeqs: MaxNumSeqs, NumGPUBlocks: GPUBlocks, BlockSize: BlockTokens,
		PrefillBase: 5 * time.Millisecond, PrefillPerToken: 100 * time.Microsecond,
		DecodePerToken: 8 * time.Millisecond, StreamChunkTokens: 8, Speed: 1,
	}
}

// Capacity is the request rate the fleet sustains on this workload with ideal routing: each
// group's first prompt misses the prefix cache, the other four hit the system prompt. Per
// endpoint the bound is min(prefill lane, running slots). oblivious is a cache-oblivious fleet's.
func Capacity(c vllmsim.Config) (ideal, oblivious float64) {
	prefill := func(uncached int) float64 {
		return (c.PrefillBase + time.Duration(uncached)*c.PrefillPerToken).Seconds()
	}
	decode := (time.Duration(OutputToks-1) * c.DecodePerToken).Seconds()
	miss := prefill(SystemToks + QuestToks)
	hit := prefill(QuestToks)
	meanPrefill := (miss + float64(PerGroup-1)*hit) / PerGroup
	ideal = Endpoints * math.Min(1/meanPrefill, MaxNumSeqs/(meanPrefill+decode))
	oblivious = Endpoints * math.Min(1/miss, MaxNumSeqs/(miss+decode))
	return ideal, oblivious
}

// ChatBody is a streaming chat completion with a system and a user message.
func ChatBody(model, system, user string, maxTokens int, stream bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"model": model, "stream": stream, "max_tokens": maxTokens,
		"stream_options": map[string]any{"include_usage": true},
		"messages":       []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": user}},
	})
	return b
}

// SharedPrefixWorkload builds Groups x PerGroup chat bodies in a seeded random order.
func SharedPrefixWorkload(seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	text := func(tokens int) string {
		var b strings.Builder
		for b.Len() < tokens*4 {
			fmt.Fprintf(&b, "%08x ", rng.Uint32())
		}
		return b.String()[:tokens*4]
	}
	var out [][]byte
	for range Groups {
		system := text(SystemToks)
		for range PerGroup {
			out = append(out, ChatBody("sim-model", system, text(QuestToks), OutputToks, true))
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// ChatResult is one chat completion as the client saw it.
type ChatResult struct {
	Status  int
	Served  string // HeaderServed
	Body    string // the body of a non-streamed or failed answer
	TTFT    time.Duration
	E2E     time.Duration
	OutTok  int
	Cached  int
	Chunks  int
	ErrType string
}

// DoChat posts a chat completion to url and reads it to the end, measuring TTFT on the first
// content chunk.
func DoChat(ctx context.Context, client *http.Client, url string, body []byte, hdr map[string]string) (ChatResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return ChatResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return ChatResult{}, err
	}
	defer resp.Body.Close()
	res := ChatResult{Status: resp.StatusCode, Served: resp.Header.Get(HeaderServed)}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		res.Body = string(b)
		res.E2E = time.Since(start)
		var e struct {
			Error struct {
				Type        string
				Param, Code *string // OpenAI's: a string or null
			} `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil {
			res.ErrType = e.Error.Type
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
			if res.Chunks == 0 {
				res.TTFT = time.Since(start)
			}
			res.Chunks++
		}
		if ch.Usage != nil {
			res.OutTok = ch.Usage.CompletionTokens
			res.Cached = ch.Usage.PromptTokensDetails.CachedTokens
		}
	}
	res.E2E = time.Since(start)
	return res, sc.Err()
}

// OpenLoop sends prompts to url at Poisson arrivals of rate per second (seeded), each on its
// own goroutine, and returns the results in prompt order and the run's wall time.
func OpenLoop(url string, prompts [][]byte, rate float64, seed uint64) ([]ChatResult, time.Duration) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxConnsPerHost: 0}}
	defer client.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(7, seed))
	results := make([]ChatResult, len(prompts))
	var wg sync.WaitGroup
	start := time.Now()
	next := start
	for i, body := range prompts {
		if d := time.Until(next); d > 0 {
			time.Sleep(d) // open-loop Poisson arrival schedule
		}
		wg.Go(func() {
			res, err := DoChat(context.Background(), client, url, body, nil)
			if err != nil {
				res.Status, res.Body = -1, err.Error()
			}
			results[i] = res
		})
		next = next.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
	}
	wg.Wait()
	return results, time.Since(start)
}

// Percentile is the q-quantile of ds (nearest rank); 0 for none.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]
}
