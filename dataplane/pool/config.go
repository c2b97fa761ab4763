package pool

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// FailureMode is InferencePool spec.endpointPickerRef.failureMode.
type FailureMode string

const (
	// FailClose answers 503 when the picker cannot decide (the API default).
	FailClose FailureMode = "FailClose"
	// FailOpen sends the request to a random reachable endpoint when the picker cannot decide.
	FailOpen FailureMode = "FailOpen"
)

// PickerKind selects how the scored candidates become an ordered endpoint list.
type PickerKind string

const (
	PickerMaxScore      PickerKind = "max-score"       // highest weighted score, random tie-break (GIE default)
	PickerRandom        PickerKind = "random"          // uniform, ignores scores
	PickerRoundRobin    PickerKind = "round-robin"     // rotation over the candidates, ignores scores
	PickerLeastInFlight PickerKind = "least-in-flight" // fewest requests this dataplane has in flight, random tie-break
)

// Weights of the scorers; a zero weight disables the scorer (and the body parsing it needs).
type Weights struct {
	Queue   float64 // min-max normalised waiting queue
	KVCache float64 // 1 - KV-cache usage
	Prefix  float64 // approximate prefix-cache affinity (needs the request body)
	LoRA    float64 // LoRA adapter affinity (needs the model: X-Gateway-Model-Name or the body)
}

// SchedulerConfig is the picking pipeline. Start from DefaultScheduler or ReferenceScheduler;
// a zero SchedulerConfig means DefaultScheduler, and zero durations, thresholds and sizes
// take the defaults documented on each field.
type SchedulerConfig struct {
	Picker  PickerKind
	Weights Weights

	// InFlight blends the dataplane's own in-flight requests and tokens per endpoint into the
	// queue and KV signals at pick time, so bursts between two scrapes spread out.
	InFlight bool
	// ShedWhenAllSaturated sheds sheddable requests (priority < 0) with 429 only when every
	// candidate is over QueueThreshold or KVThreshold (or has metrics older than
	// SaturationStaleness). Without it, GIE's rule applies: shed when the mean saturation
	// max(q/QueueThreshold, kv/KVThreshold) over the candidates is >= 1.
	ShedWhenAllSaturated bool
	// SaturatedLeastLoaded sends non-sheddable requests to the least-loaded endpoints (estimated
	// load within one request of the minimum) when every candidate is saturated, instead of
	// scoring them among all candidates. Off by default: on a shared-prefix workload it throws
	// away prefix affinity exactly when the fleet needs the capacity it saves.
	SaturatedLeastLoaded bool
	// SaturationFilter drops saturated endpoints before scoring while at least one is not
	// (GIE's utilization detector used as a filter). Off by default for the same reason.
	SaturationFilter bool
	// Fallbacks is how many extra endpoints follow the pick, tried in order on connect failure
	// or a 503 from the model server. Default 0 means none; DefaultScheduler uses 2.
	Fallbacks int

	QueueThreshold      float64       // waiting requests counted as saturated; default 5
	KVThreshold         float64       // KV usage counted as saturated; default 0.8
	SaturationStaleness time.Duration // metrics older than this count as saturated; default 200ms

	ScrapeInterval     time.Duration // default 50ms
	ScrapeTimeout      time.Duration // default 1s
	StalenessThreshold time.Duration // metrics older than this drop the endpoint from the candidates; default 2s
	UnhealthyAfter     int           // consecutive failed scrapes that drop an endpoint; default 3

	BlockSizeTokens int  // prefix block size in tokens before autotuning; default 16
	CharsPerToken   int  // default 4
	NoAutoTune      bool // keep BlockSizeTokens and LRUCapacity instead of vllm:cache_config_info
	MaxPrefixBlocks int  // default 256
	LRUCapacity     int  // prefix blocks remembered per endpoint without cache_config_info; default 31250
}

// ReferenceScheduler is GIE v1.5's default profile: no filters, 2·queue + 2·kv-cache + 3·prefix,
// max-score picker with random tie-break, a single endpoint.
func ReferenceScheduler() SchedulerConfig {
	return SchedulerConfig{Picker: PickerMaxScore, Weights: Weights{Queue: 2, KVCache: 2, Prefix: 3}}
}

// DefaultScheduler is the improved profile: the reference weights plus LoRA affinity, in-flight
// accounting at pick time, shedding only when every endpoint is saturated, and two fallbacks.
func DefaultScheduler() SchedulerConfig {
	return SchedulerConfig{
		Picker:               PickerMaxScore,
		Weights:              Weights{Queue: 2, KVCache: 2, Prefix: 3, LoRA: 1},
		InFlight:             true,
		ShedWhenAllSaturated: true,
		Fallbacks:            2,
	}
}

