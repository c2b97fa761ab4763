package jsonvalue

import (
	"encoding/json"
	"unicode/utf8"
)

// AppendString is encoding/json's string encoder with HTML escaping on (Marshal's default).
func AppendString(b []byte, s string) []byte {
	if !fast {
		j, _ := json.Marshal(s) // a string always encodes
		return append(b, j...)
	}
	return appendString(b, s, &htmlSafe)
}

// AppendStringNoHTML is encoding/json's string encoder with HTML escaping off (an Encoder after
// SetEscapeHTML(false)): for bodies never read as HTML (SSE data lines, API error bodies), where
// <, > and & stay as they are. U+2028, U+2029 and invalid UTF-8 are still escaped, so the output
// is safe in an SSE data line and in JavaScript.
func AppendStringNoHTML(b []byte, s string) []byte { return appendString(b, s, &plainSafe) }

const hexDigits = "0123456789abcdef"

// plainSafe and htmlSafe hold the ASCII bytes written as they are; the tables keep one loop for both
// modes without a branch per byte on the mode.
var plainSafe, htmlSafe = safeSets()

func safeSets() (plain, html [utf8.RuneSelf]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return plain, html
}

func appendString(b []byte, s string, keep *[utf8.RuneSelf]bool) []byte {
	b = append(b, '"')
	// Only the plain table's runs go a word at a time: with HTML escaping, text has more bytes
	// to stop at and short strings came out no faster.
	words := 0
	if keep != &plainSafe {
		words = len(s)
	}
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time over a run written as it is (most of a prompt); the byte loop
		// takes the eight that hold anything else, and the words resume after them (trying a
		// word at every byte would make text with many escapes slower).
		if i >= words {
			for i+8 <= len(s) && plain8(load8(s, i)) {
				i += 8
			}
			if words = i + 8; i >= len(s) {
				break
			}
		}
		if c := s[i]; c < utf8.RuneSelf {
			if keep[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// SWAR constants: a one and a high bit in every byte of a word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word (one load: the compiler combines the bytes).
func load8(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// hasByte reports whether a byte of v equals c (exact: the classic zero-byte test on v^c).
func hasByte(v uint64, c byte) bool {
	x := v ^ (ones * uint64(c))
	return (x-ones)&^x&highs != 0
}

// plain8 reports that all eight bytes of v are in plainSafe: ASCII, not a control, not '"' or
// '\\'. (x-ones*0x20)&^x&highs is the exact "some byte below 0x20" test for bytes below 0x80.
func plain8(v uint64) bool {
	return v&highs == 0 && (v-ones*0x20)&^v&highs == 0 && !hasByte(v, '"') && !hasByte(v, '\\')
}
