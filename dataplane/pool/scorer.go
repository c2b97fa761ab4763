package pool

// Scorers write one score per candidate view into out, each clamped to [0,1].

// queueScores is GIE's queue-scorer: (maxQ − q) / (maxQ − minQ); all equal → 1.
func queueScores(vs []view, out []float64) {
	if len(vs) == 0 {
		return
	}
	lo, hi := vs[0].waiting, vs[0].waiting
	for _, v := range vs[1:] {
		lo, hi = min(lo, v.waiting), max(hi, v.waiting)
	}
	for i, v := range vs {
		if hi == lo {
			out[i] = 1
			continue
		}
		out[i] = clamp01((hi - v.waiting) / (hi - lo))
	}
}

// kvScores is GIE's kv-cache-utilization-scorer: 1 − usage.
func kvScores(vs []view, out []float64) {
	for i, v := range vs {
		out[i] = clamp01(1 - v.kv)
	}
}

// prefixScores is GIE's prefix-cache-scorer: matched blocks / total blocks, 0 without blocks.
// counts is indexed by endpoint slot (prefixIndex.match).
func prefixScores(vs []view, counts []int, total int, out []float64) {
	for i, v := range vs {
		if total == 0 || v.ep.slot >= len(counts) {
			out[i] = 0
			continue
		}
		out[i] = clamp01(float64(counts[v.ep.slot]) / float64(total))
	}
}

// loraScores is GIE's lora-affinity-scorer: 1 running, 0.8 free slot, 0.6 waiting, else 0.
func loraScores(vs []view, adapter string, out []float64) {
	for i, v := range vs {
		out[i] = 0
		if v.s == nil || !v.s.m.HasLoRA {
			continue
		}
		st := v.s.lora[adapter]
		switch {
		case st&loraRunning != 0:
			out[i] = 1
		case len(v.s.m.RunningAdapters)+len(v.s.m.WaitingAdapters) < v.s.m.MaxLoRA:
			out[i] = 0.8
		case st&loraWaiting != 0:
			out[i] = 0.6
		}
	}
}

func clamp01(v float64) float64 {
	switch {
	case v < 0 || v != v:
		return 0
	case v > 1:
		return 1
	}
	return v
}
