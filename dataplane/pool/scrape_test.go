package pool

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// gaps are the distances between consecutive offsets around the interval, smallest first.
func gaps(offsets []time.Duration, interval time.Duration) []time.Duration {
	s := slices.Clone(offsets)
	slices.Sort(s)
	out := make([]time.Duration, len(s))
	for i := range s {
		if i+1 < len(s) {
			out[i] = s[i+1] - s[i]
		} else {
			out[i] = s[0] + interval - s[i]
		}
	}
	slices.Sort(out)
	return out
}

func TestScrapeSchedule(t *testing.T) {
	const interval = 50 * time.Millisecond
	for _, n := range []int{2, 3, 8, 16, 64, 256} {
		for _, phase := range []float64{0, 0.37, 0.999} {
			t.Run(fmt.Sprintf("n=%d,phase=%g", n, phase), func(t *testing.T) {
				offs := make([]time.Duration, n)
				for slot := range offs {
					offs[slot] = scrapeOffset(phase, slot, interval)
					if offs[slot] < 0 || offs[slot] >= interval {
						t.Fatalf("slot %d: offset %v outside [0, %v)", slot, offs[slot], interval)
					}
				}
				g := gaps(offs, interval)
				// Evenly spread would be interval/n apart; all together (the schedule before) 0.
				if lo, hi := g[0], g[len(g)-1]; lo < interval*44/100/time.Duration(n) || hi > interval*19/10/time.Duration(n) {
					t.Fatalf("gaps between %d endpoints' scrapes %v..%v, want within 0.44..1.9 × %v", n, lo, hi, interval/time.Duration(n))
				}
			})
		}
	}
}

func TestNextScrape(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const iv, off = 50 * time.Millisecond, 20 * time.Millisecond
	ms := func(n int) time.Time { return epoch.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"before the first", ms(0), ms(20)},
		{"just before a tick", ms(69), ms(70)},
		{"on a tick: the next one", ms(70), ms(120)},
		{"between ticks", ms(95), ms(120)},
		{"after a stall, missed ticks skipped", ms(1234), ms(1270)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextScrape(epoch, tc.now, off, iv); !got.Equal(tc.want) {
				t.Fatalf("nextScrape at +%v = +%v, want +%v", tc.now.Sub(epoch), got.Sub(epoch), tc.want.Sub(epoch))
			}
		})
	}
}

// TestPoolScrapesSpread checks the schedule a started pool gives its endpoints: eight endpoints
// that arrive together scrape at eight phases of the interval, not at once.
func TestPoolScrapesSpread(t *testing.T) {
	addrs := make(StaticSource, 8)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.%d:1", i+1) // nothing listens: scrapes fail fast
	}
	p, err := New(Config{Name: "default/spread", Source: addrs, Scheduler: DefaultScheduler()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	eps := *p.eps.Load()
	if len(eps) != len(addrs) {
		t.Fatalf("%d endpoints, want %d", len(eps), len(addrs))
	}
	offs := make([]time.Duration, len(eps))
	for i, e := range eps {
		offs[i] = e.scrapeOffset
	}
	iv := p.cfg.Scheduler.ScrapeInterval
	if g := gaps(offs, iv); g[0] < iv/20 {
		t.Fatalf("scrape offsets %v: two endpoints %v apart, want ≥ %v", offs, g[0], iv/20)
	}
}
