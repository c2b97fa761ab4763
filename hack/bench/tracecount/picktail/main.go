// Command picktail reads execution traces of the EPP pick-latency rig's tail run and tells what
// the slowest picks had in common: what ran and what waited for a P in each process while they
// were under way (scrapes, the garbage collector, the pick's own goroutines), the legs of a pick
// (client sends, `dataplane epp` wakes, handles, replies, client wakes) and which leg was the
// longest. Both runtimes stamp their traces with the same monotonic clock, so the picks the
// client logged line up with the EPP process's events.
//
//	go build -o /tmp/dataplane ./cmd/dataplane && go test -c -o /tmp/epp.test ./dataplane/epp
//	cd dataplane/epp && /tmp/epp.test -test.run TestPickLatency -epp.latency -epp.latency.tail \
//	  -epp.latency.bin /tmp/dataplane -epp.latency.n 8000 -test.trace /tmp/client.trace \
//	  -epp.latency.env GWCTL_TRACE=/tmp/epp.trace
//	cd hack/bench/tracecount && go run ./picktail /tmp/client.trace /tmp/epp.trace
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/exp/trace"
)

// pick is one pick the client logged ("pick", its duration in ns, at its end).
type pick struct {
	start, end trace.Time
	d          int64
	slow       bool
}

// goState is what is known of one goroutine: its kind and since when it runs or waits for a P.
type goState struct {
	kind              string
	running, runnable bool
	since, readySince trace.Time
}

// transition is a state change of a pick goroutine during a pick.
type transition struct {
	t        trace.Time
	who      string // "c:caller", "e:serve", ...
	from, to trace.GoState
}

// process is one trace read against the picks.
type process struct {
	path  string
	side  string                      // "c" (the client, the first trace) or "e"
	feat  []map[string]int64          // per pick: ns of "run:<group>", "wait:<group>", "gc", "stw"
	total map[string]map[string]int64 // "run"/"wait" -> goroutine kind -> ns, over all picks
	slow  map[string]map[string]int64 // the same over the slow picks
}

func main() {
	q := flag.Float64("q", 0.99, "quantile from which a pick counts as slow")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: picktail [-q 0.99] CLIENT.trace EPP.trace")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	picks, err := readPicks(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	if len(picks) == 0 {
		fail(fmt.Errorf("%s: no pick logs (run the tail with -test.trace)", flag.Arg(0)))
	}
	ds := make([]int64, len(picks))
	for i, p := range picks {
		ds[i] = p.d
	}
	slices.Sort(ds)
	threshold := ds[max(0, int(float64(len(ds))**q)-1)]
	nslow := 0
	for i := range picks {
		if picks[i].d >= threshold {
			picks[i].slow = true
			nslow++
		}
	}
	fmt.Printf("%d picks: p50 %d µs, slow from %d µs (q %.3f): %d picks\n", len(picks), ds[len(ds)/2]/1000, threshold/1000, *q, nslow)
	var legs []transition
	var procs []*process
	for i, path := range flag.Args() {
		p, tr, err := read(path, []string{"c", "e"}[i], picks)
		if err != nil {
			fail(err)
		}
		procs = append(procs, p)
		legs = append(legs, tr...)
		p.report(picks, nslow)
	}
	reportLegs(picks, legs)
	reportCauses(picks, nslow, procs[0], procs[1])
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "picktail:", err)
	os.Exit(1)
}

func readPicks(path string) ([]pick, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out []pick
	for {
		e, err := r.ReadEvent()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if e.Kind() == trace.EventLog && e.Log().Category == "pick" {
			d, err := strconv.ParseInt(e.Log().Message, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: pick log %q: %w", path, e.Log().Message, err)
			}
			out = append(out, pick{start: e.Time() - trace.Time(d), end: e.Time(), d: d})
		}
	}
}

