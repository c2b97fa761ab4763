package jsonstrict

import (
	"strconv"
	"sync"

	"github.com/infergw/gwctl/internal/jsonlit"
)

// MaxDepth is the deepest nesting of objects and arrays a document may have. Request bodies
// nest a few levels; the bound keeps a hostile body from costing more than its length.
const MaxDepth = 512

// smallObject is the number of keys an object may have before its duplicate check uses a hash
// table instead of comparing with every earlier key.
const smallObject = 16

// Check validates doc as one strict JSON value: RFC 8259 syntax with nothing but whitespace
// after the value, valid UTF-8, \u escapes that are Unicode scalar values, nesting up to
// MaxDepth, and in every object no key that equals an earlier key of that object exactly or
// under encoding/json's case folding. A refusal is an *Error naming the path.
func Check(doc []byte) error {
	return (*Schema)(nil).Read(doc, nil)
}

// Read checks doc as Check does and, in the same pass, refuses a key that is not one of the
// schema's member names but equals one under case folding (encoding/json would decode it into
// that member; every other parser ignores it), and stores the value of each captured path in
// vals[slot]. vals must have s.Slots() elements; a value that is absent stays nil.
func (s *Schema) Read(doc []byte, vals []Value) error {
	for i := range vals {
		vals[i] = nil
	}
	sc := scanners.Get().(*scanner)
	sc.b = doc
	var root *Shape
	if s != nil {
		root = &s.root
	}
	err := sc.run(root, vals)
	sc.b = nil
	sc.stack, sc.keys = sc.stack[:0], sc.keys[:0]
	scanners.Put(sc)
	return err
}

var scanners = sync.Pool{New: func() any {
	return &scanner{stack: make([]frame, 0, 16), keys: make([]keyRec, 0, 64)}
}}

type scanner struct {
	b     []byte
	stack []frame
	keys  []keyRec // keys of the objects open on the stack, innermost last
}

// frame is one open object or array.
type frame struct {
	shape *Shape
	start int     // offset of '{' or '['
	slot  int     // capture slot of this value, -1 for none
	array bool    // else object
	index int     // array: index of the current element
	keys  int     // object: index in scanner.keys of its first key
	key   int     // object: index in scanner.keys of the current key
	table []int32 // object with more than smallObject keys: indexes into scanner.keys, -1 empty
}

// keyRec is one key of an open object: the body of its literal and its folded hash.
type keyRec struct {
	off, end int
	hash     uint64
	plain    bool // ASCII without escapes: the literal body is the key
}

func (sc *scanner) fail(off int, reason string) *Error {
	return &Error{Path: sc.path(), Offset: off, Reason: reason}
}

func (sc *scanner) keyFail(off int, reason string) *Error {
	e := sc.fail(off, reason)
	e.Key = true
	return e
}

// maxPath bounds the length of the path an error names.
const maxPath = 256

// path renders the position of the value being read from the stack.
func (sc *scanner) path() string {
	var p []byte
	for i := range sc.stack {
		if len(p) > maxPath {
			return string(p) + "…"
		}
		f := &sc.stack[i]
		if f.array {
			p = append(p, '[')
			p = strconv.AppendInt(p, int64(f.index), 10)
			p = append(p, ']')
			continue
		}
		if f.key < 0 {
			break
		}
		k := sc.keys[f.key]
		p = appendKey(p, sc.b[k.off:k.end])
	}
	return string(p)
}

