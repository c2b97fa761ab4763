package anthropic

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// scanner is a strict, validating JSON reader over a byte slice for the hand-written
// decoders of fastdecode.go. Every method reports false on anything it does not handle
// exactly like encoding/json (malformed input, a key that needs case folding, a duplicate
// field, a value of another type); the caller then decodes the whole input with
// encoding/json, so behaviour — including error messages — never depends on the fast path.
type scanner struct {
	b []byte
	i int
}

// maxScanDepth bounds nesting in skip; deeper input takes the encoding/json path.
const maxScanDepth = 256

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	return s.peek() == 'n' && s.literal("null")
}

// stringLit returns the next string literal with its quotes; plain is true when it has no
// escapes and only ASCII, i.e. its content is the decoded string.
func (s *scanner) stringLit() (lit []byte, plain, ok bool) {
	if s.peek() != '"' {
		return nil, false, false
	}
	start := s.i
	plain = true
	for i := start + 1; i < len(s.b); i++ {
		c := s.b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return s.b[start:s.i], plain, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			plain = false
			if i+1 >= len(s.b) {
				return nil, false, false
			}
			i++
			switch s.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[i+1 : i+5] {
					if !isHex(h) {
						return nil, false, false
					}
				}
				i += 4
			default:
				return nil, false, false
			}
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return nil, false, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// str decodes the next string literal as encoding/json does.
func (s *scanner) str() (string, bool) {
	lit, plain, ok := s.stringLit()
	if !ok {
		return "", false
	}
	if plain {
		return aliasString(lit[1 : len(lit)-1]), true
	}
	return unquote(lit)
}

// aliasString returns b as a string without copying. The decoded structs alias the request
// or response body, which is never modified after it is read; values that outlive the
// request (the model name, kept as a metric label) are cloned by the caller.
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// unquote decodes a validated string literal: simple escapes and valid UTF-8 here, \u
// escapes and invalid UTF-8 (which encoding/json replaces) through encoding/json.
func unquote(lit []byte) (string, bool) {
	in := lit[1 : len(lit)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch in[i] {
		case '"', '\\', '/':
			out = append(out, in[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default:
			return unquoteSlow(lit)
		}
	}
	if !utf8.Valid(out) {
		return unquoteSlow(lit)
	}
	return aliasString(out), true // out is not used again
}

func unquoteSlow(lit []byte) (string, bool) {
	var v string
	if err := json.Unmarshal(lit, &v); err != nil {
		return "", false
	}
	return v, true
}

// number returns the next number literal, validated against the JSON grammar.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	start, i, b := s.i, s.i, s.b
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	s.i = i
	return b[start:i], true
}

// int64 decodes an integer into an int64 field (encoding/json rejects fractions and exponents).
func (s *scanner) int64() (int64, bool) {
	lit, ok := s.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	return n, err == nil
}

func (s *scanner) float64() (float64, bool) {
	lit, ok := s.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	return f, err == nil
}

func (s *scanner) bool() (v, ok bool) {
	switch s.peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	}
	return false, false
}

// raw returns the next value's bytes (validated), as json.RawMessage receives them.
func (s *scanner) raw() (json.RawMessage, bool) {
	s.ws()
	start := s.i
	if !s.skip(0) {
		return nil, false
	}
	return s.b[start:s.i:s.i], true
}

// skip validates and skips the next value.
func (s *scanner) skip(depth int) bool {
	if depth > maxScanDepth {
		return false
	}
	switch s.peek() {
	case '"':
		_, _, ok := s.stringLit()
		return ok
	case '{':
		s.i++
		if s.consume('}') {
			return true
		}
		for {
			if _, _, ok := s.stringLit(); !ok || !s.consume(':') || !s.skip(depth+1) {
				return false
			}
			if s.consume(',') {
				continue
			}
			return s.consume('}')
		}
	case '[':
		s.i++
		if s.consume(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.consume(',') {
				continue
			}
			return s.consume(']')
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, ok := s.number()
		return ok
	}
}

// object calls field for each member of the next object with the scanner positioned at
// the value; field must consume the value. Keys with escapes are refused.
func (s *scanner) object(field func(key string) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		lit, plain, ok := s.stringLit()
		if !ok || !plain || !s.consume(':') {
			return false
		}
		// The key is only compared and never kept, so it aliases the input.
		if !field(unsafe.String(&lit[1], len(lit)-2)) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// array calls elem for each element of the next array; elem must consume it.
func (s *scanner) array(elem func() bool) bool {
	if !s.consume('[') {
		return false
	}
	if s.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

// unknown skips the value of a key the target struct does not have. A key with an upper
// case letter could match a field case-insensitively in encoding/json, so it is refused.
func (s *scanner) unknown(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return s.skip(0)
}

// fields tracks which fields of one object were set, to refuse duplicates (encoding/json
// merges a repeated object key into the earlier value).
type fields uint32

func (f *fields) first(bit uint) bool {
	if *f&(1<<bit) != 0 {
		return false
	}
	*f |= 1 << bit
	return true
}