// read walks one trace and charges goroutines' running and runnable time, and GC phases, to
// the picks they overlapped; it returns the pick goroutines' transitions during picks.
func read(path, side string, picks []pick) (*process, []transition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		return nil, nil, err
	}
	p := &process{path: path, side: side, feat: make([]map[string]int64, len(picks)),
		total: map[string]map[string]int64{"run": {}, "wait": {}}, slow: map[string]map[string]int64{"run": {}, "wait": {}}}
	for i := range p.feat {
		p.feat[i] = map[string]int64{}
	}
	// charge adds [a, b) to every pick it overlaps, under key (and, for run/wait, kind).
	charge := func(a, b trace.Time, key, kind string) {
		i := sort.Search(len(picks), func(i int) bool { return picks[i].end > a })
		for ; i < len(picks) && picks[i].start < b; i++ {
			ns := int64(min(b, picks[i].end) - max(a, picks[i].start))
			if ns <= 0 {
				continue
			}
			if kind == "" {
				p.feat[i][key] += ns
				continue
			}
			p.feat[i][key+":"+group(kind)] += ns
			p.total[key][kind] += ns
			if picks[i].slow {
				p.slow[key][kind] += ns
			}
		}
	}
	during := func(t trace.Time) int {
		i := sort.Search(len(picks), func(i int) bool { return picks[i].end > t })
		if i < len(picks) && picks[i].start <= t {
			return i
		}
		return -1
	}
	gs := map[trace.GoID]*goState{}
	ranges := map[string]trace.Time{}
	var legs []transition
	for {
		e, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		switch e.Kind() {
		case trace.EventRangeBegin:
			ranges[e.Range().Name+fmt.Sprint(e.Range().Scope)] = e.Time()
		case trace.EventRangeEnd:
			k := e.Range().Name + fmt.Sprint(e.Range().Scope)
			a, ok := ranges[k]
			if !ok {
				continue
			}
			delete(ranges, k)
			switch name := e.Range().Name; {
			case strings.HasPrefix(name, "GC concurrent"):
				charge(a, e.Time(), "gc", "")
			case strings.HasPrefix(name, "stop-the-world"):
				charge(a, e.Time(), "stw", "")
			}
		case trace.EventStateTransition:
			st := e.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			g := gs[st.Resource.Goroutine()]
			if g == nil {
				g = &goState{kind: "?"}
				gs[st.Resource.Goroutine()] = g
			}
			from, to := st.Goroutine()
			if from == trace.GoNotExist {
				g.kind = "?"
			}
			name(g, st.Stack)
			if from == trace.GoRunning {
				name(g, e.Stack())
			}
			now := e.Time()
			if group(g.kind) == "pick" {
				if i := during(now); i >= 0 {
					legs = append(legs, transition{t: now, who: side + ":" + role(g.kind), from: from, to: to})
				}
			}
			if g.running && to != trace.GoRunning {
				charge(g.since, now, "run", g.kind)
				g.running = false
			}
			if g.runnable && to != trace.GoRunnable {
				charge(g.readySince, now, "wait", g.kind)
				g.runnable = false
			}
			switch to {
			case trace.GoRunning:
				g.running, g.since = true, now
			case trace.GoRunnable:
				if !g.runnable {
					g.runnable, g.readySince = true, now
				}
			}
		}
	}
	return p, legs, nil
}

// name sets a goroutine's kind from the outermost telling frame of a stack.
func name(g *goState, st trace.Stack) {
	if g.kind != "?" {
		return
	}
	var frames []string
	for f := range st.Frames() {
		frames = append(frames, f.Func)
	}
	for i := len(frames) - 1; i >= 0; i-- {
		fn := frames[i]
		switch {
		case strings.Contains(fn, "runtime.goexit"), strings.HasPrefix(fn, "runtime.main"), fn == "time.goFunc":
			continue
		case strings.Contains(fn, "gcBgMarkWorker"):
			g.kind = "GC worker"
		case strings.Contains(fn, "persistConn).readLoop"):
			g.kind = "net/http persistConn.readLoop"
		case strings.Contains(fn, "persistConn).writeLoop"):
			g.kind = "net/http persistConn.writeLoop"
		default:
			g.kind = strings.TrimPrefix(fn, "github.com/infergw/gwctl/")
		}
		return
	}
}

// group sorts goroutine kinds into what a pick competes with.
func group(kind string) string {
	switch {
	case strings.Contains(kind, "persistConn"),
		strings.HasPrefix(kind, "dataplane/pool.(*Pool).") && (strings.Contains(kind, "scrape") || strings.Contains(kind, "Round")):
		return "scrape"
	case strings.Contains(kind, "GC worker"), strings.Contains(kind, "bgsweep"), strings.Contains(kind, "bgscavenge"):
		return "gc"
	case strings.Contains(kind, "h2sConn"), strings.Contains(kind, "h2Conn"), strings.Contains(kind, "tRunner"):
		return "pick"
	}
	return "other"
}

// role names a pick goroutine: the EPP's connection reader (serve), the client's (reader) and
// the picking goroutine (caller, the test's).
func role(kind string) string {
	switch {
	case strings.Contains(kind, "h2sConn"):
		return "serve"
	case strings.Contains(kind, "h2Conn"):
		return "reader"
	}
	return "caller"
}

