package manifest

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// blockScalar parses a literal or folded block scalar ("|", ">", with optional chomping and
// indentation indicators) at pos, following yaml.v3's scanner exactly; parent is yaml.v3's
// current indent.
func (p *fastParser) blockScalar(parent int) (*yaml.Node, bool) {
	src := p.src
	n := p.node()
	n.Kind, n.Style, n.Tag, n.Line, n.Column = yaml.ScalarNode, yaml.LiteralStyle, "!!str", p.line+1, p.col(p.pos)+1
	folded := src[p.pos] == '>'
	if folded {
		n.Style = yaml.FoldedStyle
	}
	i := p.pos + 1
	chomp, incr := 0, 0
	chomping := func() {
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			chomp = 1
			if src[i] == '-' {
				chomp = -1
			}
			i++
		}
	}
	digit := func() bool {
		if i < len(src) && src[i] >= '0' && src[i] <= '9' {
			if src[i] == '0' {
				return false
			}
			incr = int(src[i] - '0')
			i++
		}
		return true
	}
	if i < len(src) && (src[i] == '+' || src[i] == '-') {
		chomping()
		if !digit() {
			return nil, false
		}
	} else {
		if !digit() {
			return nil, false
		}
		chomping()
	}
	if i < len(src) && src[i] != ' ' && src[i] != '\n' {
		return nil, false
	}
	p.pos = i
	if !p.endLine() {
		return nil, false
	}
	indent := 0
	if incr > 0 {
		indent = parent + incr
		if parent < 0 {
			indent = incr
		}
	}
	trailing := 0 // empty lines not yet added
	// breaks eats indentation and empty lines up to the next non-empty line, and settles the
	// indentation on the first call (yaml_parser_scan_block_scalar_breaks).
	breaks := func() bool {
		maxIndent := 0
		for {
			j := p.pos
			for j < len(src) && src[j] == ' ' && (indent == 0 || j-p.lineStart < indent) {
				j++
			}
			p.pos = j
			maxIndent = max(maxIndent, j-p.lineStart)
			if j < len(src) && src[j] == '\t' && (indent == 0 || j-p.lineStart < indent) {
				return false
			}
			if j == len(src) || src[j] != '\n' {
				break
			}
			trailing++
			p.newline(j + 1)
		}
		if indent == 0 {
			indent = max(maxIndent, parent+1, 1)
		}
		return true
	}
	if !breaks() {
		return nil, false
	}
	buf := p.buf[:0]
	lineBreak := false    // the last content line ended with a line break
	leadingBlank := false // the last content line started with a blank
	first := -1
	for p.pos-p.lineStart == indent && p.pos < len(src) {
		blank := src[p.pos] == ' ' || src[p.pos] == '\t'
		switch {
		case folded && lineBreak && !leadingBlank && !blank:
			// Folding: a single line break between two lines becomes a space.
			if trailing == 0 {
				buf = append(buf, ' ')
			}
		case lineBreak:
			buf = append(buf, '\n')
		}
		leadingBlank = blank
		for ; trailing > 0; trailing-- {
			buf = append(buf, '\n')
		}
		start := p.pos
		end := strings.IndexByte(src[start:], '\n')
		if first < 0 {
			first = start
		}
		if end < 0 {
			end = len(src)
			buf = append(buf, src[start:end]...)
			p.pos, lineBreak = end, false
		} else {
			end += start
			buf = append(buf, src[start:end]...)
			p.newline(end + 1)
			lineBreak = true
		}
		if !breaks() {
			return nil, false
		}
	}
	if chomp != -1 && lineBreak {
		buf = append(buf, '\n')
	}
	if chomp == 1 {
		for ; trailing > 0; trailing-- {
			buf = append(buf, '\n')
		}
	}
	switch {
	case len(buf) == 0:
	case first >= 0 && first+len(buf) <= len(src) && src[first:first+len(buf)] == string(buf):
		n.Value = src[first : first+len(buf)] // one line (and its break): no copy
	default:
		n.Value = string(buf)
	}
	p.buf = buf
	// pos is inside the indentation of the line after the scalar, or at the end.
	if p.pos < len(src) {
		p.pos = p.lineStart
	}
	return n, p.nextLine()
}
