package manifest

import (
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/internal/jsonlit"
)

// quoted scans a single- or double-quoted scalar at i. Inside a flow collection (multi false)
// it must end on its line; in block context it may continue on lines indented deeper than
// parent, folded as yaml.v3 folds them. Single-line values without escapes are substrings of
// the input.
func (p *fastParser) quoted(i int, multi bool, parent int) (scalarToken, bool) {
	src := p.src
	q := src[i]
	tok := scalarToken{start: i, colon: -1, line: p.line, style: yaml.DoubleQuotedStyle}
	if q == '\'' {
		tok.style = yaml.SingleQuotedStyle
	}
	j := i + 1
	for j < len(src) && src[j] != q && src[j] != '\\' && src[j] != '\n' {
		j++
	}
	if j < len(src) && src[j] == q && (q == '"' || j+1 == len(src) || src[j+1] != '\'') {
		tok.val, tok.end = src[i+1:j], j+1
		return tok, true
	}
	return p.quotedSlow(tok, multi, parent)
}

// quotedSlow is yaml_parser_scan_flow_scalar for quoted scalars with escapes or line breaks.
func (p *fastParser) quotedSlow(tok scalarToken, multi bool, parent int) (scalarToken, bool) {
	src := p.src
	single := tok.style == yaml.SingleQuotedStyle
	buf := p.buf[:0]
	j := tok.start + 1
	for {
		if j == len(src) || (j == p.lineStart && (strings.HasPrefix(src[j:], "---") || strings.HasPrefix(src[j:], "..."))) {
			return tok, false
		}
		leadingBlanks := false
	text:
		for j < len(src) && src[j] != ' ' && src[j] != '\t' && src[j] != '\n' {
			c := src[j]
			switch {
			case single && c == '\'':
				if j+1 < len(src) && src[j+1] == '\'' {
					buf = append(buf, '\'')
					j += 2
					continue
				}
				break text
			case !single && c == '"':
				break text
			case !single && c == '\\' && j+1 < len(src) && src[j+1] == '\n':
				if !multi {
					return tok, false
				}
				j += 2
				p.newline(j)
				leadingBlanks = true
				break text
			case !single && c == '\\':
				var ok bool
				if buf, j, ok = escape(buf, src, j); !ok {
					return tok, false
				}
			default:
				buf = append(buf, c)
				j++
			}
		}
		if j == len(src) {
			return tok, false
		}
		if src[j] == src[tok.start] {
			break
		}
		ws := j // start of the blanks on this line
		lineBreak, breaks := false, 0
		for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n') {
			if src[j] == '\n' {
				if !multi {
					return tok, false
				}
				if !leadingBlanks {
					lineBreak, leadingBlanks = true, true
				} else {
					breaks++
				}
				p.newline(j + 1)
			} else if leadingBlanks && src[j] == '\t' {
				return tok, false // tabs in indentation: left to yaml.v3
			}
			j++
		}
		switch {
		case !leadingBlanks:
			buf = append(buf, src[ws:j]...)
		case lineBreak && breaks == 0:
			buf = append(buf, ' ')
		}
		for ; leadingBlanks && breaks > 0; breaks-- {
			buf = append(buf, '\n')
		}
		// yaml.v3 does not check where continuation lines start; this subset wants them
		// deeper than the enclosing collection, like plain scalars.
		if leadingBlanks && j < len(src) && j-p.lineStart <= parent {
			return tok, false
		}
	}
	p.buf = buf
	tok.val, tok.end = string(buf), j+1
	return tok, true
}

// escape appends the double-quoted escape sequence at src[j] ('\\') to buf: JSON's one-character
// escapes but \/, YAML's own, and \x, \u and \U code points (a surrogate half is refused).
func escape(buf []byte, src string, j int) ([]byte, int, bool) {
	if j+1 == len(src) {
		return buf, j, false
	}
	size := 0
	if c, ok := jsonlit.Escape(src[j+1]); ok && c != '/' { // yaml.v3 has no "\/"
		return append(buf, c), j + 2, true
	}
	switch src[j+1] {
	case '0':
		buf = append(buf, 0)
	case 'a':
		buf = append(buf, '\a')
	case '\t':
		buf = append(buf, '\t')
	case 'v':
		buf = append(buf, '\v')
	case 'e':
		buf = append(buf, 0x1b)
	case ' ', '\'':
		buf = append(buf, src[j+1])
	case 'N':
		buf = append(buf, "\u0085"...)
	case '_':
		buf = append(buf, "\u00a0"...)
	case 'L':
		buf = append(buf, "\u2028"...)
	case 'P':
		buf = append(buf, "\u2029"...)
	case 'x':
		size = 2
	case 'u':
		size = 4
	case 'U':
		size = 8
	default:
		return buf, j, false // unknown escapes
	}
	j += 2
	if size == 0 {
		return buf, j, true
	}
	v := jsonlit.Hex(src, j, size)
	if v < 0 || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff {
		return buf, j, false
	}
	return utf8.AppendRune(buf, rune(v)), j + size, true
}
