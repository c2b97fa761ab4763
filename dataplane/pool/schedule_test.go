package pool

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
)

// schedPool is a pool with n endpoints holding fresh, identical metrics; no I/O.
func schedPool(t *testing.T, n int, sc SchedulerConfig, fm FailureMode) (*Pool, []*endpoint) {
	t.Helper()
	p, err := New(Config{Name: "sched", Source: StaticSource{}, Scheduler: sc, FailureMode: fm}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	eps := make([]*endpoint, n)
	for i := range eps {
		eps[i] = &endpoint{addr: fmt.Sprintf("10.0.0.%d:8000", i+1), slot: p.index.addSlot(1000)}
		eps[i].record(metricsparse.Metrics{HasWaiting: true, HasKVUsage: true, NumGPUBlocks: 1000, BlockSize: 16}, time.Now())
	}
	p.eps.Store(&eps)
	return p, eps
}

func TestScheduleAffinityAndUncachedTokens(t *testing.T) {
	p, eps := schedPool(t, 4, DefaultScheduler(), FailClose)
	hashes := []uint64{1, 2, 3, 4}
	p.index.learn(eps[2].slot, hashes[:3]) // endpoint 2 holds 3 of the 4 blocks
	d, err := p.schedule(&request{model: "m", hasBody: true, hashes: hashes, tokens: 1000}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if d.order[0] != eps[2] || len(d.order) != 3 || d.matched != 0.75 {
		t.Fatalf("picked %s (matched %v, %d endpoints), want 10.0.0.3 with two fallbacks", d.order[0].addr, d.matched, len(d.order))
	}
	if d.tokens != 250 || eps[2].tokens.Load() != 250 || eps[2].inFlight.Load() != 1 {
		t.Fatalf("charged %d tokens (endpoint %d, in flight %d), want the uncached quarter of 1000", d.tokens, eps[2].tokens.Load(), eps[2].inFlight.Load())
	}
}

func TestScheduleWithoutCandidates(t *testing.T) {
	for _, fm := range []FailureMode{FailOpen, FailClose} {
		p, eps := schedPool(t, 2, DefaultScheduler(), fm)
		for _, e := range eps {
			e.fails.Store(5) // scrapes failing: no candidate
		}
		eps[0].unreachable.Store(true)
		_, err := p.schedule(&request{hasBody: true}, time.Now())
		if err != errUndecided {
			t.Fatalf("%s: err %v, want errUndecided", fm, err)
		}
		d, ok := p.failOpen(&request{})
		if !ok || d.order[0] != eps[1] || !d.failOpen {
			t.Fatalf("%s: fail-open pick %+v %v, want the reachable endpoint", fm, d, ok)
		}
	}
	p, _ := schedPool(t, 0, DefaultScheduler(), FailOpen)
	if _, err := p.schedule(&request{}, time.Now()); err == nil || err.(*apierror.Error).Status != http.StatusServiceUnavailable {
		t.Fatalf("empty pool: %v", err)
	}
}
