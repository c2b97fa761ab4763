package pool

// saturationFilter keeps the endpoints under the queue and KV thresholds. When none is under,
// it reports saturated and keeps, with leastLoaded, the least-loaded ones (estimated load
// within one request of the minimum), else all of them. Without filter, endpoints are only
// dropped in the all-saturated case.
func saturationFilter(vs []view, filter, leastLoaded bool) (kept []view, saturated bool) {
	under := 0
	for i := range vs {
		if vs[i].saturated < 1 {
			under++
		}
	}
	if under > 0 {
		if !filter {
			return vs, false
		}
		kept = vs[:0] // in place: vs is the caller's scratch
		for _, v := range vs {
			if v.saturated < 1 {
				kept = append(kept, v)
			}
		}
		return kept, false
	}
	if !leastLoaded {
		return vs, true
	}
	return leastLoadedBand(vs), true
}

// leastLoadedBand keeps the views whose estimated load is within one request of the minimum.
func leastLoadedBand(vs []view) []view {
	if len(vs) == 0 {
		return vs
	}
	lo := vs[0].load
	for _, v := range vs[1:] {
		lo = min(lo, v.load)
	}
	kept := vs[:0] // in place
	for _, v := range vs {
		if v.load <= lo+1 {
			kept = append(kept, v)
		}
	}
	return kept
}

// meanSaturation is GIE's utilization detector: mean over endpoints of
// max(q/QueueThreshold, kv/KVThreshold), stale = 1; an empty pool is saturated.
func meanSaturation(vs []view) float64 {
	if len(vs) == 0 {
		return 1
	}
	var sum float64
	for _, v := range vs {
		sum += v.saturated
	}
	return sum / float64(len(vs))
}
