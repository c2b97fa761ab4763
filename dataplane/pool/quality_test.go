package pool

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/pooltest"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// The quality comparison is long (minutes) and needs a quiet machine, so it only runs with
//
//	go test ./dataplane/pool -run TestQuality -quality -v -timeout 30m
var (
	qualityFlag  = flag.Bool("quality", false, "run the scheduler quality comparison on a simulated fleet (slow)")
	qualityLoads = flag.String("quality.loads", "0.5,0.8,1.0,1.2", "offered loads as fractions of fleet capacity")
	qualityOnly  = flag.String("quality.schedulers", "", "comma-separated subset of scheduler names to run")
)

// The fleet and workload are pooltest's (shared with the endpoint-picker comparison).
const (
	qEndpoints   = pooltest.Endpoints
	qGroups      = pooltest.Groups
	qPerGroup    = pooltest.PerGroup
	qSystemToks  = pooltest.SystemToks
	qQuestToks   = pooltest.QuestToks
	qOutputToks  = pooltest.OutputToks
	qMaxNumSeqs  = pooltest.MaxNumSeqs
	qGPUBlocks   = pooltest.GPUBlocks
	qBlockTokens = pooltest.BlockTokens
)

func qualitySim() vllmsim.Config { return pooltest.Sim() }

func fleetCapacity(c vllmsim.Config) (ideal, oblivious float64) { return pooltest.Capacity(c) }

type qualityScheduler struct {
	name string
	cfg  SchedulerConfig
}

func qualitySchedulers() []qualityScheduler {
	out := []qualityScheduler{
		{"gwctl default", DefaultScheduler()},
		{"reference 2/2/3", ReferenceScheduler()},
		{"round-robin", SchedulerConfig{Picker: PickerRoundRobin}},
		{"random", SchedulerConfig{Picker: PickerRandom}},
		{"least-in-flight", SchedulerConfig{Picker: PickerLeastInFlight}},
	}
	if *qualityOnly == "" {
		return out
	}
	// Variants for tuning, only when named explicitly.
	v := func(name string, f func(*SchedulerConfig)) qualityScheduler {
		c := DefaultScheduler()
		f(&c)
		return qualityScheduler{name, c}
	}
	out = append(out,
		v("gwctl +saturation-filter", func(c *SchedulerConfig) { c.SaturationFilter = true }),
		v("gwctl +least-loaded", func(c *SchedulerConfig) { c.SaturatedLeastLoaded = true }),
		v("gwctl -inflight", func(c *SchedulerConfig) { c.InFlight = false }))
	keep := strings.Split(*qualityOnly, ",")
	return slices.DeleteFunc(out, func(s qualityScheduler) bool { return !slices.Contains(keep, s.name) })
}

type qualityRow struct {
	load, rate               float64
	sched                    string
	ttftP50, ttftP90, e2eP90 time.Duration
	tokPerSec, hitRate       float64
	errors, shed             int
}

