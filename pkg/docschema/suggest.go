package docschema

import (
	"fmt"
	"strings"
)

// maxSuggestDistance is how far (in edits) a key may be from a known one to be named as the
// likely intent.
const maxSuggestDistance = 2

// Nearest returns the candidate closest to name by Damerau-Levenshtein distance (case-insensitive,
// adjacent transpositions count one), or "" when none is within maxSuggestDistance or the
// distance would rewrite most of name. Ties go to the first candidate in sorted order, so the
// suggestion is the same on every run.
func Nearest(name string, sortedCandidates []string) string {
	best, bestD := "", maxSuggestDistance+1
	for _, c := range sortedCandidates {
		if c == name {
			continue
		}
		if d := distance(strings.ToLower(name), strings.ToLower(c)); d < bestD && d < len(name) {
			best, bestD = c, d
		}
	}
	return best
}

// DidYouMean is " (did you mean "x"?)" or "".
func DidYouMean(name string, sortedCandidates []string) string {
	if s := Nearest(name, sortedCandidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// distance is the optimal string alignment distance: insertions, deletions, substitutions and
// transpositions of adjacent runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
