package jsonstrict

import (
	"encoding/json"
	"hash/maphash"
	"unicode"
	"unicode/utf8"

	"github.com/infergw/gwctl/internal/jsonlit"
)

// Keys are compared under the case folding of encoding/json (bytes.EqualFold: simple Unicode
// folding, so "ſ" equals "s" and the Kelvin sign equals "k"): each rune is replaced by the
// smallest rune of its fold orbit, which for ASCII letters is the upper case letter.

// foldRune returns the smallest rune of r's fold orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// hashSeed keys the hash of folded keys per process, so a body cannot be built whose keys all
// land in one slot of a large object's duplicate table.
var hashSeed = maphash.MakeSeed()

// foldHashLen is how many folded bytes keyHash hashes in one call; longer keys are streamed.
const foldHashLen = 128

// keyHash hashes the folded runes of a validated string literal body (plain: ASCII without
// escapes), each folded rune as its UTF-8 bytes, so keys equal under folding hash alike.
func keyHash(lit []byte, plain bool) uint64 {
	var buf [foldHashLen + utf8.UTFMax]byte
	var h *maphash.Hash
	n := 0
	add := func(b byte) {
		buf[n] = b
		n++
	}
	flush := func() {
		if h == nil {
			h = new(maphash.Hash)
			h.SetSeed(hashSeed)
		}
		_, _ = h.Write(buf[:n])
		n = 0
	}
	if plain {
		for _, c := range lit {
			if n == foldHashLen {
				flush()
			}
			add(upper(c))
		}
	} else {
		rr := runeReader{b: lit}
		for {
			r, ok := rr.next()
			if !ok {
				break
			}
			if n >= foldHashLen {
				flush()
			}
			n += utf8.EncodeRune(buf[n:], foldRune(r))
		}
	}
	if h == nil {
		return maphash.Bytes(hashSeed, buf[:n])
	}
	flush()
	return h.Sum64()
}

// foldHash is keyHash of a member name.
func foldHash(s string) uint64 {
	lit, _ := json.Marshal(s)
	return keyHash(lit[1:len(lit)-1], false)
}

// runeReader yields the decoded runes of a validated string literal (without its quotes).
type runeReader struct {
	b []byte
	i int
}

func (rr *runeReader) next() (rune, bool) {
	if rr.i >= len(rr.b) {
		return 0, false
	}
	var r rune
	r, rr.i = jsonlit.Next(rr.b, rr.i)
	return r, true
}

// literalEqual reports whether two validated string literal bodies decode to the same string,
// or to strings equal under folding when fold is set.
func literalEqual(a, b []byte, fold bool) bool {
	ra, rb := runeReader{b: a}, runeReader{b: b}
	for {
		x, okx := ra.next()
		y, oky := rb.next()
		if !okx || !oky {
			return okx == oky
		}
		if x != y && (!fold || foldRune(x) != foldRune(y)) {
			return false
		}
	}
}

// literalIs reports whether a validated string literal body decodes to s (exactly, or under
// folding when fold is set).
func literalIs(lit []byte, s string, fold bool) bool {
	rr := runeReader{b: lit}
	for _, y := range s {
		x, ok := rr.next()
		if !ok || x != y && (!fold || foldRune(x) != foldRune(y)) {
			return false
		}
	}
	_, more := rr.next()
	return !more
}
