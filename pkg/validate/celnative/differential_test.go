package celnative

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/cel-go/common/types"

	"github.com/infergw/gwctl/internal/testenv"
)

// tally counts, over a set of evaluations, what the native program answered against cel-go.
type tally struct {
	evals, celTrue, nativeTrue, celFalse, celErr, declinedRules int
	boundSum, actualSum                                         uint64 // over the native true answers
	maxRatio                                                    float64
}

// check evaluates r on v both ways and fails t when the native answer is not backed by cel-go.
func check(t testing.TB, r *rule, v any, where string, tl *tally) {
	t.Helper()
	if r.prog == nil {
		return
	}
	tl.evals++
	out, actual, err := r.celEval(v)
	switch {
	case err != nil:
		tl.celErr++
	case out == types.True:
		tl.celTrue++
	default:
		tl.celFalse++
	}
	if r.native == nil {
		tl.declinedRules++
		return
	}
	ok, bound := r.native.Eval(v)
	if !ok {
		return
	}
	tl.nativeTrue++
	tl.boundSum += bound
	tl.actualSum += actual
	if actual > 0 {
		tl.maxRatio = max(tl.maxRatio, float64(bound)/float64(actual))
	}
	if err != nil || out != types.True {
		t.Errorf("%s: %s at %s: native says true, cel-go says %v (err %v)\nrule: %s", where, r.crd, r.path, out, err, r.src)
	}
	if bound < actual {
		t.Errorf("%s: %s at %s: cost bound %d < cel-go's actual cost %d\nrule: %s", where, r.crd, r.path, bound, actual, r.src)
	}
}

// TestDifferential evaluates every rule of every CRD on every node of every fixture document and
// of 2000 corpus documents, natively and with cel-go, and checks each native "true" against cel-go.
func TestDifferential(t *testing.T) {
	st := loadSuite(t)
	docs := loadDocuments(t, 2000)
	var tl tally
	var matched int
	for _, d := range docs {
		cv, obj := st.prepare(d)
		if cv == nil {
			continue
		}
		matched++
		cv.rules.visit(obj, func(r *rule, v any) { check(t, r, v, d.name, &tl) })
	}
	if matched < 1000 || tl.evals == 0 {
		t.Fatalf("only %d documents matched a CRD (%d evaluations): the fixtures were not found", matched, tl.evals)
	}
	t.Logf("%d documents, %d rule evaluations: cel-go true %d, false %d, error %d; native true %d (%.1f%% of cel-go's true), on declined rules %d",
		matched, tl.evals, tl.celTrue, tl.celFalse, tl.celErr, tl.nativeTrue, 100*float64(tl.nativeTrue)/float64(max(tl.celTrue, 1)), tl.declinedRules)
	t.Logf("cost bounds over the native answers: %d against cel-go's actual %d (%.2fx), at most %.2fx on one evaluation",
		tl.boundSum, tl.actualSum, float64(tl.boundSum)/float64(max(tl.actualSum, 1)), tl.maxRatio)
	if tl.nativeTrue < tl.celTrue*9/10 {
		t.Errorf("native answered %d of %d true results: want at least 90%%", tl.nativeTrue, tl.celTrue)
	}
}

// TestDeclinedRules lists every rule of the CRDs that Compile declines (testdata/declined.golden),
// so a change in coverage shows up in review.
func TestDeclinedRules(t *testing.T) {
	st := loadSuite(t)
	seen := map[string]bool{}
	var total, compiled int
	for _, cv := range st.list {
		cv.rules.all(func(r *rule) {
			if r.prog == nil {
				if !seen["oldSelf: "+r.src] {
					seen["oldSelf: "+r.src] = true
				}
				return
			}
			key := r.src
			if seen[key] || seen["ok: "+key] {
				return
			}
			total++
			if r.native == nil {
				seen[key] = true
				return
			}
			compiled++
			seen["ok: "+key] = true
		})
	}
	var declined []string
	for k := range seen {
		if !strings.HasPrefix(k, "ok: ") {
			declined = append(declined, k)
		}
	}
	sort.Strings(declined)
	t.Logf("%d distinct rules cel-go compiles: %d compiled natively, %d declined", total, compiled, total-compiled)
	var b strings.Builder
	for _, d := range declined {
		fmt.Fprintln(&b, d)
	}
	testenv.Golden(t, "testdata/declined.golden", []byte(b.String()))
}
