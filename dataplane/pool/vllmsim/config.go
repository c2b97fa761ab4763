// Package vllmsim is a deterministic, time-scalable simulator of a vLLM OpenAI server:
// chat and text completions (streaming with usage), /v1/models, vLLM's Prometheus
// metrics, continuous batching with a bounded number of running sequences, a paged KV
// cache with block-level prefix reuse, LoRA adapters and fault injection. It is a library:
// tests, benchmarks and demos create a Server and serve it on loopback.
package vllmsim

import (
	"fmt"
	"time"
)

// Config describes one simulated vLLM instance. Durations are simulated time; Speed divides them
// into wall-clock time (Speed 10 runs ten times faster than the modelled server).
type Config struct {
	Model        string   // served base model name; default "sim-model"
	LoRAs        []string // adapters that may be requested as "model"
	MaxLoRAs     int      // adapters loaded at once (vLLM --max-loras); default 4
	MaxNumSeqs   int      // running sequences (vLLM --max-num-seqs); default 8
	BlockSize    int      // tokens per KV block; default 16
	NumGPUBlocks int      // KV capacity in blocks; default 4096
	CharsPerTok  int      // prompt characters per token; default 4

	PrefillBase     time.Duration // fixed cost before the first token; default 5ms
	PrefillPerToken time.Duration // per uncached prompt token; default 100µs
	DecodePerToken  time.Duration // per output token; default 10ms
	LoRALoad        time.Duration // loading an adapter that is not running; default 20ms
	// PrefillLanes is how many prefills run at once (default 1): prefill is compute-bound, so
	// admitted sequences take turns, while decoding sequences proceed in parallel.
	PrefillLanes int

	DefaultMaxTokens  int     // when the request sets no max_tokens; default 16
	StreamChunkTokens int     // tokens per streamed chunk after the first; default 1
	Speed             float64 // time scale; default 1
	Seed              uint64  // makes generated text and injected errors reproducible

	StartupDelay   time.Duration // simulated model load: 503 on every path until it has passed
	LegacyKVMetric bool          // export vllm:gpu_cache_usage_perc instead of vllm:kv_cache_usage_perc
}

func (c *Config) setDefaults() error {
	if c.Model == "" {
		c.Model = "sim-model"
	}
	setInt := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	setInt(&c.MaxLoRAs, 4)
	setInt(&c.MaxNumSeqs, 8)
	setInt(&c.BlockSize, 16)
	setInt(&c.NumGPUBlocks, 4096)
	setInt(&c.CharsPerTok, 4)
	setInt(&c.DefaultMaxTokens, 16)
	setInt(&c.StreamChunkTokens, 1)
	setInt(&c.PrefillLanes, 1)
	setDur := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	setDur(&c.PrefillBase, 5*time.Millisecond)
	setDur(&c.PrefillPerToken, 100*time.Microsecond)
	setDur(&c.DecodePerToken, 10*time.Millisecond)
	setDur(&c.LoRALoad, 20*time.Millisecond)
	if c.Speed == 0 {
		c.Speed = 1
	}
	switch {
	case c.MaxLoRAs < 0, c.MaxNumSeqs < 0, c.BlockSize < 0, c.NumGPUBlocks < 0, c.CharsPerTok < 0,
		c.DefaultMaxTokens < 0, c.StreamChunkTokens < 0, c.PrefillLanes < 0:
		return fmt.Errorf("vllmsim config: negative size")
	case c.Speed < 0:
		return fmt.Errorf("vllmsim config: speed %v must be positive", c.Speed)
	case c.PrefillBase < 0, c.PrefillPerToken < 0, c.DecodePerToken < 0, c.LoRALoad < 0, c.StartupDelay < 0:
		return fmt.Errorf("vllmsim config: negative duration")
	}
	return nil
}

// wall converts simulated time into wall-clock time.
func (c *Config) wall(d time.Duration) time.Duration { return time.Duration(float64(d) / c.Speed) }

// Faults are injected failures; change them at any time with Server.SetFaults.
type Faults struct {
	ErrorRate    float64 // fraction of completion requests answered 500 (seeded)
	MetricsError bool    // /metrics answers 500
	MetricsStall bool    // /metrics hangs until the client gives up (stale metrics)
}
