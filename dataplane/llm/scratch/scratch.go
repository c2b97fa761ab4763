// Package scratch is the translators' pooled scratch memory: slices that hand out elements and
// sub-slices to one request's decoded values, emptied and bounded before they go back to a pool.
package scratch

import (
	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
	"github.com/infergw/gwctl/internal/jsonlit"
)

// MaxKept bounds the elements a scratch slice (or map) keeps for the next request, and MaxBytes
// a byte buffer: one huge request does not pin its memory in the pool.
const (
	MaxKept  = 512
	MaxBytes = 64 << 10
)

// Reset empties *s, whole capacity included (elements past the length still hold values), or
// drops it when it grew past MaxKept.
func Reset[T any](s *[]T) {
	if cap(*s) > MaxKept {
		*s = nil
		return
	}
	*s = (*s)[:0]
	clear((*s)[:cap(*s)])
}

// ResetBytes empties *b and zeroes its bytes (they were a request's or a reply's), or drops it
// when it grew past MaxBytes.
func ResetBytes(b *[]byte) {
	if cap(*b) > MaxBytes {
		*b = nil
		return
	}
	*b = (*b)[:0]
	clear((*b)[:cap(*b)])
}

// New returns a zero T that is the next element of *pool, or a new T when pool is nil.
func New[T any](pool *[]T) *T {
	if pool == nil {
		return new(T)
	}
	*pool = append(*pool, *new(T)) // pointers handed out before keep the old array if it grows
	return &(*pool)[len(*pool)-1]
}

// Slice returns an empty slice of capacity n from the end of *pool (capped: appending beyond n
// copies it).
func Slice[T any](pool *[]T, n int) []T {
	start := len(*pool)
	if cap(*pool)-start < n {
		// A new backing array: slices handed out before keep the old one.
		*pool = append(make([]T, 0, max(2*cap(*pool), start+n, 16)), *pool...)
	}
	*pool = (*pool)[:start+n]
	return (*pool)[start : start : start+n]
}

// String is the JSON string literal lit (quotes included) as a string: lit's own bytes when it
// has no escape (plain), else unquoted onto the end of *raw. Either way the string aliases
// memory it does not own, so it must not outlive lit or the scratch.
func String(raw *[]byte, lit []byte, plain bool) string {
	if plain {
		return jsonscan.AliasString(lit[1 : len(lit)-1])
	}
	start := len(*raw)
	*raw = jsonlit.Append(*raw, lit[1:len(lit)-1]) // earlier strings keep the old array if it grows
	return jsonscan.AliasString((*raw)[start:])
}
