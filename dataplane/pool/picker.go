package pool

import "math/rand/v2"

// pickOrder writes into order the indexes of vs best first, at most n of them.

// maxScoreOrder orders by descending score; ties are broken at random by a jitter far below
// any meaningful score difference.
func maxScoreOrder(rng *rand.Rand, scores []float64, n int, order []int) []int {
	order = order[:0]
	for i := range scores {
		scores[i] += rng.Float64() * 1e-9
	}
	for len(order) < n && len(order) < len(scores) {
		best := -1
		for i, s := range scores {
			if s < 0 {
				continue
			}
			if best < 0 || s > scores[best] {
				best = i
			}
		}
		order = append(order, best)
		scores[best] = -1
	}
	return order
}

// randomOrder is n distinct indexes uniformly at random.
func randomOrder(rng *rand.Rand, count, n int, order []int) []int {
	order = order[:0]
	for i := range count {
		order = append(order, i)
	}
	for i := 0; i < n && i < count; i++ {
		j := i + rng.IntN(count-i)
		order[i], order[j] = order[j], order[i]
	}
	return order[:min(n, count)]
}

// roundRobinOrder rotates through the candidates starting at next.
func roundRobinOrder(next uint64, count, n int, order []int) []int {
	order = order[:0]
	for i := 0; i < n && i < count; i++ {
		order = append(order, int((next+uint64(i))%uint64(count)))
	}
	return order
}

// leastInFlightOrder orders by the dataplane's own in-flight requests, random tie-break.
func leastInFlightOrder(rng *rand.Rand, vs []view, n int, scores []float64, order []int) []int {
	scores = scores[:len(vs)]
	for i, v := range vs {
		scores[i] = 1 / (1 + float64(v.inFlight))
	}
	return maxScoreOrder(rng, scores, n, order)
}
