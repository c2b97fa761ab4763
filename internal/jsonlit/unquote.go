package jsonlit

import (
	"unicode/utf8"
)

// Next decodes the rune at body[i] of a string literal's body (without its quotes) that String
// accepted, as encoding/json does: an invalid UTF-8 byte or a lone surrogate escape is U+FFFD.
// It returns the rune and the offset after it; the caller stops at len(body).
func Next(body []byte, i int) (rune, int) {
	c := body[i]
	if c < utf8.RuneSelf && c != '\\' {
		return rune(c), i + 1
	}
	if c != '\\' {
		r, n := utf8.DecodeRune(body[i:])
		return r, i + n
	}
	if i+1 >= len(body) {
		return utf8.RuneError, len(body)
	}
	e := body[i+1]
	if e != 'u' {
		d, _ := Escape(e)
		return rune(d), i + 2
	}
	r := Hex(body, i+2, 4)
	i += 6
	if !isSurrogate(r) {
		if r < 0 {
			return utf8.RuneError, min(i, len(body))
		}
		return rune(r), i
	}
	if r < 0xDC00 && i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
		if lo := Hex(body, i+2, 4); lo >= 0xDC00 && lo < 0xE000 {
			return rune((r-0xD800)<<10|(lo-0xDC00)) + 0x10000, i + 6
		}
	}
	return utf8.RuneError, i
}

// Append appends the decoded body of a string literal that String accepted (strict or not) to
// dst, exactly as encoding/json decodes it.
func Append(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		// Copy the run of bytes that decode to themselves: ASCII but a backslash.
		j := i
		for j < len(body) && body[j] < utf8.RuneSelf && body[j] != '\\' {
			j++
		}
		dst = append(dst, body[i:j]...)
		if i = j; i >= len(body) {
			break
		}
		if body[i] != '\\' {
			if r, n := utf8.DecodeRune(body[i:]); r != utf8.RuneError || n > 1 {
				dst = append(dst, body[i:i+n]...)
				i += n
				continue
			}
		}
		var r rune
		r, i = Next(body, i)
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}
