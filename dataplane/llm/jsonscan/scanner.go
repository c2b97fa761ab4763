// Package jsonscan is the strict, validating JSON reader the providers' hand-written decoders
// (anthropic's and gemini's requests, replies and stream events) are built on.
package jsonscan

import (
	"encoding/json"
	"strconv"
	"unsafe"

	"github.com/infergw/gwctl/internal/jsonlit"
)

// Scanner reads JSON from B, starting at I. Every method reports false on anything it does not
// handle exactly like encoding/json (malformed input, a key that needs case folding, a
// duplicate field, a value of another type); the caller then decodes the whole input with
// encoding/json, so behaviour — including error messages — never depends on the fast path.
type Scanner struct {
	B []byte
	I int
	// Checked says B passed dataplane/jsonstrict's check (valid literals, valid UTF-8, no
	// duplicate keys): string literals are then found without validating them again, and one
	// without escapes is plain (its content is the decoded string) even when it is not ASCII.
	Checked bool
}

// maxDepth bounds nesting in Skip; deeper input takes the encoding/json path.
const maxDepth = 256

func (s *Scanner) WS() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

func (s *Scanner) Peek() byte {
	s.WS()
	if s.I < len(s.B) {
		return s.B[s.I]
	}
	return 0
}

func (s *Scanner) Consume(c byte) bool {
	if s.Peek() == c {
		s.I++
		return true
	}
	return false
}

// End reports whether only whitespace is left.
func (s *Scanner) End() bool {
	s.WS()
	return s.I == len(s.B)
}

func (s *Scanner) Literal(word string) bool {
	if len(s.B)-s.I >= len(word) && string(s.B[s.I:s.I+len(word)]) == word {
		s.I += len(word)
		return true
	}
	return false
}

// Null consumes a null literal if one is next.
func (s *Scanner) Null() bool {
	return s.Peek() == 'n' && s.Literal("null")
}

// StringLit returns the next string literal with its quotes; plain is true when it has no
// escapes and only ASCII (Checked: no escapes), i.e. its content is the decoded string.
func (s *Scanner) StringLit() (lit []byte, plain, ok bool) {
	if s.Peek() != '"' {
		return nil, false, false
	}
	start := s.I
	if s.Checked {
		end, escaped := jsonlit.End(s.B, start)
		if end < 0 {
			return nil, false, false
		}
		s.I = end
		return s.B[start:end], !escaped, true
	}
	end, flags, fault := jsonlit.String(s.B, start, false)
	if fault != 0 {
		return nil, false, false
	}
	s.I = end
	return s.B[start:end], flags == 0, true
}

// Str decodes the next string literal as encoding/json does.
func (s *Scanner) Str() (string, bool) {
	lit, plain, ok := s.StringLit()
	if !ok {
		return "", false
	}
	if plain {
		return AliasString(lit[1 : len(lit)-1]), true
	}
	return Unquote(lit)
}

// AliasString returns b as a string without copying. The decoded structs alias the request
// or response body, which is never modified after it is read; values that outlive the
// request (the model name, kept as a metric label) are cloned by the caller.
func AliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Unquote decodes a string literal StringLit returned, as encoding/json does.
func Unquote(lit []byte) (string, bool) {
	out := jsonlit.Append(make([]byte, 0, len(lit)), lit[1:len(lit)-1])
	return AliasString(out), true // out is not used again
}

// Number returns the next number literal, validated against the JSON grammar.
func (s *Scanner) Number() ([]byte, bool) {
	s.WS()
	end := jsonlit.Number(s.B, s.I)
	if end < 0 {
		return nil, false
	}
	lit := s.B[s.I:end]
	s.I = end
	return lit, true
}

// Int64 decodes an integer into an int64 field (encoding/json rejects fractions and exponents).
func (s *Scanner) Int64() (int64, bool) {
	lit, ok := s.Number()
	if !ok {
		return 0, false
	}
	// Up to 18 digits cannot overflow: summed here, without strconv's checks.
	digits := lit
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > 18 {
		n, err := strconv.ParseInt(string(lit), 10, 64)
		return n, err == nil
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false // a fraction or an exponent
		}
		n = n*10 + int64(c-'0')
	}
	if lit[0] == '-' {
		n = -n
	}
	return n, true
}

func (s *Scanner) Float64() (float64, bool) {
	lit, ok := s.Number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	return f, err == nil
}

func (s *Scanner) Bool() (v, ok bool) {
	switch s.Peek() {
	case 't':
		return true, s.Literal("true")
	case 'f':
		return false, s.Literal("false")
	}
	return false, false
}

// Raw returns the next value's bytes (validated), as json.RawMessage receives them.
func (s *Scanner) Raw() (json.RawMessage, bool) {
	s.WS()
	start := s.I
	if !s.Skip(0) {
		return nil, false
	}
	return s.B[start:s.I:s.I], true
}

// Skip validates and skips the next value.
func (s *Scanner) Skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch s.Peek() {
	case '"':
		_, _, ok := s.StringLit()
		return ok
	case '{':
		s.I++
		if s.Consume('}') {
			return true
		}
		for {
			if _, _, ok := s.StringLit(); !ok || !s.Consume(':') || !s.Skip(depth+1) {
				return false
			}
			if s.Consume(',') {
				continue
			}
			return s.Consume('}')
		}
	case '[':
		s.I++
		if s.Consume(']') {
			return true
		}
		for {
			if !s.Skip(depth + 1) {
				return false
			}
			if s.Consume(',') {
				continue
			}
			return s.Consume(']')
		}
	case 't':
		return s.Literal("true")
	case 'f':
		return s.Literal("false")
	case 'n':
		return s.Literal("null")
	default:
		_, ok := s.Number()
		return ok
	}
}

// Object calls field for each member of the next object with the scanner positioned at
// the value; field must consume the value. Keys with escapes are refused.
func (s *Scanner) Object(field func(key string) bool) bool {
	if !s.Consume('{') {
		return false
	}
	if s.Consume('}') {
		return true
	}
	for {
		lit, plain, ok := s.StringLit()
		if !ok || !plain || !s.Consume(':') {
			return false
		}
		// The key is only compared and never kept, so it aliases the input.
		if !field(unsafe.String(&lit[1], len(lit)-2)) {
			return false
		}
		if s.Consume(',') {
			continue
		}
		return s.Consume('}')
	}
}

// Array calls elem for each element of the next array; elem must consume it.
func (s *Scanner) Array(elem func() bool) bool {
	if !s.Consume('[') {
		return false
	}
	if s.Consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.Consume(',') {
			continue
		}
		return s.Consume(']')
	}
}

// Unknown skips the value of a key the target struct does not have. A key with an upper
// case letter could match a field case-insensitively in encoding/json, so it is refused.
func (s *Scanner) Unknown(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return s.Skip(0)
}

// Fields tracks which fields of one object were set, to refuse duplicates (encoding/json
// merges a repeated object key into the earlier value).
type Fields uint32

// First records that the field of bit was read and reports whether it was the first time.
func (f *Fields) First(bit uint) bool {
	if *f&(1<<bit) != 0 {
		return false
	}
	*f |= 1 << bit
	return true
}
