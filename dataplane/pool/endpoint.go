package pool

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
)

// sample is one successful scrape together with the dataplane's own counters at that moment,
// so in-flight changes since the scrape can be added to what the server reported.
type sample struct {
	m          metricsparse.Metrics
	at         time.Time
	inFlightAt int64
	tokensAt   int64
	lora       map[string]loraState
}

type loraState uint8

const (
	loraRunning loraState = 1 << iota
	loraWaiting
)

// endpoint is one model-server address of the pool and everything known about it.
type endpoint struct {
	addr string
	slot int // index in the prefix index, stable while the endpoint is in the pool

	last        atomic.Pointer[sample]
	fails       atomic.Int32 // consecutive failed scrapes
	unreachable atomic.Bool  // last connection attempt (scrape or proxy) could not connect
	inFlight    atomic.Int64 // requests this dataplane has sent and not finished
	tokens      atomic.Int64 // estimated prompt+output tokens of those requests
	learnedCap  atomic.Int64 // running sequences observed while requests waited (max-num-seqs)

	ctx      context.Context // ends when the endpoint leaves the pool
	stop     func()
	scraping sync.Mutex  // held by its scrape under way
	gone     bool        // left the pool: no scrape starts (guarded by scraping)
	conn     *scrapeConn // kept for its scrapes when they are batched (guarded by scraping)
}

func newLoRAState(m *metricsparse.Metrics) map[string]loraState {
	if !m.HasLoRA {
		return nil
	}
	s := make(map[string]loraState, len(m.RunningAdapters)+len(m.WaitingAdapters))
	for _, a := range m.RunningAdapters {
		s[a] |= loraRunning
	}
	for _, a := range m.WaitingAdapters {
		s[a] |= loraWaiting
	}
	return s
}

// record stores a successful scrape.
func (e *endpoint) record(m metricsparse.Metrics, now time.Time) {
	e.last.Store(&sample{
		m: m, at: now, inFlightAt: e.inFlight.Load(), tokensAt: e.tokens.Load(), lora: newLoRAState(&m),
	})
	e.fails.Store(0)
	e.unreachable.Store(false)
	if m.Waiting > 0 && int64(m.Running) > e.learnedCap.Load() {
		e.learnedCap.Store(int64(m.Running))
	}
}

// view is an endpoint's state frozen for one decision.
type view struct {
	ep        *endpoint
	s         *sample
	age       time.Duration
	inFlight  int64
	waiting   float64 // scraped, or estimated with in-flight accounting
	kv        float64
	load      float64 // waiting + running estimate
	saturated float64 // max(waiting/QueueThreshold, kv/KVThreshold), 1 when stale
}

// candidate reports whether the endpoint may be scored: reachable, scraping, fresh metrics.
func (e *endpoint) candidate(now time.Time, sc *SchedulerConfig) bool {
	if e.unreachable.Load() || int(e.fails.Load()) >= sc.UnhealthyAfter {
		return false
	}
	s := e.last.Load()
	return s != nil && now.Sub(s.at) <= sc.StalenessThreshold
}

// makeView computes the load signals the filters and scorers read.
func (e *endpoint) makeView(now time.Time, sc *SchedulerConfig) view {
	v := view{ep: e, s: e.last.Load(), inFlight: e.inFlight.Load()}
	if v.s == nil {
		v.saturated = 1
		v.load = float64(v.inFlight)
		v.waiting = 0
		return v
	}
	v.age = now.Sub(v.s.at)
	m := &v.s.m
	v.waiting, v.kv, v.load = m.Waiting, m.KVUsage, m.Waiting+m.Running
	if sc.InFlight {
		delta := float64(v.inFlight - v.s.inFlightAt)
		v.load = max(v.load+delta, float64(v.inFlight))
		capacity := float64(e.learnedCap.Load())
		if capacity == 0 {
			capacity = m.Running
		}
		v.waiting = max(v.load-capacity, m.Waiting+min(delta, 0), 0)
		if m.NumGPUBlocks > 0 && m.BlockSize > 0 {
			dt := float64(e.tokens.Load() - v.s.tokensAt)
			v.kv = min(max(v.kv+dt/float64(m.NumGPUBlocks*m.BlockSize), 0), 1)
		}
	}
	v.saturated = max(v.waiting/sc.QueueThreshold, v.kv/sc.KVThreshold)
	if v.age > sc.SaturationStaleness {
		v.saturated = max(v.saturated, 1)
	}
	return v
}
