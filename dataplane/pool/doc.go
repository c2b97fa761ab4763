// Package pool serves an InferencePool: it discovers the pool's model-server endpoints,
// scrapes their vLLM metrics, picks an endpoint per request with a pipeline of filters,
// weighted scorers and a picker (GIE's endpoint picker, in-process), and reverse-proxies the
// request to it.
package pool

// How the pool picks
//
// Two scheduler profiles are provided. ReferenceScheduler is GIE v1.5's default
// (2·queue + 2·kv-cache + 3·prefix, max-score picker, random tie-break, one endpoint, GIE's
// mean-saturation shedding). DefaultScheduler adds, beyond parity: the dataplane's own
// in-flight requests and tokens blended into the queue and KV signals in the same critical
// section as the pick (no burst hot-spotting between scrapes), LoRA affinity, an ordered list
// of two fallbacks walked on connect failure, reset or 503, shedding only when every endpoint
// is saturated, and FailOpen honoured. The body is buffered only when a configured scorer
// reads it (prefix, or LoRA without X-Gateway-Model-Name).
//
// The prefix index is GIE's approximate prefix cache (chained XXH64 over 64-byte blocks,
// autotuned from vllm:cache_config_info, one LRU per endpoint sized from num_gpu_blocks,
// learning only from its own picks), per dataplane replica.
//
// Metrics (const label pool): gwctl_pool_pick_duration_seconds, gwctl_pool_requests_total{outcome},
// gwctl_pool_fallbacks_total, gwctl_pool_scrape_errors_total{endpoint},
// gwctl_pool_prefix_match_ratio, and per endpoint gwctl_pool_endpoint_{waiting,running,
// kv_cache_usage,in_flight,metrics_age_seconds,candidate}.
//
// Pick and Forward split the picker from the proxy for endpoint pickers outside the data path
// (dataplane/epp): Pick decides for a request another proxy forwards, Forward proxies along a
// decision made elsewhere (counted as outcome "forwarded").
//
// BodyRouting is the body-based-routing middleware that runs before route matching.
