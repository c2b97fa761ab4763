package jsonlit

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Flags say what a scanned string literal holds beyond plain ASCII.
type Flags uint8

const (
	Escaped  Flags = 1 << iota // a backslash escape
	NonASCII                   // a byte of 0x80 or above
)

// Fault is why a literal is refused; 0 when it is not.
type Fault uint8

const (
	Unterminated Fault = iota + 1
	Control
	BadUnicodeEscape
	BadEscape
	// LoneSurrogate and BadUTF8 are refused only by a strict scan: encoding/json accepts them
	// and decodes each to U+FFFD, as Append does.
	LoneSurrogate
	BadUTF8
)

var faultText = [...]string{"", "unterminated string", "control character in string", "invalid \\u escape",
	"invalid escape", "unpaired surrogate escape", "invalid UTF-8"}

func (f Fault) String() string { return faultText[f] }

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// String scans the string literal at b[i] (a '"') and returns the offset after its closing
// quote. On a fault, end is the offset the fault is at (the backslash of a bad escape). strict
// also refuses what encoding/json accepts but other parsers may read differently: invalid UTF-8
// and a \u escape of a surrogate that is not the first of a pair followed by the second.
func String(b []byte, i int, strict bool) (end int, flags Flags, fault Fault) {
	i++
	for {
		// Eight bytes at a time to the next that is a quote, a backslash, a control or
		// non-ASCII: the lowest flagged byte of a word is the first such (a borrow only flags
		// bytes above a flagged one).
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q, bs := x^(lsb*'"'), x^(lsb*'\\')
			if m := ((q-lsb)&^q | (bs-lsb)&^bs | (x - lsb*0x20) | x) & msb; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, flags, Unterminated
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, flags, 0
		case c < 0x20:
			return i, flags, Control
		case c == '\\':
			flags |= Escaped
			if i+1 >= len(b) {
				return i, flags, Unterminated
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r := Hex(b, i+2, 4)
				if r < 0 {
					return i, flags, BadUnicodeEscape
				}
				if strict && isSurrogate(r) {
					if r >= 0xDC00 || i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
						return i, flags, LoneSurrogate
					}
					if lo := Hex(b, i+8, 4); lo < 0xDC00 || lo >= 0xE000 {
						return i, flags, LoneSurrogate
					}
					i += 6
				}
				i += 6
			default:
				return i, flags, BadEscape
			}
		case c >= utf8.RuneSelf:
			flags |= NonASCII
			if !strict {
				i++
				continue
			}
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return i, flags, BadUTF8
			}
			i += n
		default:
			i++
		}
	}
}

func isSurrogate(r int) bool { return r >= 0xD800 && r < 0xE000 }

// Hex decodes the n (at most 8) hex digits at s[i:]; -1 when they are not.
func Hex[T ~string | ~[]byte](s T, i, n int) int {
	if i+n > len(s) {
		return -1
	}
	r := 0
	for k := i; k < i+n; k++ {
		c := s[k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | int(c)
	}
	return r
}

// Escape returns the byte a one-character escape (the c of \c) stands for: the escapes of
// JSON, of which YAML's double-quoted style has all but \/.
func Escape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// End returns the offset after the string literal at b[i] (a '"') of a document String already
// accepted, found without validating it again, and whether the literal has escapes; end is -1
// when no quote ends it.
func End(b []byte, i int) (end int, escaped bool) {
	i++
	for {
		// Eight bytes at a time to the next quote or backslash, as String does (the lowest
		// flagged byte of a word is the first); most literals are short keys, where a call to
		// bytes.IndexByte per quote costs more than the scan.
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q, bs := x^(lsb*'"'), x^(lsb*'\\')
			if m := ((q-lsb)&^q | (bs-lsb)&^bs) & msb; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1, false
		}
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			escaped = true
			i += 2 // the escaped byte is never the closing quote
		default:
			i++
		}
	}
}
