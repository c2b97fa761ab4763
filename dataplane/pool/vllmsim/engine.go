package vllmsim

import (
	"context"
	"encoding/binary"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// seq is one request inside the engine.
type seq struct {
	adapter      string // "" for the base model
	hashes       []uint64
	promptTokens int
	maxTokens    int
	needBlocks   int

	admitted     chan struct{}
	blocks       []*kvBlock
	cachedTokens int
	loadAdapter  bool
}

// engine models vLLM's scheduler: FCFS admission bounded by MaxNumSeqs, KV blocks and LoRA slots.
type engine struct {
	cfg *Config

	mu             sync.Mutex
	running        int
	runningAdapter map[string]int
	waiting        []*seq
	kv             *kvCache
	laneFree       []time.Time // when each prefill lane is next free (wall clock)
	loraChanged    float64     // unix seconds, value of vllm:lora_requests_info

	promptTokens, cachedTokens, generated, requests float64
}

var errTooLong = errors.New("prompt and max_tokens exceed the KV cache capacity")

func newEngine(cfg *Config) *engine {
	return &engine{
		cfg:            cfg,
		laneFree:       make([]time.Time, cfg.PrefillLanes),
		runningAdapter: make(map[string]int),
		kv:             newKVCache(cfg.NumGPUBlocks),
		loraChanged:    float64(time.Now().UnixNano()) / 1e9,
	}
}

// hashPrompt cuts the prompt into full blocks of BlockSize tokens and chains their hashes,
// seeded with the model so different models never share blocks.
func hashPrompt(model, prompt string, blockChars int) []uint64 {
	n := len(prompt) / blockChars
	hashes := make([]uint64, n)
	prev := xxhash.Sum64String(model)
	var buf [8]byte
	d := xxhash.New()
	for i := range n {
		d.Reset()
		_, _ = d.WriteString(prompt[i*blockChars : (i+1)*blockChars])
		binary.LittleEndian.PutUint64(buf[:], prev)
		_, _ = d.Write(buf[:])
		prev = d.Sum64()
		hashes[i] = prev
	}
	return hashes
}

func (e *engine) newSeq(model, adapter, prompt string, maxTokens int) (*seq, error) {
	blockChars := e.cfg.BlockSize * e.cfg.CharsPerTok
	tokens := (len(prompt) + e.cfg.CharsPerTok - 1) / e.cfg.CharsPerTok
	if tokens == 0 {
		tokens = 1
	}
	s := &seq{
		adapter:      adapter,
		hashes:       hashPrompt(model, prompt, blockChars),
		promptTokens: tokens,
		maxTokens:    maxTokens,
		needBlocks:   (tokens + maxTokens + e.cfg.BlockSize - 1) / e.cfg.BlockSize,
		admitted:     make(chan struct{}),
	}
	if s.needBlocks > e.cfg.NumGPUBlocks {
		return nil, errTooLong
	}
	return s, nil
}

// enqueue adds s to the waiting queue and admits what fits.
func (e *engine) enqueue(s *seq) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests++
	e.waiting = append(e.waiting, s)
	if s.adapter != "" {
		e.loraChanged = nowSeconds()
	}
	e.admitLocked()
}

// abandon removes a sequence that gave up while waiting; it reports false when it was admitted meanwhile.
func (e *engine) abandon(s *seq) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, w := range e.waiting {
		if w == s {
			e.waiting = append(e.waiting[:i], e.waiting[i+1:]...)
			return true
		}
	}
	return false
}

func (e *engine) admitLocked() {
	for i := 0; i < len(e.waiting) && e.running < e.cfg.MaxNumSeqs; {
		s := e.waiting[i]
		if s.adapter != "" && e.runningAdapter[s.adapter] == 0 && len(e.runningAdapter) >= e.cfg.MaxLoRAs {
			i++ // vLLM skips requests whose adapter cannot be loaded yet
			continue
		}
		if !e.kv.fits(s.hashes, s.needBlocks) {
			break // FCFS: a request that does not fit blocks the ones behind it
		}
		e.waiting = append(e.waiting[:i], e.waiting[i+1:]...)
		var hit int
		s.blocks, hit = e.kv.allocate(s.hashes, s.needBlocks)
		s.cachedTokens = min(hit*e.cfg.BlockSize, s.promptTokens)
		e.promptTokens += float64(s.promptTokens)
		e.cachedTokens += float64(s.cachedTokens)
		e.running++
		if s.adapter != "" {
			s.loadAdapter = e.runningAdapter[s.adapter] == 0
			e.runningAdapter[s.adapter]++
			e.loraChanged = nowSeconds()
		}
		close(s.admitted)
	}
}

