package jsonstrict

import (
	"strconv"
	"strings"
)

// Error is a document the strict reader refuses. Path names the offending key or value
// ("params.name", "messages[2].role"); it is empty for the document as a whole.
type Error struct {
	Path   string
	Offset int // byte offset in the document
	Reason string
	// Key is set when the document is well-formed JSON but a key is refused: a duplicate, a key
	// equal to another under case folding, or a case variant of a member the schema reads.
	Key bool
}

func (e *Error) Error() string {
	if e.Path != "" {
		return e.Path + ": " + e.Reason
	}
	return e.Reason + " at offset " + strconv.Itoa(e.Offset)
}

// maxKeyInPath bounds how much of one key an error repeats.
const maxKeyInPath = 64

// appendKey appends a path step for a member key: ".name", or `["a.b"]` when the key is not
// a plain word (so a path reads unambiguously).
func appendKey(p []byte, lit []byte) []byte {
	var sb strings.Builder
	rr := runeReader{b: lit}
	plain := true
	for n := 0; ; n++ {
		r, ok := rr.next()
		if !ok {
			break
		}
		if n == maxKeyInPath {
			sb.WriteString("…")
			break
		}
		if !(r == '_' || r == '-' || r == '$' || r == '/' || r == '@' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r > 0x7f && strconv.IsPrint(r)) {
			plain = false
		}
		sb.WriteRune(r)
	}
	k := sb.String()
	if plain && k != "" {
		if len(p) > 0 {
			p = append(p, '.')
		}
		return append(p, k...)
	}
	p = append(p, '[')
	p = strconv.AppendQuote(p, k)
	return append(p, ']')
}