func ws(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (sc *scanner) run(shape *Shape, vals []Value) error {
	b := sc.b
	slot := -1
	if shape != nil {
		slot = shape.slot
	}
	i := ws(b, 0)
	for {
		// A value starts at i; shape and slot describe it.
		if i >= len(b) {
			return sc.fail(i, "unexpected end of JSON input")
		}
		start := i
		closed := false // an empty container was opened and closed
		switch c := b[i]; c {
		case '{', '[':
			if len(sc.stack) >= MaxDepth {
				return sc.fail(i, "nested deeper than "+strconv.Itoa(MaxDepth)+" levels")
			}
			sc.stack = append(sc.stack, frame{shape: shape, start: i, slot: slot, array: c == '[', keys: len(sc.keys), key: -1})
			i = ws(b, i+1)
			if c == '[' {
				if i < len(b) && b[i] == ']' {
					i, closed = i+1, true
					break
				}
				shape, slot = elems(shape), -1
				continue
			}
			if i < len(b) && b[i] == '}' {
				i, closed = i+1, true
				break
			}
			var err error
			if i, shape, slot, err = sc.member(i); err != nil {
				return err
			}
			continue
		case '"':
			end, _, err := sc.str(i, false)
			if err != nil {
				return err
			}
			i = end
		case 't':
			i = sc.literal(i, "true")
		case 'f':
			i = sc.literal(i, "false")
		case 'n':
			i = sc.literal(i, "null")
		default:
			i = sc.number(i)
		}
		if i < 0 {
			return sc.fail(start, "invalid value")
		}
		if !closed && slot >= 0 {
			vals[slot] = Value(b[start:i:i])
		}
		// After a value: close the containers that end here, or go on to the next member.
		for {
			if len(sc.stack) == 0 {
				if i = ws(b, i); i != len(b) {
					return sc.fail(i, "invalid character after the JSON value")
				}
				return nil
			}
			f := &sc.stack[len(sc.stack)-1]
			if !closed {
				closing := byte('}')
				if f.array {
					closing = ']'
				}
				i = ws(b, i)
				if i < len(b) && b[i] == ',' {
					i = ws(b, i+1)
					if f.array {
						f.index++
						shape, slot = elems(f.shape), -1
					} else {
						var err error
						if i, shape, slot, err = sc.member(i); err != nil {
							return err
						}
					}
					break
				}
				if i >= len(b) {
					return sc.fail(i, "unexpected end of JSON input")
				}
				if b[i] != closing {
					return sc.fail(i, "expected ',' or '"+string(closing)+"'")
				}
				i++
			}
			closed = false
			if f.slot >= 0 {
				vals[f.slot] = Value(b[f.start:i:i])
			}
			if !f.array {
				sc.keys = sc.keys[:f.keys]
			}
			sc.stack = sc.stack[:len(sc.stack)-1]
		}
	}
}

func elems(s *Shape) *Shape {
	if s == nil {
		return nil
	}
	return s.elems
}

// member reads a key and its colon at i in the innermost object, refuses a duplicate, and
// returns the offset of the value with the shape and capture slot the schema gives it.
func (sc *scanner) member(i int) (int, *Shape, int, error) {
	b := sc.b
	f := &sc.stack[len(sc.stack)-1]
	f.key = -1 // an error before the key is read names the object
	if i >= len(b) || b[i] != '"' {
		if i >= len(b) {
			return 0, nil, -1, sc.fail(i, "unexpected end of JSON input")
		}
		return 0, nil, -1, sc.fail(i, "expected a string key")
	}
	end, k, err := sc.str(i, true)
	if err != nil {
		return 0, nil, -1, err
	}
	sc.keys = append(sc.keys, k)
	f.key = len(sc.keys) - 1
	if dup := sc.duplicate(f); dup >= 0 {
		d := sc.keys[dup]
		if literalEqual(b[d.off:d.end], b[k.off:k.end], false) {
			return 0, nil, -1, sc.keyFail(i, "duplicate key")
		}
		return 0, nil, -1, sc.keyFail(i, "key equals the earlier key "+quoteLit(b[d.off:d.end])+" under case folding; keys must differ in more than case")
	}
	var shape *Shape
	slot := -1
	if f.shape != nil {
		m, ok, variant := f.shape.match(b[k.off:k.end], k)
		if variant != "" {
			return 0, nil, -1, sc.keyFail(i, "unknown key; member names are case-sensitive (the gateway reads "+strconv.Quote(variant)+")")
		}
		if ok {
			shape, slot = m, m.slot
		}
	}
	i = ws(b, end)
	if i >= len(b) || b[i] != ':' {
		return 0, nil, -1, sc.fail(i, "expected ':' after the key")
	}
	return ws(b, i+1), shape, slot, nil
}

func quoteLit(lit []byte) string {
	p := appendKey(nil, lit)
	if len(p) > 0 && p[0] == '[' {
		return string(p[1 : len(p)-1])
	}
	return strconv.Quote(string(p))
}

// duplicate returns the index in sc.keys of an earlier key of f equal to its current key under
// folding, or -1.
func (sc *scanner) duplicate(f *frame) int {
	n := f.key - f.keys
	k := sc.keys[f.key]
	if n < smallObject {
		for j := f.keys; j < f.key; j++ {
			if sc.keys[j].hash == k.hash && sc.foldEqual(sc.keys[j], k) {
				return j
			}
		}
		return -1
	}
	if n == smallObject || 2*n > len(f.table) {
		sc.rehash(f, n)
	}
	mask := uint64(len(f.table) - 1)
	for h := k.hash & mask; ; h = (h + 1) & mask {
		j := f.table[h]
		if j < 0 {
			f.table[h] = int32(f.key)
			return -1
		}
		if sc.keys[j].hash == k.hash && sc.foldEqual(sc.keys[j], k) {
			return int(j)
		}
	}
}

// rehash builds f's table of its first n keys, four slots per key.
func (sc *scanner) rehash(f *frame, n int) {
	size := 64
	for size < 4*n {
		size *= 2
	}
	if cap(f.table) >= size {
		f.table = f.table[:size]
	} else {
		f.table = make([]int32, size)
	}
	for j := range f.table {
		f.table[j] = -1
	}
	mask := uint64(size - 1)
	for j := f.keys; j < f.keys+n; j++ {
		h := sc.keys[j].hash & mask
		for f.table[h] >= 0 {
			h = (h + 1) & mask
		}
		f.table[h] = int32(j)
	}
}

func (sc *scanner) foldEqual(a, b keyRec) bool {
	x, y := sc.b[a.off:a.end], sc.b[b.off:b.end]
	if a.plain && b.plain {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if upper(x[i]) != upper(y[i]) {
				return false
			}
		}
		return true
	}
	return literalEqual(x, y, true)
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

func (sc *scanner) literal(i int, word string) int {
	if len(sc.b)-i >= len(word) && string(sc.b[i:i+len(word)]) == word {
		return i + len(word)
	}
	return -1
}

// number validates a number literal at i and returns its end, or -1.
func (sc *scanner) number(i int) int {
	return jsonlit.Number(sc.b, i)
}

// str validates the string literal at i (b[i] == '"') and returns its end and, for a key, its
// body and folded hash.
func (sc *scanner) str(i int, key bool) (int, keyRec, error) {
	end, flags, fault := jsonlit.String(sc.b, i, true)
	if fault != 0 {
		return 0, keyRec{}, sc.fail(end, fault.String())
	}
	k := keyRec{off: i + 1, end: end - 1, plain: flags == 0}
	if key {
		k.hash = keyHash(sc.b[k.off:k.end], k.plain)
	}
	return end, k, nil
}
