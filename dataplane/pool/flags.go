package pool

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseWeights reads scorer weights written as "queue=2,kv=2,prefix=3,lora=1"; scorers not
// named get weight 0 (off).
func ParseWeights(s string) (Weights, error) {
	var w Weights
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || f < 0 {
			return Weights{}, fmt.Errorf("weight %q: want name=number (queue, kv, prefix, lora), number >= 0", part)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "queue":
			w.Queue = f
		case "kv", "kvcache", "kv-cache":
			w.KVCache = f
		case "prefix":
			w.Prefix = f
		case "lora":
			w.LoRA = f
		default:
			return Weights{}, fmt.Errorf("weight %q: unknown scorer %q (queue, kv, prefix, lora)", part, k)
		}
	}
	return w, nil
}

// Profile returns a named scheduler profile: "default" (DefaultScheduler) or "reference"
// (ReferenceScheduler, the Inference Extension's 2/2/3).
func Profile(name string) (SchedulerConfig, error) {
	switch name {
	case "", "default":
		return DefaultScheduler(), nil
	case "reference":
		return ReferenceScheduler(), nil
	}
	return SchedulerConfig{}, fmt.Errorf("scheduler profile %q: want default or reference", name)
}
