package failover

import (
	"sync"
	"time"
)

// Budget bounds retries: over a sliding Window, retries may be at most Ratio of requests, but
// MinPerSecond retries per second are always allowed (so a quiet route can still fail over).
type Budget struct {
	Ratio        float64
	MinPerSecond float64
	Window       time.Duration
}

func (b Budget) withDefaults() Budget {
	if b.Ratio <= 0 {
		b.Ratio = 0.2
	}
	if b.MinPerSecond <= 0 {
		b.MinPerSecond = 10
	}
	if b.Window <= 0 {
		b.Window = 10 * time.Second
	}
	return b
}

// budget counts requests and retries in two half-window buckets.
type budget struct {
	cfg  Budget
	now  func() time.Time
	mu   sync.Mutex
	cur  int64 // start of the current bucket, unix nanos
	reqs [2]float64
	rets [2]float64
}

func newBudget(cfg Budget, now func() time.Time) *budget {
	return &budget{cfg: cfg.withDefaults(), now: now}
}

func (b *budget) rotate() {
	half := int64(b.cfg.Window / 2)
	n := b.now().UnixNano()
	switch {
	case n-b.cur >= 2*half:
		b.reqs, b.rets = [2]float64{}, [2]float64{}
		b.cur = n - n%half
	case n-b.cur >= half:
		b.reqs[1], b.rets[1] = b.reqs[0], b.rets[0]
		b.reqs[0], b.rets[0] = 0, 0
		b.cur = n - n%half
	}
}

// request counts one client request.
func (b *budget) request() {
	b.mu.Lock()
	b.rotate()
	b.reqs[0]++
	b.mu.Unlock()
}

// retry reports whether one more retry is within budget, and counts it if so.
func (b *budget) retry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rotate()
	reqs, rets := b.reqs[0]+b.reqs[1], b.rets[0]+b.rets[1]
	allowed := b.cfg.Ratio * reqs
	if floor := b.cfg.MinPerSecond * b.cfg.Window.Seconds(); allowed < floor {
		allowed = floor
	}
	if rets+1 > allowed {
		return false
	}
	b.rets[0]++
	return true
}