func TestQuality(t *testing.T) {
	if !*qualityFlag {
		t.Skip("quality comparison runs only with -quality")
	}
	simCfg := qualitySim()
	sims := startFleet(t, qEndpoints, simCfg)
	ideal, oblivious := fleetCapacity(simCfg)
	prompts := sharedPrefixWorkload(42)
	var loads []float64
	for _, f := range strings.Split(*qualityLoads, ",") {
		var l float64
		if _, err := fmt.Sscan(f, &l); err != nil {
			t.Fatalf("bad -quality.loads %q", *qualityLoads)
		}
		loads = append(loads, l)
	}
	var rows []qualityRow
	for _, load := range loads {
		for _, qs := range qualitySchedulers() {
			row := runQuality(t, sims, qs, prompts, load, load*ideal)
			rows = append(rows, row)
			t.Logf("%s @%.0f%%: ttft p90 %v, tok/s %.0f, hit %.2f", qs.name, load*100, row.ttftP90, row.tokPerSec, row.hitRate)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nFleet: %d simulated vLLM endpoints, max_num_seqs %d, %d KV blocks x %d tokens, prefill 5ms + 100us/uncached token (one lane), decode 8ms/token.\n",
		qEndpoints, qMaxNumSeqs, qGPUBlocks, qBlockTokens)
	fmt.Fprintf(&b, "Workload: shared_prefix %d groups x %d prompts, system %d tokens, question %d, output %d, Poisson arrivals, %d requests per cell.\n",
		qGroups, qPerGroup, qSystemToks, qQuestToks, qOutputToks, len(prompts))
	fmt.Fprintf(&b, "Capacity (100%%) = %.1f req/s: ideal cache-aware routing (first prompt of a group misses, the rest hit). A cache-oblivious fleet sustains %.1f req/s.\n\n", ideal, oblivious)
	b.WriteString("| load | req/s | scheduler | TTFT p50 | TTFT p90 | E2E p90 | output tok/s | prefix hit | errors | 429 |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %.0f%% | %.1f | %s | %s | %s | %s | %.0f | %.1f%% | %d | %d |\n", r.load*100, r.rate, r.sched,
			ms(r.ttftP50), ms(r.ttftP90), ms(r.e2eP90), r.tokPerSec, r.hitRate*100, r.errors, r.shed)
	}
	b.WriteString("\nGoal check (load >= 80%: p90 TTFT <= 0.5x round-robin, tok/s >= 1.2x round-robin, no worse than reference):\n\n")
	for _, load := range loads {
		get := func(name string) *qualityRow {
			for i := range rows {
				if rows[i].load == load && rows[i].sched == name {
					return &rows[i]
				}
			}
			return nil
		}
		g, rr, ref := get("gwctl default"), get("round-robin"), get("reference 2/2/3")
		if g == nil || rr == nil || ref == nil {
			continue
		}
		fmt.Fprintf(&b, "- %.0f%%: TTFT p90 %.2fx round-robin, %.2fx reference; tok/s %.2fx round-robin, %.2fx reference\n", load*100,
			g.ttftP90.Seconds()/rr.ttftP90.Seconds(), g.ttftP90.Seconds()/ref.ttftP90.Seconds(),
			g.tokPerSec/rr.tokPerSec, g.tokPerSec/ref.tokPerSec)
	}
	fmt.Fprint(os.Stdout, b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", d.Seconds()*1000) }

func sharedPrefixWorkload(seed uint64) [][]byte { return pooltest.SharedPrefixWorkload(seed) }

func runQuality(t *testing.T, sims []*vllmsim.Server, qs qualityScheduler, prompts [][]byte, load, rate float64) qualityRow {
	t.Helper()
	for _, s := range sims {
		s.ResetCache()
	}
	// FailOpen: on this shared 2-core machine the whole test process sometimes stalls for ~1s, every
	// endpoint's metrics go stale at once, and FailClose would turn that into 503s for any scheduler.
	p, srv := startPool(t, Config{Name: "quality/" + qs.name, FailureMode: FailOpen, Source: addrs(sims), Scheduler: qs.cfg}, len(sims))
	rs, elapsed := pooltest.OpenLoop(srv.URL, prompts, rate, uint64(load*1000))
	srv.Close()
	_ = p.Close()
	results := make([]chatResult, len(rs))
	for i, r := range rs {
		results[i] = chatResult{status: r.Status, body: r.Body, ttft: r.TTFT, e2e: r.E2E, outTok: r.OutTok, chunks: r.Chunks}
	}

	row := qualityRow{load: load, rate: rate, sched: qs.name}
	var ttft, e2e []time.Duration
	var tokens int
	for _, r := range results {
		switch {
		case r.status == http.StatusTooManyRequests:
			row.shed++
		case r.status != http.StatusOK || r.outTok == 0:
			row.errors++
			if row.errors <= 3 {
				t.Logf("%s: failed request: status %d, %d chunks, body %.200q", qs.name, r.status, r.chunks, r.body)
			}
		default:
			ttft = append(ttft, r.ttft)
			e2e = append(e2e, r.e2e)
			tokens += r.outTok
		}
	}
	row.ttftP50, row.ttftP90, row.e2eP90 = pct(ttft, 0.5), pct(ttft, 0.9), pct(e2e, 0.9)
	row.tokPerSec = float64(tokens) / elapsed.Seconds()
	var prompt, cached int
	for _, s := range sims {
		st := s.Stats()
		prompt += st.PromptTokens
		cached += st.CachedTokens
	}
	if prompt > 0 {
		row.hitRate = float64(cached) / float64(prompt)
	}
	return row
}

func pct(ds []time.Duration, q float64) time.Duration { return pooltest.Percentile(ds, q) }
