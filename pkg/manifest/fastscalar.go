package manifest

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// scalarToken is a plain scalar's first line or a quoted scalar as scanned, before it becomes
// a node.
type scalarToken struct {
	val   string
	style yaml.Style // 0 (plain), yaml.SingleQuotedStyle or yaml.DoubleQuotedStyle
	start int        // offset of its first byte (the quote, if quoted)
	end   int        // offset just past it (past the closing quote)
	colon int        // offset of the ':' that makes it a mapping key, or -1
	line  int        // 0-based line it starts on
	eol   bool       // a plain scalar that runs to the end of its line (no comment, no ':')
}

// scalar makes the node for a token on the current line at column col.
func (p *fastParser) scalar(tok scalarToken, col int) *yaml.Node {
	n := p.node()
	n.Kind, n.Style, n.Value, n.Line, n.Column = yaml.ScalarNode, tok.style, tok.val, tok.line+1, col+1
	if tok.style != 0 {
		n.Tag = "!!str"
	} else {
		n.Tag = plainTag(n)
	}
	return n
}

// plainTag is the tag yaml.v3 resolves for a plain scalar (n.Tag must be empty). Only values
// starting with one of the bytes of yaml.v3's resolve table can be anything but a string;
// those starting with a letter or '~' are looked up in its table of words and nothing else;
// plain decimal integers are common enough to skip its general (allocating) path.
func plainTag(n *yaml.Node) string {
	v := n.Value
	switch v[0] {
	case '<':
		if v == "<<" {
			return "!!merge" // yaml.v3's parser tags a plain "<<" so even where it is not a key
		}
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O', '~':
		switch v {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return "!!bool"
		case "~", "null", "Null", "NULL":
			return "!!null"
		}
		return "!!str"
	case '-', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if isDecimal(v) {
			return "!!int"
		}
		fallthrough
	case '+', '.', '0':
		// Durations and quantities ("30s", "1Gi") would take yaml.v3 through every number
		// syntax; these letters appear in no number, timestamp, .inf or .nan.
		if strings.ContainsAny(v, "ghjklmpqrsuvwyGHJKLMPQRSUVWY/") {
			return "!!str"
		}
		return n.ShortTag()
	}
	return "!!str"
}

