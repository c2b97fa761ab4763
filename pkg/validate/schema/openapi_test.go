package schema

import (
	"regexp"
	"strconv"
	"testing"
)

// TestPatternMemo: remembered results are the regexp's, the memo stops growing at its size, and
// long strings are matched without it.
func TestPatternMemo(t *testing.T) {
	re := regexp.MustCompile(`^[a-z]+-[0-9]*[02468]$`)
	p := &pattern{re: re}
	long := "x-" + string(make([]byte, patternMemoLen)) + "2"
	for round := 0; round < 2; round++ {
		for i := 0; i < patternMemoSize+500; i++ {
			s := "name-" + strconv.Itoa(i)
			if got, want := p.match(s), re.MatchString(s); got != want {
				t.Fatalf("round %d: match(%q) = %v, regexp says %v", round, s, got, want)
			}
		}
		if got, want := p.match(long), re.MatchString(long); got != want {
			t.Fatalf("long string: %v, regexp says %v", got, want)
		}
	}
	if n := p.size.Load(); n != patternMemoSize {
		t.Fatalf("memo holds %d strings, want the cap %d", n, patternMemoSize)
	}
}
