package gemini

import "github.com/infergw/gwctl/dataplane/llm"

// Most events of a Gemini stream are one candidate's next piece of plain text with the usage
// so far:
//
//	{"candidates": [{"content": {"parts": [{"text": "…"}],"role": "model"},"index": 0}],
//	 "usageMetadata": {…},"modelVersion": "…","responseId": "…"}
//
// fastTextEvent reads exactly that shape in one pass (the general path checks the event
// strictly, then walks it again member by member, and allocates the event's structs) and
// copies a text literal that is printable ASCII without escapes into the chunk as it is, which
// is what re-encoding it would write. Anything else (another member, a duplicate, a finish
// reason, a thought, a function call, escapes or non-ASCII in the text, a number that is not a
// plain integer) leaves the event to the general path, which writes the same bytes:
// TestFastStreamMatchesGeneralPath and FuzzDecodeResponse compare the two.

// evScan is a validating reader over one event.
type evScan struct {
	b []byte
	i int
}

func (s *evScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next consumes c after optional whitespace.
func (s *evScan) next(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string literal and returns it with its quotes; plain reports printable ASCII
// without escapes.
func (s *evScan) str() (lit []byte, plain, ok bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
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
			i++
			if i >= len(s.b) {
				return nil, false, false
			}
			switch s.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.b) || !isHex(s.b[i+1]) || !isHex(s.b[i+2]) || !isHex(s.b[i+3]) || !isHex(s.b[i+4]) {
					return nil, false, false
				}
				i += 4
			default:
				return nil, false, false
			}
		case c >= 0x80:
			plain = false
		}
	}
	return nil, false, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// key reads a member name and its colon; the name must be plain (a name with escapes might
// be a known one in disguise).
func (s *evScan) key() ([]byte, bool) {
	lit, plain, ok := s.str()
	if !ok || !plain || !s.next(':') {
		return nil, false
	}
	return lit[1 : len(lit)-1], true
}

// int reads an integer as encoding/json reads it into an int64: digits with an optional minus,
// no fraction or exponent, at most 18 digits (so it cannot overflow).
func (s *evScan) int() (int64, bool) {
	s.ws()
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start := s.i
	var n int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 18 || digits > 1 && s.b[start] == '0' {
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// members reads an object, calling f after each member's name; f reads the value. Each name
// may appear once among those f accepts (seen bits by f's index); false on anything else.
func (s *evScan) members(f func(key []byte) bool) bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		k, ok := s.key()
		if !ok || !f(k) {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// elements reads an array, calling f for each element.
func (s *evScan) elements(f func(i int) bool) bool {
	if !s.next('[') {
		return false
	}
	if s.next(']') {
		return true
	}
	for i := 0; ; i++ {
		if !f(i) {
			return false
		}
		if s.next(']') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// once records that the member with bit was read; a second one is a duplicate.
func once(seen *uint32, bit uint32) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// details skips a usage details list: [{"modality": "TEXT","tokenCount": 9}, …].
func (s *evScan) details() bool {
	return s.elements(func(int) bool {
		var seen uint32
		return s.members(func(k []byte) bool {
			switch string(k) {
			case "modality":
				_, _, ok := s.str()
				return once(&seen, 1) && ok
			case "tokenCount":
				_, ok := s.int()
				return once(&seen, 2) && ok
			}
			return false
		})
	})
}

// textEvent is what fastTextEvent read.
type textEvent struct {
	index    int64
	seen     bool   // a candidate was read
	lit      []byte // the text's literal, quotes included; empty text: nil
	usage    usageMetadata
	thoughts int64
	hasUsage bool
}

// fastTextEvent reads an event of the common shape (see above) into ev.
func fastTextEvent(data []byte, ev *textEvent) bool {
	s := evScan{b: data}
	var top uint32
	ok := s.members(func(k []byte) bool {
		switch string(k) {
		case "candidates":
			return once(&top, 1) && s.elements(func(i int) bool { ev.seen = true; return i == 0 && s.candidate(ev) })
		case "usageMetadata":
			ev.hasUsage = true
			return once(&top, 2) && s.usage(ev)
		case "modelVersion":
			_, _, ok := s.str()
			return once(&top, 4) && ok
		case "responseId":
			_, _, ok := s.str()
			return once(&top, 8) && ok
		}
		return false
	})
	s.ws()
	return ok && s.i == len(s.b) && ev.seen
}

func (s *evScan) candidate(ev *textEvent) bool {
	var seen uint32
	return s.members(func(k []byte) bool {
		switch string(k) {
		case "index":
			n, ok := s.int()
			ev.index = n
			return once(&seen, 1) && ok
		case "content":
			var cs uint32
			return once(&seen, 2) && s.members(func(k []byte) bool {
				switch string(k) {
				case "role":
					_, _, ok := s.str()
					return once(&cs, 1) && ok
				case "parts":
					return once(&cs, 2) && s.elements(func(i int) bool {
						var ps uint32
						return i == 0 && s.members(func(k []byte) bool {
							if string(k) != "text" || !once(&ps, 1) {
								return false
							}
							lit, plain, ok := s.str()
							if len(lit) > 2 {
								ev.lit = lit
							}
							return ok && plain
						}) && ps != 0
					})
				}
				return false
			}) && cs&2 != 0
		}
		return false
	}) && seen&2 != 0
}

func (s *evScan) usage(ev *textEvent) bool {
	var seen uint32
	u := &ev.usage
	num := func(bit uint32, dst *int64) bool {
		n, ok := s.int()
		*dst = n
		return once(&seen, bit) && ok
	}
	return s.members(func(k []byte) bool {
		switch string(k) {
		case "promptTokenCount":
			return num(1, &u.PromptTokenCount)
		case "candidatesTokenCount":
			return num(2, &u.CandidatesTokenCount)
		case "totalTokenCount":
			return num(4, &u.TotalTokenCount)
		case "cachedContentTokenCount":
			return num(8, &u.CachedContentTokenCount)
		case "toolUsePromptTokenCount":
			return num(16, &u.ToolUsePromptTokenCount)
		case "thoughtsTokenCount":
			if !num(32, &ev.thoughts) {
				return false
			}
			u.ThoughtsTokenCount = &ev.thoughts
			return true
		case "promptTokensDetails":
			return once(&seen, 64) && s.details()
		case "candidatesTokensDetails":
			return once(&seen, 128) && s.details()
		case "cacheTokensDetails":
			return once(&seen, 256) && s.details()
		case "toolUsePromptTokensDetails":
			return once(&seen, 512) && s.details()
		}
		return false
	})
}

// fastEvent translates an event of the common shape; handled is false when the general path
// must (also before the stream has started, and for a candidate that has not started or has
// finished: those write other chunks first, or none).
func (s *streamState) fastEvent(data []byte, w llm.ChunkWriter) (handled bool, err error) {
	if !fastJSON || !s.started {
		return false, nil
	}
	var ev textEvent
	if !fastTextEvent(data, &ev) || ev.index < 0 || ev.index >= int64(len(s.choices)) {
		return false, nil
	}
	idx := int(ev.index)
	if ch := &s.choices[idx]; !ch.started || ch.finished {
		return false, nil
	}
	if ev.hasUsage {
		s.usage, s.hasUsage = ev.usage.usage(), true
	}
	if ev.lit == nil {
		return true, nil
	}
	b := s.begin(idx)
	b = append(b, `{"content":`...)
	b = append(b, ev.lit...)
	b = append(b, '}')
	return true, s.end(w, b, "")
}
