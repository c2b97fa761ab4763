package gemini

import (
	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
)

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

// evScan is jsonscan's reader with the event's members.
type evScan struct{ jsonscan.Scanner }

// elements reads an array, calling f with each element's index.
func (s *evScan) elements(f func(i int) bool) bool {
	i := 0
	return s.Array(func() bool { i++; return f(i - 1) })
}

// details skips a usage details list: [{"modality": "TEXT","tokenCount": 9}, …].
func (s *evScan) details() bool {
	return s.elements(func(int) bool {
		var seen jsonscan.Fields
		return s.Object(func(k string) bool {
			switch k {
			case "modality":
				_, _, ok := s.StringLit()
				return seen.First(0) && ok
			case "tokenCount":
				_, ok := s.Int64()
				return seen.First(1) && ok
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
	s := evScan{jsonscan.Scanner{B: data}}
	var top jsonscan.Fields
	ok := s.Object(func(k string) bool {
		switch k {
		case "candidates":
			return top.First(0) && s.elements(func(i int) bool { ev.seen = true; return i == 0 && s.candidate(ev) })
		case "usageMetadata":
			ev.hasUsage = true
			return top.First(1) && s.usage(ev)
		case "modelVersion":
			_, _, ok := s.StringLit()
			return top.First(2) && ok
		case "responseId":
			_, _, ok := s.StringLit()
			return top.First(3) && ok
		}
		return false
	})
	return ok && s.End() && ev.seen
}

func (s *evScan) candidate(ev *textEvent) bool {
	var seen jsonscan.Fields
	return s.Object(func(k string) bool {
		switch k {
		case "index":
			n, ok := s.Int64()
			ev.index = n
			return seen.First(0) && ok
		case "content":
			var cs jsonscan.Fields
			return seen.First(1) && s.Object(func(k string) bool {
				switch k {
				case "role":
					_, _, ok := s.StringLit()
					return cs.First(0) && ok
				case "parts":
					return cs.First(1) && s.elements(func(i int) bool {
						var ps jsonscan.Fields
						return i == 0 && s.Object(func(k string) bool {
							if k != "text" || !ps.First(0) {
								return false
							}
							lit, plain, ok := s.StringLit()
							if len(lit) > 2 {
								ev.lit = lit
							}
							return ok && plain
						}) && ps != 0
					})
				}
				return false
			}) && cs&(1<<1) != 0
		}
		return false
	}) && seen&(1<<1) != 0
}

func (s *evScan) usage(ev *textEvent) bool {
	var seen jsonscan.Fields
	u := &ev.usage
	num := func(bit uint, dst *int64) bool {
		n, ok := s.Int64()
		*dst = n
		return seen.First(bit) && ok
	}
	return s.Object(func(k string) bool {
		switch k {
		case "promptTokenCount":
			return num(0, &u.PromptTokenCount)
		case "candidatesTokenCount":
			return num(1, &u.CandidatesTokenCount)
		case "totalTokenCount":
			return num(2, &u.TotalTokenCount)
		case "cachedContentTokenCount":
			return num(3, &u.CachedContentTokenCount)
		case "toolUsePromptTokenCount":
			return num(4, &u.ToolUsePromptTokenCount)
		case "thoughtsTokenCount":
			if !num(5, &ev.thoughts) {
				return false
			}
			u.ThoughtsTokenCount = &ev.thoughts
			return true
		case "promptTokensDetails":
			return seen.First(6) && s.details()
		case "candidatesTokensDetails":
			return seen.First(7) && s.details()
		case "cacheTokensDetails":
			return seen.First(8) && s.details()
		case "toolUsePromptTokensDetails":
			return seen.First(9) && s.details()
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
	ev := &s.fast // kept in the stream: the scanner's closures would move a local to the heap
	*ev = textEvent{}
	if !wireTextEvent(data, ev) {
		*ev = textEvent{}
		if !fastTextEvent(data, ev) {
			return false, nil
		}
	}
	if ev.index < 0 || ev.index >= int64(len(s.choices)) {
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
	b := s.ch.Begin(idx)
	b = append(b, `{"content":`...)
	b = append(b, ev.lit...)
	b = append(b, '}')
	return true, s.ch.End(w, b, "")
}
