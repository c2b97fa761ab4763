package manifest

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// flowNode parses the flow node at pos, which must end on its line, leaving pos just past it.
func (p *fastParser) flowNode(depth int) (*yaml.Node, bool) {
	if depth > p.maxDepth || p.pos == len(p.src) {
		return nil, false
	}
	switch p.src[p.pos] {
	case '[':
		return p.flowSequence(depth)
	case '{':
		return p.flowMapping(depth)
	}
	tok, ok := p.flowToken(p.pos)
	if !ok {
		return nil, false
	}
	p.pos = tok.end
	return p.scalar(tok, p.col(tok.start)), true
}

// skipSpaces moves pos past spaces and reports the byte there (0 at the end of the input).
func (p *fastParser) skipSpaces() byte {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
	if p.pos == len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

// flowSpace moves pos past spaces, line breaks and comments between the tokens of a flow
// collection and reports the byte there (0 at the end of the input, or at a line that yaml.v3
// would read as a document marker or directive, which ends the parse).
func (p *fastParser) flowSpace() byte {
	src := p.src
	for p.pos < len(src) {
		switch src[p.pos] {
		case ' ':
			p.pos++
		case '\n':
			p.newline(p.pos + 1)
			rest := src[p.pos:]
			if strings.HasPrefix(rest, "---") || strings.HasPrefix(rest, "...") || strings.HasPrefix(rest, "%") {
				p.pos = len(src) // nothing parses from here: the fast path declines
				return 0
			}
		case '#':
			if p.pos != p.lineStart && src[p.pos-1] != ' ' {
				return '#'
			}
			if k := strings.IndexByte(src[p.pos:], '\n'); k >= 0 {
				p.pos += k
			} else {
				p.pos = len(src)
			}
		default:
			return src[p.pos]
		}
	}
	return 0
}

// flowSequence parses "[a, b, ]", over several lines if need be. Single-pair mappings inside
// ("[a: b]") are declined.
func (p *fastParser) flowSequence(depth int) (*yaml.Node, bool) {
	s := p.node()
	s.Kind, s.Style, s.Tag, s.Line, s.Column = yaml.SequenceNode, yaml.FlowStyle, "!!seq", p.line+1, p.col(p.pos)+1
	p.pos++
	mark := len(p.stack)
	for {
		if p.flowSpace() == ']' {
			break
		}
		v, ok := p.flowNode(depth + 1)
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, v)
		if p.over != nil {
			return nil, false
		}
		c := p.flowSpace()
		if c == ']' {
			break
		}
		if c != ',' {
			return nil, false
		}
		p.pos++
	}
	p.pos++
	s.Content = p.collect(mark)
	return s, true
}

// flowMapping parses "{a: b, c: , d: [e]}", over several lines if need be; every key needs its
// ':' on its line.
func (p *fastParser) flowMapping(depth int) (*yaml.Node, bool) {
	m := p.node()
	m.Kind, m.Style, m.Tag, m.Line, m.Column = yaml.MappingNode, yaml.FlowStyle, "!!map", p.line+1, p.col(p.pos)+1
	p.pos++
	mark := len(p.stack)
	for {
		c := p.flowSpace()
		if c == '}' {
			break
		}
		if c == 0 || c == '[' || c == '{' || depth+1 > p.maxDepth {
			return nil, false
		}
		tok, ok := p.flowToken(p.pos)
		if !ok || (tok.style == 0 && tok.val == "<<") {
			return nil, false
		}
		p.pos = tok.end
		if p.skipSpaces() != ':' || p.pos-tok.start > 1024 {
			return nil, false
		}
		p.stack = append(p.stack, p.scalar(tok, p.col(tok.start)))
		p.pos++
		var v *yaml.Node
		switch p.flowSpace() {
		case ',', '}':
			v = p.empty(p.line+1, p.col(p.pos)+1) // yaml.v3 puts it at the next token
		default:
			if v, ok = p.flowNode(depth + 1); !ok {
				return nil, false
			}
		}
		p.stack = append(p.stack, v)
		if p.over != nil {
			return nil, false
		}
		c = p.flowSpace()
		if c == '}' {
			break
		}
		if c != ',' {
			return nil, false
		}
		p.pos++
	}
	p.pos++
	m.Content = p.collect(mark)
	return m, true
}
