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
	start := 0
	for i := 0; i < len(s); {
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
