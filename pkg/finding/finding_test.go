package finding

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestSortIsStable: Sort orders as a stable sort on file, line, column, rule and message does.
func TestSortIsStable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	for round := 0; round < 50; round++ {
		fs := make([]Finding, r.IntN(300))
		for i := range fs {
			fs[i] = Finding{File: pick("a", "b", ""), Line: r.IntN(4), Column: r.IntN(3), Rule: pick("x", "y"), Message: pick("m", "n"),
				Field: pick("f1", "f2", "f3"), Resource: Resource{Name: pick("r1", "r2")}, Severity: Severity(r.IntN(3))}
		}
		want := slices.Clone(fs)
		sort.SliceStable(want, func(i, j int) bool {
			a, b := want[i], want[j]
			if a.File != b.File {
				return a.File < b.File
			}
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			if a.Column != b.Column {
				return a.Column < b.Column
			}
			if a.Rule != b.Rule {
				return a.Rule < b.Rule
			}
			return a.Message < b.Message
		})
		Sort(fs)
		if !slices.Equal(fs, want) {
			t.Fatalf("round %d: Sort differs from a stable sort", round)
		}
	}
}
