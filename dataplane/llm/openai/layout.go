package openai

import (
	"bytes"

	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
	"github.com/infergw/gwctl/internal/jsonlit"
)

// chunkLayout is the layout of a stream's content deltas: an upstream writes every delta of a
// stream in the same bytes (id, created, model, index, finish_reason null, usage null) around
// its one string of text or arguments. Once one delta is known to need no decoding
// (needsProbe) and checked to be valid JSON with that one string in its delta, a chunk that is
// the same head, one string literal and the same tail has the same members outside the string,
// so it needs no decoding either: it is recognised by two compares and one quote search
// instead of a scan of its keys.
type chunkLayout struct {
	head, tail []byte // the learnt chunk before and after its delta's string literal
	tries      int
}

// maxLayoutTries bounds the chunks a stream checks for a layout (a stream whose deltas differ,
// or have several strings, stops trying).
const maxLayoutTries = 4

// match reports whether data is the layout's head, one string literal, and its tail.
func (l *chunkLayout) match(data []byte) bool {
	h, t := len(l.head), len(l.tail)
	if h == 0 || len(data) < h+t+2 || data[h] != '"' || !bytes.HasPrefix(data, l.head) || !bytes.HasSuffix(data, l.tail) {
		return false
	}
	end, _ := jsonlit.End(data, h)
	return end == len(data)-t
}

// learn takes data's layout when data is valid JSON whose "delta" members hold exactly one
// string value. data is a chunk needsProbe let through: the caller has checked that it has no
// usage, finish reason or error.
func (l *chunkLayout) learn(data []byte) {
	if l.tries >= maxLayoutTries {
		return
	}
	l.tries++
	s := jsonscan.Scanner{B: data}
	lo, hi, strs := 0, 0, 0
	var value func(depth int, inDelta bool) bool
	value = func(depth int, inDelta bool) bool {
		if depth > 32 {
			return false
		}
		switch s.Peek() {
		case '{':
			return s.Object(func(key string) bool { return value(depth+1, inDelta || key == "delta") })
		case '[':
			return s.Array(func() bool { return value(depth+1, inDelta) })
		case '"':
			if !inDelta {
				return s.Skip(depth)
			}
			strs++
			lo = s.I
			_, _, ok := s.StringLit()
			hi = s.I
			return ok
		}
		return s.Skip(depth)
	}
	if !value(0, false) || !s.End() || strs != 1 {
		return
	}
	b := make([]byte, 0, lo+len(data)-hi)
	b = append(b, data[:lo]...)
	b = append(b, data[hi:]...)
	l.head, l.tail = b[:lo:lo], b[lo:]
}
