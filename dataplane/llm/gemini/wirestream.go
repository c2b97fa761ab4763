package gemini

import (
	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
	"github.com/infergw/gwctl/internal/jsonlit"
)

// wireTextEvent reads an event of the common shape (faststream.go) when its members come in
// the order Gemini writes them:
//
//	{"candidates": [{"content": {"parts": [{"text": "…"}],"role": "model"},"index": 0}],
//	 "usageMetadata": {…},"modelVersion": "…","responseId": "…"}
//
// (the last three optional, the usage's members in any order). Each member name is then one
// comparison with the name expected there, not a scan of a key and a lookup, and no closure
// runs per member: the event costs about a third of fastTextEvent's walk. Anything else —
// another order, another member, a repeated one, whitespace inside a name — is left to
// fastTextEvent, which reads the same shape in any order; what this accepts, that reads the
// same (TestWireTextEventMatchesFastTextEvent, FuzzDecodeResponse).
func wireTextEvent(b []byte, ev *textEvent) bool {
	w := wire{b: b}
	if !w.tok('{') || !w.name(`"candidates"`) || !w.tok('[') || !w.tok('{') ||
		!w.name(`"content"`) || !w.tok('{') || !w.name(`"parts"`) || !w.tok('[') {
		return false
	}
	if !w.tok(']') { // one text part
		if !w.tok('{') || !w.name(`"text"`) {
			return false
		}
		lit, ok := w.str()
		if !ok || lit.flags != 0 {
			return false // escapes or non-ASCII: re-encoding may change the bytes
		}
		if len(lit.b) > 2 {
			ev.lit = lit.b
		}
		if !w.tok('}') || !w.tok(']') {
			return false
		}
	}
	if !w.tok(',') || !w.name(`"role"`) || !w.lit(`"model"`) || !w.tok('}') || !w.tok(',') || !w.name(`"index"`) {
		return false
	}
	var ok bool
	if ev.index, ok = w.uint(); !ok || !w.tok('}') || !w.tok(']') {
		return false
	}
	ev.seen = true
	next := 0 // the members after candidates, in Gemini's order
	for !w.tok('}') {
		if !w.tok(',') {
			return false
		}
		switch {
		case next < 1 && w.name(`"usageMetadata"`):
			next, ev.hasUsage = 1, true
			if !w.usage(ev) {
				return false
			}
		case next < 2 && w.name(`"modelVersion"`):
			next = 2
			if _, ok := w.str(); !ok {
				return false
			}
		case next < 3 && w.name(`"responseId"`):
			next = 3
			if _, ok := w.str(); !ok {
				return false
			}
		default:
			return false
		}
	}
	w.ws()
	return w.i == len(w.b)
}

// wire is a cursor over an event for wireTextEvent.
type wire struct {
	b []byte
	i int
}

func (w *wire) ws() {
	for w.i < len(w.b) {
		if c := w.b[w.i]; c > ' ' || c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return
		}
		w.i++
	}
}

// tok consumes c after whitespace.
func (w *wire) tok(c byte) bool {
	w.ws()
	if w.i < len(w.b) && w.b[w.i] == c {
		w.i++
		return true
	}
	return false
}

// lit consumes the bytes s after whitespace.
func (w *wire) lit(s string) bool {
	w.ws()
	if len(w.b)-w.i >= len(s) && string(w.b[w.i:w.i+len(s)]) == s {
		w.i += len(s)
		return true
	}
	return false
}

// name consumes the member name n (quoted) and its colon; on a mismatch nothing is consumed
// but whitespace.
func (w *wire) name(n string) bool {
	at := w.i
	if w.lit(n) && w.tok(':') {
		return true
	}
	w.i = at
	return false
}

// strLit is a string literal with its quotes, and what it holds beyond plain ASCII.
type strLit struct {
	b     []byte
	flags jsonlit.Flags
}

// str consumes a string literal, validated as encoding/json does.
func (w *wire) str() (strLit, bool) {
	w.ws()
	if w.i >= len(w.b) || w.b[w.i] != '"' {
		return strLit{}, false
	}
	end, flags, fault := jsonlit.String(w.b, w.i, false)
	if fault != 0 {
		return strLit{}, false
	}
	lit := strLit{b: w.b[w.i:end], flags: flags}
	w.i = end
	return lit, true
}

