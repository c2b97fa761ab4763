package manifest

import (
	"bytes"
	"errors"
	"io"
	"math/bits"
	"sort"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// maxSyntaxParse bounds the bytes syntaxPos may parse in all (each step of its bisection
// parses a prefix of the document up to three times), about half a second: a document of up to
// a few hundred KiB gets its exact position, a larger one keeps yaml.v3's line.
const maxSyntaxParse = 24 << 20

// syntaxPos finds where a YAML syntax error is. yaml.v3 reports parser errors at the line
// before the start of the enclosing mapping, sequence or flow collection ("did not find
// expected key" on line 13 of a document that starts on line 2 comes out as "line 1"), and
// never a column. The parser reads tokens in order and stops at the first one it cannot take,
// so a prefix of the input fails the same way exactly when it holds that token: the shortest
// such prefix, found by bisection over lines and then over the characters of the line, ends
// at the error. A prefix that stops inside an open flow collection can fail like the real
// error at its end; appending "]" or "}" closes it, so a prefix only counts when it still
// fails the same way with each of them appended.
//
// The parser reads its input in small chunks, so the error is within the bytes it read before
// failing: the search ends there.
//
// It returns false when the error cannot be reproduced or the search would cost too much.
func syntaxPos(data []byte, reported Pos) (Pos, bool) {
	if len(data) > maxSyntaxParse {
		return Pos{}, false
	}
	full, _ := firstYAMLError(data)
	if full == "" {
		return Pos{}, false
	}
	starts := lineStarts(data)
	lo := max(reported.Line, 1)
	if lo > len(starts) {
		return Pos{}, false
	}
	// Documents before the one that fails do not matter: blank them out (keeping line
	// numbers) so each parse reads one document, not the whole file.
	text := data
	if doc := docStart(data, starts, lo); doc > 0 {
		text = append(bytes.Repeat([]byte{'\n'}, doc), data[starts[doc]:]...)
		if e, _ := firstYAMLError(text); e != full {
			text = data
		}
	}
	starts = lineStarts(text)
	// Bisection over lines, then over the characters of one: give up now if it cannot fit.
	if steps := bits.Len(uint(len(starts)-lo)) + 8; 2*steps*len(text) > maxSyntaxParse {
		return Pos{}, false
	}
	closers := []string{"\n]", "\n}"}
	parsed := 0
	failsAs := func(b []byte) bool {
		parsed += len(b)
		e, _ := firstYAMLError(b)
		return e == full
	}
	fails := func(n int) bool {
		prefix := text[:n:n]
		if !failsAs(prefix) {
			return false
		}
		for _, closer := range closers {
			if !failsAs(append(prefix, closer...)) {
				return false
			}
		}
		return true
	}
	end := func(line int) int { // offset just past line (1-based), newline included
		if line < len(starts) {
			return starts[line]
		}
		return len(text)
	}
	_, read := firstYAMLError(text)
	hi := sort.Search(len(starts), func(i int) bool { return starts[i] >= read }) // lines read
	if hi < lo {
		hi = len(starts)
	}
	if !fails(end(hi)) {
		// The error is the end of the input inside an open flow collection: the shortest prefix
		// that fails alike ends at the bracket left open.
		closers, hi = nil, len(starts)
	}
	// Smallest line whose end makes the prefix fail.
	l, h := lo, hi
	for l < h {
		if parsed > maxSyntaxParse {
			return Pos{}, false
		}
		m := (l + h) / 2
		if fails(end(m)) {
			h = m
		} else {
			l = m + 1
		}
	}
	line := l
	lineText := text[starts[line-1]:end(line)]
	// Smallest character of that line whose inclusion makes the prefix fail.
	var cuts []int // offsets within the line just past each character
	for i := 0; i < len(lineText); {
		_, size := utf8.DecodeRune(lineText[i:])
		i += size
		cuts = append(cuts, i)
	}
	c, h := 0, len(cuts)
	for c < h {
		if parsed > maxSyntaxParse {
			return Pos{}, false
		}
		m := (c + h) / 2
		if fails(starts[line-1] + cuts[m]) {
			h = m
		} else {
			c = m + 1
		}
	}
	if c == len(cuts) || lineText[cuts[c]-1] == '\n' {
		// Only the end of the line triggers it (a key without its colon): point at the line's text.
		c = len(lineText) - len(bytes.TrimLeft(lineText, " \t"))
		if c >= len(cuts) {
			c = 0
		}
		return Pos{Line: line, Column: utf8.RuneCount(lineText[:c]) + 1}, true
	}
	// A quoted scalar counts once it is closed: point at its opening quote.
	if q := lineText[cuts[c]-1]; q == '"' || q == '\'' {
		if open := bytes.LastIndexByte(lineText[:cuts[c]-1], q); open >= 0 {
			return Pos{Line: line, Column: utf8.RuneCount(lineText[:open]) + 1}, true
		}
	}
	return Pos{Line: line, Column: c + 1}, true
}

// firstYAMLError is yaml.v3's first error over the documents of data ("" when there is none)
// and how many bytes the parser had read when it stopped.
func firstYAMLError(data []byte) (string, int) {
	r := &countingReader{r: bytes.NewReader(data)}
	dec := yaml.NewDecoder(r)
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return "", r.n
		}
		if err != nil {
			return err.Error(), r.n
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// lineStarts returns the offset of the start of each line.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// docStart is the 0-based index of the last line at or before line (1-based) that starts a
// document ("---" at the start of the line), or 0.
func docStart(data []byte, starts []int, line int) int {
	for i := line - 1; i > 0; i-- {
		rest := data[starts[i]:]
		if bytes.HasPrefix(rest, []byte("---")) && (len(rest) == 3 || rest[3] == ' ' || rest[3] == '\n' || rest[3] == '\r' || rest[3] == '\t') {
			return i
		}
	}
	return 0
}