func (p *process) report(picks []pick, nslow int) {
	n := float64(len(picks))
	fmt.Printf("\n# %s\n", p.path)
	for _, k := range []string{"run", "wait"} {
		title := map[string]string{"run": "running", "wait": "runnable, waiting for a P"}[k]
		fmt.Printf("\n%s, µs per pick: all picks | slow picks\n", title)
		kinds := slices.Collect(func(yield func(string) bool) {
			for kind := range p.total[k] {
				if !yield(kind) {
					return
				}
			}
		})
		sort.Slice(kinds, func(i, j int) bool { return p.slow[k][kinds[i]] > p.slow[k][kinds[j]] })
		for _, kind := range kinds {
			a, s := float64(p.total[k][kind])/n/1e3, float64(p.slow[k][kind])/float64(nslow)/1e3
			if a >= 0.5 || s >= 2 {
				fmt.Printf("  %8.1f | %8.1f  %s\n", a, s, kind)
			}
		}
	}
	var clean []int64
	for i, pk := range picks {
		f := p.feat[i]
		if f["run:scrape"]+f["wait:scrape"]+f["gc"]+f["run:gc"]+f["stw"] == 0 {
			clean = append(clean, pk.d)
		}
	}
	if len(clean) > 0 {
		slices.Sort(clean)
		fmt.Printf("\npicks with no scrape work and no GC here: %d, p50 %d µs, p99 %d µs\n", len(clean), clean[len(clean)/2]/1000, clean[len(clean)*99/100]/1000)
	}
}

// legNames are a pick's legs, between the transitions reportLegs finds.
var legNames = []string{"client until sent", "sent -> EPP serve woken", "EPP serve woken -> running", "EPP serve handling",
	"EPP reply -> client reader woken", "client reader woken -> caller running", "caller running -> end"}

func reportLegs(picks []pick, legs []transition) {
	byPick := make([][]transition, len(picks))
	for _, l := range legs {
		i := sort.Search(len(picks), func(i int) bool { return picks[i].end > l.t })
		if i < len(picks) {
			byPick[i] = append(byPick[i], l)
		}
	}
	all := make([][]int64, len(legNames))
	var slow [][]int64
	longest := make([]int, len(legNames))
	for i, p := range picks {
		ts := byPick[i]
		sort.Slice(ts, func(a, b int) bool { return ts[a].t < ts[b].t })
		find := func(after trace.Time, who string, from, to trace.GoState) trace.Time {
			for _, e := range ts {
				if e.t >= after && e.who == who && (from == trace.GoUndetermined || e.from == from) && e.to == to {
					return e.t
				}
			}
			return 0
		}
		sent := find(p.start, "c:caller", trace.GoRunning, trace.GoWaiting)
		woken := find(sent, "e:serve", trace.GoWaiting, trace.GoRunnable)
		serving := find(woken, "e:serve", trace.GoRunnable, trace.GoRunning)
		replied := find(serving, "c:reader", trace.GoWaiting, trace.GoRunnable)
		if sent == 0 || woken == 0 || serving == 0 || replied == 0 {
			continue // a pick whose legs the trace does not show whole
		}
		served := serving
		for _, e := range ts {
			if e.t < replied && e.who == "e:serve" && e.t > served {
				served = e.t
			}
		}
		back := find(replied, "c:caller", trace.GoUndetermined, trace.GoRunning)
		if back == 0 {
			continue
		}
		v := []int64{int64(sent - p.start), int64(woken - sent), int64(serving - woken), int64(served - serving),
			int64(replied - served), int64(back - replied), int64(p.end - back)}
		for j := range v {
			all[j] = append(all[j], v[j])
		}
		if p.slow {
			slow = append(slow, v)
			longest[slices.Index(v, slices.Max(v))]++
		}
	}
	if len(all[0]) == 0 {
		return
	}
	fmt.Printf("\nlegs of a pick, µs: p50 | p99 of all | mean of the slow | slow picks where it is the longest (of %d whose legs the traces show)\n", len(slow))
	for j, name := range legNames {
		x := all[j]
		slices.Sort(x)
		var m int64
		for _, v := range slow {
			m += v[j]
		}
		fmt.Printf("  %6.1f | %6.1f | %7.1f | %3d  %s\n", float64(x[len(x)/2])/1e3, float64(x[len(x)*99/100])/1e3, float64(m)/float64(max(1, len(slow)))/1e3, longest[j], name)
	}
}

// reportCauses sorts the picks by the first of these that overlapped them.
func reportCauses(picks []pick, nslow int, client, epp *process) {
	causes := []string{"EPP scrape work", "EPP GC", "client GC", "client scrape or other work", "none of these"}
	count := make([][2]int, len(causes))
	for i, p := range picks {
		c, e := client.feat[i], epp.feat[i]
		k := 4
		switch {
		case e["run:scrape"]+e["wait:scrape"] > 0:
			k = 0
		case e["gc"]+e["run:gc"]+e["stw"] > 0:
			k = 1
		case c["gc"]+c["run:gc"]+c["stw"] > 0:
			k = 2
		case c["run:scrape"]+c["run:other"] > 0:
			k = 3
		}
		count[k][0]++
		if p.slow {
			count[k][1]++
		}
	}
	fmt.Printf("\nwhat overlapped the picks (the first that applies): share of the slow | share of all\n")
	for k, c := range causes {
		fmt.Printf("  %5.1f%% | %5.1f%%  %s\n", 100*float64(count[k][1])/float64(max(1, nslow)), 100*float64(count[k][0])/float64(len(picks)), c)
	}
}
