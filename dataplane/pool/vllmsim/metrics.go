package vllmsim

import (
	"fmt"
	"io"
)

// writeMetrics renders the vLLM v1 metric names the endpoint picker reads, in text exposition format.
func writeMetrics(w io.Writer, cfg *Config, sn snapshot) {
	m := cfg.Model
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s{engine=\"0\",model_name=%q} %g\n", name, help, name, name, m, v)
	}
	counter := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s_total{engine=\"0\",model_name=%q} %g\n", name, help, name, name, m, v)
	}
	gauge("vllm:num_requests_running", "Number of requests in model execution batches.", float64(sn.running))
	gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", float64(sn.waiting))
	if cfg.LegacyKVMetric {
		gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.", sn.kvUsage)
	} else {
		gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", sn.kvUsage)
	}
	fmt.Fprintf(w, "# HELP vllm:lora_requests_info Running stats on lora requests.\n# TYPE vllm:lora_requests_info gauge\n"+
		"vllm:lora_requests_info{max_lora=\"%d\",running_lora_adapters=%q,waiting_lora_adapters=%q} %f\n",
		cfg.MaxLoRAs, sn.runningAdapters, sn.waitingAdapters, sn.loraChanged)
	fmt.Fprintf(w, "# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n# TYPE vllm:cache_config_info gauge\n"+
		"vllm:cache_config_info{block_size=\"%d\",cache_dtype=\"auto\",enable_prefix_caching=\"True\",num_gpu_blocks=\"%d\"} 1.0\n",
		cfg.BlockSize, cfg.NumGPUBlocks)
	counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", sn.promptTokens)
	counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", sn.cachedTokens)
	counter("vllm:prompt_tokens", "Number of prefill tokens processed.", sn.promptTokens)
	counter("vllm:generation_tokens", "Number of generation tokens processed.", sn.generated)
	counter("vllm:request_success", "Count of successfully processed requests.", sn.requests)
}
