package pool

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
)

func views(waiting ...float64) []view {
	vs := make([]view, len(waiting))
	for i, w := range waiting {
		vs[i] = view{ep: &endpoint{slot: i}, waiting: w}
	}
	return vs
}

func approx(t *testing.T, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestQueueScores(t *testing.T) {
	tests := []struct {
		name    string
		waiting []float64
		want    []float64
	}{
		{"min-max", []float64{0, 5, 10}, []float64{1, 0.5, 0}},
		{"offset range", []float64{2, 3, 6}, []float64{1, 0.75, 0}},
		{"all equal", []float64{4, 4, 4}, []float64{1, 1, 1}},
		{"single", []float64{9}, []float64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := make([]float64, len(tc.waiting))
			queueScores(views(tc.waiting...), out)
			approx(t, out, tc.want)
		})
	}
}

func TestKVScores(t *testing.T) {
	vs := views(0, 0, 0, 0)
	for i, kv := range []float64{0, 0.25, 1, 1.5} {
		vs[i].kv = kv
	}
	out := make([]float64, 4)
	kvScores(vs, out)
	approx(t, out, []float64{1, 0.75, 0, 0})
}

func TestPrefixScores(t *testing.T) {
	vs := views(0, 0, 0)
	out := make([]float64, 3)
	prefixScores(vs, []int{4, 1, 0}, 4, out)
	approx(t, out, []float64{1, 0.25, 0})
	prefixScores(vs, []int{0, 0, 0}, 0, out) // prompt shorter than a block
	approx(t, out, []float64{0, 0, 0})
}

func TestLoRAScores(t *testing.T) {
	mk := func(max int, running, waiting []string) view {
		m := metricsparse.Metrics{HasLoRA: true, MaxLoRA: max, RunningAdapters: running, WaitingAdapters: waiting}
		return view{ep: &endpoint{}, s: &sample{m: m, lora: newLoRAState(&m)}}
	}
	vs := []view{
		mk(2, []string{"sql"}, nil),           // running → 1
		mk(2, []string{"a"}, nil),             // free slot → 0.8
		mk(2, []string{"a"}, []string{"sql"}), // full, waiting → 0.6
		mk(2, []string{"a", "b"}, nil),        // full → 0
		{ep: &endpoint{}, s: &sample{}},       // no LoRA info → 0
		mk(3, []string{"a"}, []string{"sql"}), // waiting but a free slot: slot wins → 0.8
	}
	out := make([]float64, len(vs))
	loraScores(vs, "sql", out)
	approx(t, out, []float64{1, 0.8, 0.6, 0, 0, 0.8})
}

func TestSaturation(t *testing.T) {
	sc := DefaultScheduler()
	_ = sc.setDefaults()
	now := time.Now()
	mkEp := func(waiting, kv float64, age time.Duration) *endpoint {
		e := &endpoint{}
		e.record(metricsparse.Metrics{Waiting: waiting, KVUsage: kv, HasWaiting: true, HasKVUsage: true}, now.Add(-age))
		return e
	}
	tests := []struct {
		name string
		eps  []*endpoint
		want []float64
	}{
		{"queue and kv", []*endpoint{mkEp(0, 0, 0), mkEp(2.5, 0.2, 0), mkEp(1, 0.6, 0), mkEp(10, 0, 0)}, []float64{0, 0.5, 0.75, 2}},
		{"stale is saturated", []*endpoint{mkEp(0, 0, time.Second)}, []float64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []float64
			for _, e := range tc.eps {
				got = append(got, e.makeView(now, &sc).saturated)
			}
			approx(t, got, tc.want)
		})
	}
	if s := meanSaturation(nil); s != 1 {
		t.Fatalf("empty pool saturation %v, want 1", s)
	}
	vs := []view{{saturated: 0.5}, {saturated: 1.5}}
	if s := meanSaturation(vs); s != 1 {
		t.Fatalf("mean saturation %v, want 1", s)
	}
}

