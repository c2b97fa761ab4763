package celnative

import (
	"sync"
	"testing"
)

// TestConcurrentEval runs the same programs from several goroutines at once (run it with -race):
// every goroutine must get the answers and cost bounds of a sequential run.
func TestConcurrentEval(t *testing.T) {
	st := loadSuite(t)
	type evalCase struct {
		p    *Program
		v    any
		ok   bool
		cost uint64
	}
	var cases []evalCase
	for _, d := range loadDocuments(t, 100) {
		cv, obj := st.prepare(d)
		if cv == nil {
			continue
		}
		cv.rules.visit(obj, func(r *rule, v any) {
			if r.native != nil {
				cases = append(cases, evalCase{p: r.native, v: v})
			}
		})
	}
	if len(cases) == 0 {
		t.Fatal("no evaluations")
	}
	// Fresh programs would build their schema nodes during the concurrent run; these were built by
	// compile only, so the first evaluations below race to build them.
	var wg sync.WaitGroup
	results := make([][]evalCase, 4)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]evalCase, len(cases))
			for i, c := range cases {
				out[i] = c
				out[i].ok, out[i].cost = c.p.Eval(c.v)
			}
			results[g] = out
		}()
	}
	wg.Wait()
	for i, c := range cases {
		ok, cost := c.p.Eval(c.v)
		for g := range results {
			if r := results[g][i]; r.ok != ok || r.cost != cost {
				t.Fatalf("evaluation %d: goroutine %d got (%v, %d), sequential (%v, %d)", i, g, r.ok, r.cost, ok, cost)
			}
		}
	}
}