func (e *engine) finish(s *seq, generated int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kv.release(s.blocks)
	s.blocks = nil
	e.running--
	e.generated += float64(generated)
	if s.adapter != "" {
		if e.runningAdapter[s.adapter]--; e.runningAdapter[s.adapter] == 0 {
			delete(e.runningAdapter, s.adapter)
		}
		e.loraChanged = nowSeconds()
	}
	e.admitLocked()
}

// prefillTime is the simulated time from admission to the first token.
func (e *engine) prefillTime(s *seq) time.Duration {
	d := e.cfg.PrefillBase + time.Duration(s.promptTokens-s.cachedTokens)*e.cfg.PrefillPerToken
	if s.loadAdapter {
		d += e.cfg.LoRALoad
	}
	return d
}

// run takes s through queueing, prefill and decode, calling emit with the number of new tokens
// (first=true for the first token). It stops early when ctx ends or emit fails.
func (e *engine) run(ctx context.Context, s *seq, emit func(n int, first bool) error) (generated int, err error) {
	e.enqueue(s)
	select {
	case <-s.admitted:
	case <-ctx.Done():
		if e.abandon(s) {
			return 0, ctx.Err()
		}
		<-s.admitted
	}
	defer func() { e.finish(s, generated) }()
	// Deadlines are scheduled on the wall clock from the previous deadline, not from when this
	// goroutine woke up, so scheduling jitter on a busy machine does not slow the simulated server.
	next := e.reservePrefill(e.cfg.wall(e.prefillTime(s)))
	if err := sleepUntil(ctx, next); err != nil {
		return 0, err
	}
	if err := emit(1, true); err != nil {
		return 1, err
	}
	generated = 1
	for generated < s.maxTokens {
		n := min(e.cfg.StreamChunkTokens, s.maxTokens-generated)
		next = next.Add(e.cfg.wall(time.Duration(n) * e.cfg.DecodePerToken))
		if err := sleepUntil(ctx, next); err != nil {
			return generated, err
		}
		if err := emit(n, false); err != nil {
			return generated + n, err
		}
		generated += n
	}
	return generated, nil
}

// reservePrefill books the earliest free prefill lane for d and returns when the prefill ends.
func (e *engine) reservePrefill(d time.Duration) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	best := 0
	for i, t := range e.laneFree {
		if t.Before(e.laneFree[best]) {
			best = i
		}
	}
	start := e.laneFree[best]
	if start.Before(now) {
		start = now
	}
	end := start.Add(d)
	e.laneFree[best] = end
	return end
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// snapshot is the engine state the metrics endpoint exports.
type snapshot struct {
	waiting, running                                int
	kvUsage                                         float64
	runningAdapters, waitingAdapters                string
	loraChanged                                     float64
	promptTokens, cachedTokens, generated, requests float64
}

func (e *engine) snapshot() snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	running := make([]string, 0, len(e.runningAdapter))
	for a := range e.runningAdapter {
		running = append(running, a)
	}
	sort.Strings(running)
	seen := map[string]bool{}
	var waiting []string
	for _, s := range e.waiting {
		if s.adapter != "" && !seen[s.adapter] {
			seen[s.adapter] = true
			waiting = append(waiting, s.adapter)
		}
	}
	return snapshot{
		waiting: len(e.waiting), running: e.running, kvUsage: e.kv.usage(),
		runningAdapters: strings.Join(running, ","), waitingAdapters: strings.Join(waiting, ","),
		loraChanged: e.loraChanged, promptTokens: e.promptTokens, cachedTokens: e.cachedTokens,
		generated: e.generated, requests: e.requests,
	}
}

func nowSeconds() float64 { return float64(time.Now().UnixNano()) / 1e9 }