func (s *SchedulerConfig) setDefaults() error {
	if s.Picker == "" && s.Weights == (Weights{}) && !s.InFlight && !s.SaturationFilter && !s.SaturatedLeastLoaded && !s.ShedWhenAllSaturated && s.Fallbacks == 0 {
		d := DefaultScheduler()
		d.QueueThreshold, d.KVThreshold, d.SaturationStaleness = s.QueueThreshold, s.KVThreshold, s.SaturationStaleness
		d.ScrapeInterval, d.ScrapeTimeout, d.StalenessThreshold, d.UnhealthyAfter = s.ScrapeInterval, s.ScrapeTimeout, s.StalenessThreshold, s.UnhealthyAfter
		d.BlockSizeTokens, d.CharsPerToken, d.NoAutoTune, d.MaxPrefixBlocks, d.LRUCapacity = s.BlockSizeTokens, s.CharsPerToken, s.NoAutoTune, s.MaxPrefixBlocks, s.LRUCapacity
		*s = d
	}
	if s.Picker == "" {
		s.Picker = PickerMaxScore
	}
	switch s.Picker {
	case PickerMaxScore, PickerRandom, PickerRoundRobin, PickerLeastInFlight:
	default:
		return fmt.Errorf("scheduler: unknown picker %q", s.Picker)
	}
	w := s.Weights
	if w.Queue < 0 || w.KVCache < 0 || w.Prefix < 0 || w.LoRA < 0 {
		return fmt.Errorf("scheduler: negative weight in %+v", w)
	}
	if s.Fallbacks < 0 {
		return fmt.Errorf("scheduler: fallbacks %d must not be negative", s.Fallbacks)
	}
	def := func(p *float64, d float64) {
		if *p <= 0 {
			*p = d
		}
	}
	def(&s.QueueThreshold, 5)
	def(&s.KVThreshold, 0.8)
	defD := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	defD(&s.SaturationStaleness, 200*time.Millisecond)
	defD(&s.ScrapeInterval, 50*time.Millisecond)
	defD(&s.ScrapeTimeout, time.Second)
	defD(&s.StalenessThreshold, 2*time.Second)
	defI := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	defI(&s.UnhealthyAfter, 3)
	defI(&s.BlockSizeTokens, 16)
	defI(&s.CharsPerToken, 4)
	defI(&s.MaxPrefixBlocks, 256)
	defI(&s.LRUCapacity, 31250)
	return nil
}

// Config is an InferencePool compiled into plain fields, plus the scheduler and the endpoint source.
type Config struct {
	Name        string            // "namespace/name", used in metrics and logs
	Selector    map[string]string // spec.selector.matchLabels (informational: the Source applies it)
	TargetPorts []int             // spec.targetPorts; each port of each address is an endpoint
	FailureMode FailureMode       // spec.endpointPickerRef.failureMode; default FailClose
	Source      Source            // where endpoint addresses come from
	// Tracer, when set, records an endpoint-pick span (pool, picked endpoint) per request.
	Tracer trace.Tracer
	// ResolveInterval re-resolves the Source; default 5s.
	ResolveInterval time.Duration
	Scheduler       SchedulerConfig
	// Objectives maps InferenceObjective names (request header x-gateway-inference-objective)
	// to priorities; priority < 0 is sheddable. Unknown or absent → 0.
	Objectives map[string]int
	// Transport reaches the model servers; default a clone of http.DefaultTransport without
	// compression, behind dataplane/h1.
	Transport http.RoundTripper
	// TLS, when set, makes the model servers https (requests and metric scrapes) with this
	// client configuration, on the default transport; nil is plain HTTP.
	TLS *tls.Config
	// MetricsPath on each endpoint; default /metrics.
	MetricsPath string
	// MaxBodyBytes buffered for scorers that read the body; default 32 MiB.
	MaxBodyBytes int64
	// ExposeServedEndpoint adds X-Gateway-Destination-Endpoint-Served (ip:port) to responses.
	// Off by default: it reveals internal addresses to clients.
	ExposeServedEndpoint bool
}

func (c *Config) setDefaults() error {
	if c.Source == nil {
		return fmt.Errorf("pool %q: no endpoint source", c.Name)
	}
	switch c.FailureMode {
	case "":
		c.FailureMode = FailClose
	case FailOpen, FailClose:
	default:
		return fmt.Errorf("pool %q: failureMode %q is not FailOpen or FailClose", c.Name, c.FailureMode)
	}
	for _, p := range c.TargetPorts {
		if p < 1 || p > 65535 {
			return fmt.Errorf("pool %q: target port %d out of range 1..65535", c.Name, p)
		}
	}
	if c.ResolveInterval <= 0 {
		c.ResolveInterval = 5 * time.Second
	}
	if c.MetricsPath == "" {
		c.MetricsPath = "/metrics"
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if err := c.Scheduler.setDefaults(); err != nil {
		return fmt.Errorf("pool %q: %w", c.Name, err)
	}
	return nil
}