// isDecimal reports whether v is an optional '-' and up to 18 digits without a leading zero,
// which yaml.v3 always resolves to !!int.
func isDecimal(v string) bool {
	if v[0] == '-' {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 18 || v[0] == '0' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// plainStart reports whether a plain scalar may start at i (in block context, or in flow
// context where the flow indicators also end it). In flow context "?x", ":x" and "-" before
// a flow indicator, which yaml.v3 reads its own way, are declined.
func (p *fastParser) plainStart(i int, flow bool) bool {
	switch p.src[i] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\t', '\n':
		return false
	case '?', ':':
		return !flow && i+1 < len(p.src) && p.src[i+1] != ' ' && p.src[i+1] != '\t' && p.src[i+1] != '\n'
	case '-':
		if i+1 == len(p.src) {
			return false
		}
		switch p.src[i+1] {
		case ' ', '\t', '\n':
			return false
		case ',', '[', ']', '{', '}':
			return !flow
		}
	}
	return true
}

// blockToken scans the plain or quoted scalar at i in block context (a quoted one may go on
// over lines deeper than parent), and whether a ':' after it makes it a mapping key.
func (p *fastParser) blockToken(i, parent int) (scalarToken, bool) {
	src := p.src
	switch src[i] {
	case '\'', '"':
		tok, ok := p.quoted(i, true, parent)
		if !ok {
			return tok, false
		}
		j := tok.end
		for j < len(src) && src[j] == ' ' {
			j++
		}
		if j < len(src) && src[j] == ':' && (j+1 == len(src) || src[j+1] == ' ' || src[j+1] == '\n') {
			if tok.line != p.line {
				return tok, false // a key must be on one line
			}
			tok.colon = j
		}
		return tok, true
	}
	if !p.plainStart(i, false) {
		return scalarToken{}, false
	}
	tok := scalarToken{start: i, colon: -1, line: p.line}
	last := i // end of the last non-space run
	j := i
scan:
	for ; j < len(src); j++ {
		switch src[j] {
		case '\n':
			break scan
		case ' ':
			continue
		case '\t':
			return tok, false
		case '#':
			if src[j-1] == ' ' {
				break scan
			}
		case ':':
			if j+1 == len(src) || src[j+1] == ' ' || src[j+1] == '\n' {
				tok.colon = j
				break scan
			}
			if src[j+1] == '\t' {
				return tok, false
			}
		}
		last = j + 1
	}
	tok.val, tok.end = src[i:last], last
	tok.eol = tok.colon < 0 && (j == len(src) || src[j] == '\n')
	return tok, true
}

// plainLines continues the plain scalar n, whose first line ends at pos, over the following
// lines indented deeper than parent (yaml.v3 folds them: one line break becomes a space, n
// empty lines become n line breaks), and moves to the next content line.
func (p *fastParser) plainLines(n *yaml.Node, parent int) bool {
	src := p.src
	buf := p.buf[:0]
	multi := false
	for {
		if !p.endLine() {
			return false
		}
		breaks := 0
		i := p.pos
		for {
			for i < len(src) && src[i] == ' ' {
				i++
			}
			if i < len(src) && src[i] == '\n' {
				breaks++
				p.newline(i + 1)
				i = p.pos
				continue
			}
			break
		}
		if i == len(src) || i-p.lineStart <= parent || src[i] == '#' || src[i] == '\t' ||
			(i == p.lineStart && (strings.HasPrefix(src[i:], "---") || strings.HasPrefix(src[i:], "..."))) {
			break // the scalar ends; nextLine judges this line
		}
		last, comment := i, false
		j := i
	scan:
		for ; j < len(src); j++ {
			switch src[j] {
			case '\n':
				break scan
			case ' ':
				continue
			case '\t':
				return false
			case '#':
				if src[j-1] == ' ' {
					comment = true
					break scan
				}
			case ':':
				if j+1 == len(src) || src[j+1] == ' ' || src[j+1] == '\n' || src[j+1] == '\t' {
					return false // "mapping values are not allowed in this context"
				}
			}
			last = j + 1
		}
		if !multi {
			buf = append(buf, n.Value...)
			multi = true
		}
		if breaks == 0 {
			buf = append(buf, ' ')
		}
		for ; breaks > 0; breaks-- {
			buf = append(buf, '\n')
		}
		buf = append(buf, src[i:last]...)
		p.pos = last
		if comment {
			if !p.endLine() {
				return false
			}
			break
		}
	}
	p.buf = buf
	if multi {
		n.Value, n.Tag = string(buf), ""
		n.Tag = plainTag(n)
	}
	if p.pos < len(src) {
		p.pos = p.lineStart
	}
	return p.nextLine()
}

// flowToken scans the plain or quoted scalar at i inside a flow collection. Quoted scalars
// must end on their line; plain ones end there too (see the callers).
func (p *fastParser) flowToken(i int) (scalarToken, bool) {
	src := p.src
	if src[i] == '\'' || src[i] == '"' {
		return p.quoted(i, false, 0)
	}
	if !p.plainStart(i, true) {
		return scalarToken{}, false
	}
	tok := scalarToken{start: i, colon: -1, line: p.line}
	last := i
	j := i
scan:
	for ; j < len(src); j++ {
		switch src[j] {
		case ' ':
			continue
		case ',', '[', ']', '{', '}':
			break scan
		case '\n':
			// yaml.v3 ends the scalar here only if the next token is a flow indicator or a
			// comment (else the lines fold into one scalar): the callers expect exactly that.
			break scan
		case '\t', '?':
			return tok, false // a tab, or yaml.v3's "?" quirk
		case '#':
			if src[j-1] == ' ' {
				break scan
			}
		case ':':
			if j+1 == len(src) {
				return tok, false
			}
			switch src[j+1] {
			case ' ', '\n':
				break scan
			case '\t', ',', '[', ']', '{', '}':
				return tok, false
			}
		}
		last = j + 1
	}
	tok.val, tok.end = src[i:last], last
	return tok, true
}
