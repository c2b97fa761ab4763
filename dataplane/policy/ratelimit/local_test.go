package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func admitted(t *testing.T, l Limiter, key string, n int) int {
	t.Helper()
	ok := 0
	for range n {
		d, err := l.Allow(context.Background(), key, 1)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			ok++
		}
	}
	return ok
}

func TestLocalAgentgatewaySemantics(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
		steps []struct {
			advance time.Duration
			try     int
			want    int
		}
	}{
		{"requests 5/s burst 10 admits 15 then 5 per second", Limit{Requests: 5, Unit: time.Second, Burst: 10},
			[]struct {
				advance time.Duration
				try     int
				want    int
			}{{0, 20, 15}, {999 * time.Millisecond, 5, 0}, {time.Millisecond, 10, 5}, {3 * time.Second, 20, 15}, {10 * time.Second, 100, 15}}},
		{"requests 2/min no burst", Limit{Requests: 2, Unit: time.Minute},
			[]struct {
				advance time.Duration
				try     int
				want    int
			}{{0, 5, 2}, {30 * time.Second, 5, 0}, {30 * time.Second, 5, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			l, err := NewLocal(tc.limit, WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				clk.Add(s.advance)
				if got := admitted(t, l, "", s.try); got != s.want {
					t.Fatalf("step %d: admitted %d of %d, want %d", i, got, s.try, s.want)
				}
			}
		})
	}
}

func TestLocalDecisionFields(t *testing.T) {
	clk := newClock()
	l, _ := NewLocal(Limit{Requests: 2, Unit: time.Minute, Burst: 1}, WithClock(clk.Now))
	ctx := context.Background()
	d, _ := l.Allow(ctx, "", 1)
	if !d.Allowed || d.Limit != 3 || d.Remaining != 2 || d.ResetAfter != time.Minute {
		t.Fatalf("first: %+v", d)
	}
	l.Allow(ctx, "", 1)
	l.Allow(ctx, "", 1)
	clk.Add(20 * time.Second)
	d, _ = l.Allow(ctx, "", 1)
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != 40*time.Second || d.ResetAfter != 40*time.Second {
		t.Fatalf("denied: %+v", d)
	}
}

func TestLocalTokensDebt(t *testing.T) {
	clk := newClock()
	l, _ := NewLocal(Limit{Tokens: 100, Unit: time.Minute}, WithClock(clk.Now))
	ctx := context.Background()
	if d, _ := l.Allow(ctx, "", 0); !d.Allowed {
		t.Fatal("full token bucket refused")
	}
	_ = l.Charge(ctx, "", 250) // one big response: 150 in debt
	d, _ := l.Allow(ctx, "", 0)
	if d.Allowed || d.Remaining != 0 {
		t.Fatalf("in debt but admitted: %+v", d)
	}
	// 150 debt + 1 needed = 151 tokens = 2 refills of 100: the first at +60s, the second at +120s.
	if d.RetryAfter != 2*time.Minute {
		t.Fatalf("retry after %v, want 2m", d.RetryAfter)
	}
	clk.Add(time.Minute)
	if d, _ := l.Allow(ctx, "", 0); d.Allowed {
		t.Fatalf("still in debt (-50) but admitted: %+v", d)
	}
	clk.Add(time.Minute)
	if d, _ := l.Allow(ctx, "", 0); !d.Allowed || d.Remaining != 50 {
		t.Fatalf("out of debt: %+v", d)
	}
}

func TestLimitValidate(t *testing.T) {
	bad := []Limit{{}, {Requests: 1, Tokens: 1, Unit: time.Second}, {Requests: 1}, {Requests: 1, Unit: time.Second, Burst: -1}}
	for _, l := range bad {
		if _, err := NewLocal(l); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}
	for in, want := range map[string]time.Duration{"Seconds": time.Second, "Minutes": time.Minute, "Hours": time.Hour} {
		if got, err := UnitFromCRD(in); err != nil || got != want {
			t.Errorf("UnitFromCRD(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := UnitFromCRD("second"); err == nil {
		t.Error("lower-case singular unit accepted")
	}
}

func TestKeyedIndependentAndBounded(t *testing.T) {
	clk := newClock()
	k, _ := NewKeyed(Limit{Requests: 3, Unit: time.Minute}, 64, WithClock(clk.Now))
	if got := admitted(t, k, "alice", 5); got != 3 {
		t.Fatalf("alice admitted %d, want 3", got)
	}
	if got := admitted(t, k, "bob", 5); got != 3 {
		t.Fatalf("bob admitted %d, want 3 (independent of alice)", got)
	}
	for i := range 10000 {
		_, _ = k.Allow(context.Background(), string(rune('a'+i%26))+string(rune(i)), 1)
	}
	if n := k.Len(); n > 64 {
		t.Fatalf("keyed limiter holds %d keys, cap 64", n)
	}
}

func TestFallbackLimit(t *testing.T) {
	got := FallbackLimit(Limit{Requests: 10, Unit: time.Second, Burst: 5}, 3)
	if got.Requests != 4 || got.Burst != 2 {
		t.Fatalf("%+v", got)
	}
}

func TestLocalConcurrentExact(t *testing.T) {
	l, _ := NewLocal(Limit{Requests: 100, Unit: time.Hour, Burst: 50})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Go(func() {
			n := 0
			for range 100 {
				if d, _ := l.Allow(context.Background(), "", 1); d.Allowed {
					n++
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 150 {
		t.Fatalf("800 concurrent requests admitted %d, want capacity 150", total)
	}
}