func TestSaturationFilter(t *testing.T) {
	vs := []view{{saturated: 0.2, load: 3}, {saturated: 1.2, load: 9}, {saturated: 0.9, load: 4}}
	if kept, sat := saturationFilter(vs, false, true); sat || len(kept) != 3 {
		t.Fatalf("without filter every endpoint is kept while one is unsaturated: %+v", kept)
	}
	kept, sat := saturationFilter(vs, true, true)
	if sat || len(kept) != 2 || kept[0].load != 3 || kept[1].load != 4 {
		t.Fatalf("kept %+v saturated %v", kept, sat)
	}
	all := []view{{saturated: 1.2, load: 9}, {saturated: 1.1, load: 6}, {saturated: 2, load: 7}, {saturated: 3, load: 12}}
	kept, sat = saturationFilter(slices.Clone(all), false, true)
	if !sat || len(kept) != 2 || kept[0].load != 6 || kept[1].load != 7 {
		t.Fatalf("all saturated: kept %+v saturated %v, want the least-loaded band {6,7}", kept, sat)
	}
	if kept, sat = saturationFilter(slices.Clone(all), true, false); !sat || len(kept) != 4 {
		t.Fatalf("all saturated without least-loaded: kept %+v saturated %v, want all", kept, sat)
	}
}

func TestInFlightView(t *testing.T) {
	sc := DefaultScheduler()
	_ = sc.setDefaults()
	now := time.Now()
	e := &endpoint{}
	e.inFlight.Store(3)
	e.tokens.Store(1000)
	// Scraped: 4 running, 2 waiting (learns max-num-seqs 4), KV 50% of 1000 blocks x 16 tokens.
	e.record(metricsparse.Metrics{Waiting: 2, Running: 4, KVUsage: 0.5, NumGPUBlocks: 1000, BlockSize: 16, HasWaiting: true, HasRunning: true, HasKVUsage: true}, now)
	// Since the scrape the dataplane sent 3 more requests (4800 tokens = 0.3 of the cache).
	e.inFlight.Add(3)
	e.tokens.Add(4800)
	v := e.makeView(now, &sc)
	if v.load != 9 || v.waiting != 5 || math.Abs(v.kv-0.8) > 1e-9 || v.saturated != 1 {
		t.Fatalf("view load %v waiting %v kv %v saturated %v, want 9, 5, 0.8, 1", v.load, v.waiting, v.kv, v.saturated)
	}
	ref := ReferenceScheduler()
	_ = ref.setDefaults()
	v = e.makeView(now, &ref)
	if v.waiting != 2 || v.kv != 0.5 {
		t.Fatalf("reference view uses scraped values: waiting %v kv %v", v.waiting, v.kv)
	}
}

func TestPickers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	order := maxScoreOrder(rng, []float64{0.5, 3, 1, 2}, 3, nil)
	if !slices.Equal(order, []int{1, 3, 2}) {
		t.Fatalf("max-score order %v", order)
	}
	// Ties are broken at random: each of three tied endpoints wins about a third of the time.
	wins := make([]int, 3)
	for range 3000 {
		wins[maxScoreOrder(rng, []float64{1, 1, 1}, 1, nil)[0]]++
	}
	for i, w := range wins {
		if w < 800 || w > 1200 {
			t.Fatalf("tie-break not uniform: endpoint %d won %d of 3000", i, w)
		}
	}
	if o := roundRobinOrder(5, 4, 2, nil); !slices.Equal(o, []int{1, 2}) {
		t.Fatalf("round-robin %v", o)
	}
	o := randomOrder(rng, 5, 3, nil)
	if len(o) != 3 || o[0] == o[1] || o[1] == o[2] || o[0] == o[2] {
		t.Fatalf("random order %v", o)
	}
	vs := views(0, 0, 0)
	vs[0].inFlight, vs[1].inFlight, vs[2].inFlight = 5, 1, 3
	if o := leastInFlightOrder(rng, vs, 3, make([]float64, 3), nil); !slices.Equal(o, []int{1, 2, 0}) {
		t.Fatalf("least-in-flight %v", o)
	}
}
