package manifest

import (
	yaml "go.yaml.in/yaml/v3"
)

// Where a block node starts decides what it may be.
const (
	modeLine  = iota // first on its line: anything but a block scalar
	modeValue        // after "key: ": a scalar, flow collection or block scalar
	modeEntry        // after "- ": anything
)

// blockNode parses the node at pos and the lines it spans, leaving pos at the next content
// line. parent is the column of the innermost block collection (yaml.v3's indent), -1 at the
// document level.
func (p *fastParser) blockNode(parent, depth, mode int) (*yaml.Node, bool) {
	if depth > p.maxDepth {
		return nil, false
	}
	start := p.pos
	col := p.col(start)
	switch p.src[start] {
	case '-':
		if p.isEntry(start) {
			if mode == modeValue {
				return nil, false
			}
			return p.blockSequence(col, depth)
		}
	case '[', '{':
		n, ok := p.flowNode(depth)
		if !ok || !p.endLine() || !p.nextLine() {
			return nil, false
		}
		return n, true
	case '|', '>':
		if mode == modeLine {
			return nil, false
		}
		return p.blockScalar(parent)
	}
	tok, ok := p.blockToken(start, parent)
	if !ok {
		return nil, false
	}
	if tok.colon >= 0 {
		if mode == modeValue {
			return nil, false // "a: b: c"
		}
		return p.blockMapping(col, depth)
	}
	n := p.scalar(tok, col)
	p.pos = tok.end
	if tok.eol {
		return n, p.plainLines(n, parent)
	}
	if !p.endLine() || !p.nextLine() {
		return nil, false
	}
	return n, true
}

// isEntry reports whether a block sequence entry ("- " or "-" at the end of a line) starts at i.
func (p *fastParser) isEntry(i int) bool {
	return p.src[i] == '-' && (i+1 == len(p.src) || p.src[i+1] == ' ' || p.src[i+1] == '\n')
}

// blockMapping parses a block mapping whose keys are at column c, starting with the key at pos.
func (p *fastParser) blockMapping(c, depth int) (*yaml.Node, bool) {
	m := p.node()
	m.Kind, m.Tag, m.Line, m.Column = yaml.MappingNode, "!!map", p.line+1, c+1
	if depth+1 > p.maxDepth {
		return nil, false
	}
	mark := len(p.stack)
	src := p.src
	for {
		tok, ok := p.blockToken(p.pos, c)
		// yaml.v3 only takes a key whose ':' is within 1024 characters of its start.
		if !ok || tok.colon < 0 || tok.colon-tok.start > 1024 || (tok.style == 0 && tok.val == "<<") {
			return nil, false
		}
		p.stack = append(p.stack, p.scalar(tok, p.col(tok.start)))
		j := tok.colon + 1
		for j < len(src) && src[j] == ' ' {
			j++
		}
		var v *yaml.Node
		if j == len(src) || src[j] == '\n' || src[j] == '#' {
			// The value is on the following lines, or empty: then yaml.v3 puts the null
			// right after the ':'.
			line, column := p.line+1, p.col(tok.colon)+2
			p.pos = j
			if !p.endLine() || !p.nextLine() {
				return nil, false
			}
			switch {
			case p.ind > c:
				v, ok = p.blockNode(c, depth+1, modeLine)
			case p.ind == c && p.isEntry(p.pos):
				v, ok = p.blockSequence(c, depth+1)
			default:
				v = p.empty(line, column)
			}
		} else {
			p.pos = j
			v, ok = p.blockNode(c, depth+1, modeValue)
		}
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, v)
		if p.over != nil {
			return nil, false
		}
		if p.ind == c {
			if p.isEntry(p.pos) {
				return nil, false
			}
			continue
		}
		if p.ind < c {
			break
		}
		return nil, false // deeper than the keys but not a value: continuation or error
	}
	m.Content = p.collect(mark)
	return m, true
}

// blockSequence parses a block sequence whose "-" are at column c, starting at pos.
func (p *fastParser) blockSequence(c, depth int) (*yaml.Node, bool) {
	s := p.node()
	s.Kind, s.Tag, s.Line, s.Column = yaml.SequenceNode, "!!seq", p.line+1, c+1
	if depth+1 > p.maxDepth {
		return nil, false
	}
	mark := len(p.stack)
	src := p.src
	for {
		line := p.line
		j := p.pos + 1
		for j < len(src) && src[j] == ' ' {
			j++
		}
		var v *yaml.Node
		var ok bool
		if j == len(src) || src[j] == '\n' || src[j] == '#' {
			p.pos = j
			if !p.endLine() || !p.nextLine() {
				return nil, false
			}
			if p.ind > c {
				v, ok = p.blockNode(c, depth+1, modeLine)
			} else {
				v, ok = p.empty(line+1, c+2), true
			}
		} else {
			p.pos = j
			v, ok = p.blockNode(c, depth+1, modeEntry)
		}
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, v)
		if p.over != nil {
			return nil, false
		}
		if p.ind == c && p.isEntry(p.pos) {
			continue
		}
		if p.ind <= c {
			break // at c: the parent mapping's next key, for a sequence at its key's indentation
		}
		return nil, false
	}
	s.Content = p.collect(mark)
	return s, true
}
