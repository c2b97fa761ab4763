package llmtest

import (
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

// AllocBound fails t when one call of f allocates more than most times on average (after one
// warm-up call, which fills the translator's pools). It skips when the hand-written fast path is
// off (fast false: encoding/json allocates as it does) and under the race detector, which makes
// sync.Pool drop what it is given.
func AllocBound(t *testing.T, fast bool, most float64, what string, f func()) {
	t.Helper()
	if !fast {
		t.Skip("GWCTL_NOFAST: the fast path this bounds is off")
	}
	if testenv.RaceSlowdown > 1 {
		t.Skip("the race detector makes sync.Pool drop what it is given")
	}
	f()
	if n := testing.AllocsPerRun(200, f); n > most {
		t.Errorf("%s allocates %.1f times, want at most %g", what, n, most)
	}
}
