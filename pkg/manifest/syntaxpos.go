package manifest

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// maxSyntaxSearch bounds the text syntaxPos re-parses: each step of its search parses a prefix
// of the document three times.
const maxSyntaxSearch = 4 << 20

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
// It returns false when the error cannot be reproduced or the document is too large.
func syntaxPos(data []byte, reported Pos) (Pos, bool) {
	full := firstYAMLError(data)
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
		if firstYAMLError(text) != full {
			text = data
		}
	}
	if len(text) > maxSyntaxSearch {
		return Pos{}, false
	}
	starts = lineStarts(text)
	closers := []string{"\n]", "\n}"}
	fails := func(n int) bool {
		prefix := text[:n:n]
		if firstYAMLError(prefix) != full {
			return false
		}
		for _, closer := range closers {
			if firstYAMLError(append(prefix, closer...)) != full {
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
	if !fails(len(text)) {
		// The error is the end of the input inside an open flow collection: the shortest prefix
		// that fails alike ends at the bracket left open.
		closers = nil
	}
	// Smallest line whose end makes the prefix fail.
	l, h := lo, len(starts)
	for l < h {
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

// firstYAMLError is yaml.v3's first error over the documents of data, "" when there is none.
func firstYAMLError(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			return err.Error()
		}
	}
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
