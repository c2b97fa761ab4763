package ratelimit

import (
	"sync"
	"time"
)

// bucket is agentgateway's local token bucket: it starts full at capacity, and every whole unit
// since the last refill adds rate tokens, up to capacity. Charges may drive it below zero (debt).
type bucket struct {
	mu     sync.Mutex
	tokens int64
	epoch  int64 // unix nanoseconds of the last refill boundary
}

// params are a bucket's fixed settings.
type params struct {
	rate, capacity int64
	unit           int64 // nanoseconds
}

func newParams(l Limit) params {
	return params{rate: l.Rate(), capacity: l.Capacity(), unit: int64(l.Unit)}
}

func (b *bucket) init(p *params, now int64) {
	b.tokens, b.epoch = p.capacity, now
}

// refill adds rate for every whole unit elapsed; the caller holds mu.
func (b *bucket) refill(p *params, now int64) {
	elapsed := now - b.epoch
	if elapsed < p.unit {
		return
	}
	steps := elapsed / p.unit
	b.epoch += steps * p.unit
	if missing := p.capacity - b.tokens; missing <= 0 || steps >= (missing+p.rate-1)/p.rate {
		b.tokens = max(b.tokens, p.capacity)
		return
	}
	b.tokens += steps * p.rate
}

// take admits cost tokens if available; cost 0 admits while the bucket is above zero.
func (b *bucket) take(p *params, now, cost int64) Decision {
	b.mu.Lock()
	b.refill(p, now)
	var ok bool
	if cost == 0 {
		ok = b.tokens > 0
	} else if ok = b.tokens >= cost; ok {
		b.tokens -= cost
	}
	tokens, epoch := b.tokens, b.epoch
	b.mu.Unlock()

	reset := time.Duration(p.unit - (now - epoch))
	d := Decision{Allowed: ok, Limit: p.capacity, Remaining: max(tokens, 0), ResetAfter: reset}
	if !ok {
		need := max(cost, 1) - tokens
		steps := (need + p.rate - 1) / p.rate
		d.RetryAfter = reset + time.Duration((steps-1)*p.unit)
	}
	return d
}

func (b *bucket) charge(p *params, now, n int64) {
	b.mu.Lock()
	b.refill(p, now)
	b.tokens -= n
	b.mu.Unlock()
}
