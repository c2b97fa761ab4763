package anthropic

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Most events of a stream are text or tool-argument deltas in one fixed layout. They are
// recognised here without reflection, and their JSON string literal is copied into the
// output chunk as it is (it is validated first), so the hot path allocates nothing.

var (
	deltaPrefix = []byte(`{"type":"content_block_delta","index":`)
	textInfix   = []byte(`,"delta":{"type":"text_delta","text":`)
	jsonInfix   = []byte(`,"delta":{"type":"input_json_delta","partial_json":`)
)

// fastDelta parses `{"type":"content_block_delta","index":N,"delta":{"type":T,F:"…"}}` for
// T text_delta (text) and input_json_delta (partial_json); lit is the JSON string literal,
// plain reports that it is ASCII without escapes (so it decodes to len(lit)-2 characters).
func fastDelta(data []byte) (index int, isText bool, lit []byte, plain, ok bool) {
	rest, found := bytes.CutPrefix(data, deltaPrefix)
	if !found {
		return 0, false, nil, false, false
	}
	n := 0
	for n < len(rest) && n < 6 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false, nil, false, false
	}
	index, err := strconv.Atoi(string(rest[:n]))
	if err != nil {
		return 0, false, nil, false, false
	}
	rest = rest[n:]
	if r, f := bytes.CutPrefix(rest, textInfix); f {
		rest, isText = r, true
	} else if r, f := bytes.CutPrefix(rest, jsonInfix); f {
		rest = r
	} else {
		return 0, false, nil, false, false
	}
	if len(rest) == 0 || rest[0] != '"' {
		return 0, false, nil, false, false
	}
	end := 1
	var high byte // OR of the literal's bytes: >= 0x80 when it has non-ASCII
	escaped := false
	for ; end < len(rest); end++ {
		c := rest[end]
		if c == '\\' {
			escaped = true
			end++
			continue
		}
		if c == '"' {
			break
		}
		high |= c
	}
	if end >= len(rest) {
		return 0, false, nil, false, false
	}
	lit, tail := rest[:end+1], rest[end+1:]
	braces := 0
	for _, c := range tail {
		switch c {
		case '}':
			braces++
		case ' ', '\t', '\r', '\n':
		default:
			return 0, false, nil, false, false
		}
	}
	if braces != 2 || !json.Valid(lit) {
		return 0, false, nil, false, false
	}
	return index, isText, lit, !escaped && high < 0x80, true
}

// fastEvent handles a delta recognised by fastDelta; handled is false when the event needs
// the general path.
func (s *streamState) fastEvent(data []byte, w chunkWriter) (handled bool, err error) {
	if !fastJSON || !s.started {
		return false, nil
	}
	index, isText, lit, plain, ok := fastDelta(data)
	if !ok {
		return false, nil
	}
	bs := s.block(index)
	if bs == nil || len(lit) == 2 { // unknown block or empty string: nothing to emit
		return true, nil
	}
	b := s.ch.Begin(0)
	switch {
	case isText && bs.kind == kindText:
		n := len(lit) - 2
		if !plain {
			n = literalRunes(lit)
		}
		s.runes += n
		bs.runes += n
		b = append(b, `{"content":`...)
		b = append(b, lit...)
		b = append(b, '}')
	case !isText && bs.kind == kindTool:
		bs.sawArgs = true
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(bs.slot), 10)
		b = append(b, `,"function":{"arguments":`...)
		b = append(b, lit...)
		b = append(b, `}}]}`...)
	case !isText && bs.kind == kindJSONTool:
		bs.sawArgs = true
		n := len(lit) - 2
		if !plain {
			n = literalRunes(lit)
		}
		s.runes += n
		bs.runes += n
		b = append(b, `{"content":`...)
		b = append(b, lit...)
		b = append(b, '}')
	default:
		return true, nil
	}
	return true, s.ch.End(w, b, "")
}