// uint consumes a non-negative integer of at most 18 digits without a fraction or exponent
// (what an int64 member takes exactly); anything else is left to the other paths.
func (w *wire) uint() (int64, bool) {
	w.ws()
	start := w.i
	var n int64
	for w.i < len(w.b) && w.i-start < 19 {
		c := w.b[w.i]
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
		w.i++
	}
	digits := w.i - start
	if digits == 0 || digits > 18 || digits > 1 && w.b[start] == '0' {
		return 0, false
	}
	if w.i < len(w.b) {
		if c := w.b[w.i]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	return n, true
}

// key consumes a member name made of ASCII letters only (every usage member's) and its colon;
// the name aliases the event.
func (w *wire) key() ([]byte, bool) {
	w.ws()
	if w.i >= len(w.b) || w.b[w.i] != '"' {
		return nil, false
	}
	start := w.i + 1
	i := start
	for i < len(w.b) {
		if c := w.b[i] | 0x20; c < 'a' || c > 'z' { // 0x20: lower case
			break
		}
		i++
	}
	if i >= len(w.b) || w.b[i] != '"' {
		return nil, false
	}
	w.i = i + 1
	return w.b[start:i], w.tok(':')
}

// usage reads usageMetadata as evScan.usage does, its members in any order.
func (w *wire) usage(ev *textEvent) bool {
	if !w.tok('{') {
		return false
	}
	if w.tok('}') {
		return true
	}
	var seen jsonscan.Fields
	u := &ev.usage
	next := 0 // where the next member's name is looked for first (usageWireNames)
	for {
		bit, ok := w.usageName(next)
		if !ok || !seen.First(bit) {
			return false
		}
		next = int(bit) + 1 // the following name, in Gemini's order
		var dst *int64      // nil: a details list
		switch bit {
		case 0:
			dst = &u.PromptTokenCount
		case 1:
			dst = &u.CandidatesTokenCount
		case 2:
			dst = &u.TotalTokenCount
		case 3:
			dst = &u.CachedContentTokenCount
		case 7:
			dst = &u.ToolUsePromptTokenCount
		case 9:
			dst = &ev.thoughts
			u.ThoughtsTokenCount = &ev.thoughts
		}
		if dst != nil {
			if *dst, ok = w.uint(); !ok {
				return false
			}
		} else if !w.details() {
			return false
		}
		if !w.tok(',') {
			return w.tok('}')
		}
	}
}

// usageWireNames are the usage members, quoted, in the order Gemini writes them.
var usageWireNames = [...]string{`"promptTokenCount"`, `"candidatesTokenCount"`, `"totalTokenCount"`,
	`"cachedContentTokenCount"`, `"promptTokensDetails"`, `"cacheTokensDetails"`, `"candidatesTokensDetails"`,
	`"toolUsePromptTokenCount"`, `"toolUsePromptTokensDetails"`, `"thoughtsTokenCount"`}

// usageName consumes the next usage member's name and colon and returns its index in
// usageWireNames, trying from index next on first, then the others (any order is read).
func (w *wire) usageName(next int) (uint, bool) {
	for i := range usageWireNames {
		k := (next + i) % len(usageWireNames)
		if w.name(usageWireNames[k]) {
			return uint(k), true
		}
	}
	return 0, false
}

// details skips a usage details list as evScan.details does: [{"modality": "TEXT","tokenCount": 9}, …].
func (w *wire) details() bool {
	if !w.tok('[') {
		return false
	}
	if w.tok(']') {
		return true
	}
	for {
		if !w.tok('{') {
			return false
		}
		if !w.tok('}') {
			var seen jsonscan.Fields
			for {
				k, ok := w.key()
				if !ok {
					return false
				}
				switch string(k) {
				case "modality":
					_, ok = w.str()
					ok = ok && seen.First(0)
				case "tokenCount":
					_, ok = w.uint()
					ok = ok && seen.First(1)
				default:
					return false
				}
				if !ok {
					return false
				}
				if !w.tok(',') {
					if !w.tok('}') {
						return false
					}
					break
				}
			}
		}
		if !w.tok(',') {
			return w.tok(']')
		}
	}
}
