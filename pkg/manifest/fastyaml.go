package manifest

import (
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	yaml "go.yaml.in/yaml/v3"
)

// fastParse builds, for the subset of YAML that Kubernetes, Helm and kustomize emit, the same
// document trees as yaml.v3's Decoder (every field but comments), several times faster and
// with a handful of allocations per file. It reports ok=false ("not handled") at the first
// construct outside that subset or anything it considers invalid; Parse then runs yaml.v3 on
// the whole file, so errors, the depth limit and exotic YAML keep coming from one place.
//
// The subset: documents split by "---" lines, comments, block mappings with plain or quoted
// single-line keys, block sequences (compact "- k: v" and at the parent key's indentation),
// flow collections (JSON included), plain and quoted scalars (over several lines in block
// context, with their continuation lines deeper than the enclosing collection) and literal
// and folded block scalars. Declined: tabs outside quoted or block scalar text, CR, NEL, LS,
// PS, BOM, control characters, directives, "...", anchors, aliases, tags, "?" keys, merge keys,
// scalars over several lines inside flow collections, and what yaml.v3 reads in ways too
// subtle to mirror.
//
// The node and document limits are its only errors, found as the trees are built so a huge
// document costs no more than the limit: at the first node or document past one, over is the
// error (without its file) and docs are the documents before, which Parse decodes first.
func fastParse(data []byte, lim Limits) (docs []*yaml.Node, over *Error, ok bool) {
	return fastParseIn(data, lim, nil)
}

// fastParseIn is fastParse with the nodes taken from arena (nil: freshly allocated). The trees
// are valid until the arena is reset.
func fastParseIn(data []byte, lim Limits, arena *fastArena) (docs []*yaml.Node, over *Error, ok bool) {
	ascii, ok := checkText(data)
	if !ok {
		return nil, nil, false
	}
	maxDepth := lim.MaxDepth
	if maxDepth <= 0 || maxDepth > fastMaxDepth {
		maxDepth = fastMaxDepth
	}
	p := &fastParser{src: string(data), ascii: ascii, maxDepth: maxDepth, maxNodes: lim.MaxNodes, colLine: -1, arena: arena}
	p.stack = make([]*yaml.Node, 0, 64)
	docs = make([]*yaml.Node, 0, min(strings.Count(p.src, "\n---")+1, 1024))
	if !p.nextLine() {
		return nil, nil, false
	}
	for p.ind >= 0 || p.marker {
		doc, ok := p.document()
		if p.over != nil {
			return docs, lim.nodesError("", len(docs), pos(p.over)), true
		}
		if !ok {
			return nil, nil, false
		}
		if lim.MaxDocuments > 0 && len(docs) >= lim.MaxDocuments {
			return docs, lim.documentsError("", pos(doc)), true
		}
		docs = append(docs, doc)
	}
	return docs, nil, true
}

// fastMaxDepth bounds the recursion when Limits set no depth; yaml.v3's own limit is 10000.
const fastMaxDepth = 1000

// fastParser is the state of one fastParse call; nothing is shared between calls.
type fastParser struct {
	src       string // the whole input: scalar values are substrings of it where possible
	pos       int
	line      int // 0-based line of pos
	lineStart int // offset of the first byte of line
	ascii     bool
	maxDepth  int

	// ind is the indentation of the current content line, with pos at its first non-space
	// byte, or -1 when the document has ended (at a "---" line if marker, else at the end).
	ind    int
	marker bool

	// colLine, colPos, colVal cache the last column computed on a non-ASCII line.
	colLine, colPos, colVal int

	count    int          // nodes handed out
	maxNodes int          // per document (Limits.MaxNodes)
	overAt   int          // the count at which the document passes maxNodes (0: never)
	over     *yaml.Node   // that node: once set, the parse stops
	arena    *fastArena   // where slabs come from (nil: allocated)
	nodes    []yaml.Node  // node slab
	ptrs     []*yaml.Node // Content slab
	stack    []*yaml.Node // children of the collections being parsed
	buf      []byte       // scratch for scalars that are not substrings of src
}

// checkText accepts what yaml.v3's reader accepts, minus CR, NEL, LS, PS and BOM (which change
// line structure): valid UTF-8 of printable characters, LF and tab. It also reports whether
// the text is ASCII, so columns are byte offsets.
func checkText(data []byte) (ascii, ok bool) {
	ascii = true
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				return false, false
			}
			i++
			continue
		}
		ascii = false
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1,
			r < 0xa0, r == 0x2028, r == 0x2029, r == 0xfeff, r == 0xfffe, r == 0xffff:
			return false, false
		}
		i += size
	}
	return ascii, true
}

// document parses one document starting at a "---" line or, for the first, at its first
// content line.
func (p *fastParser) document() (*yaml.Node, bool) {
	p.overAt = 0
	doc := p.node()
	if p.maxNodes > 0 {
		p.overAt = p.count + p.maxNodes + 1
	}
	doc.Kind = yaml.DocumentNode
	explicit := p.marker
	if explicit {
		doc.Line, doc.Column = p.line+1, 1
		p.pos += 3
		if !p.endLine() || !p.nextLine() {
			return nil, false
		}
	}
	var root *yaml.Node
	if p.ind < 0 {
		// An empty document: yaml.v3 puts its null at the next token (a "---" or the stream end).
		line := p.line + 1
		if !p.marker && p.lineStart < len(p.src) {
			line++
		}
		root = p.empty(line, 1)
	} else {
		var ok bool
		if root, ok = p.blockNode(-1, 0, modeLine); !ok || p.ind >= 0 {
			return nil, false
		}
		if !explicit {
			doc.Line, doc.Column = root.Line, root.Column
		}
	}
	doc.Content = p.alloc(1)
	doc.Content[0] = root
	return doc, true
}

// newline moves to the line starting at offset next.
func (p *fastParser) newline(next int) {
	p.line++
	p.lineStart = next
	p.pos = next
}

// nextLine moves from the start of a line to the first byte of the next content line, skipping
// blank and comment lines, and sets ind (and marker at a "---" line).
func (p *fastParser) nextLine() bool {
	src := p.src
	for {
		i := p.pos
		for i < len(src) && src[i] == ' ' {
			i++
		}
		if i == len(src) {
			p.pos, p.ind, p.marker = i, -1, false
			return true
		}
		switch src[i] {
		case '\n':
			p.newline(i + 1)
			continue
		case '#':
			p.skipComment(i)
			continue
		case '\t':
			return false
		}
		if i == p.lineStart {
			switch src[i] {
			case '-':
				if strings.HasPrefix(src[i:], "---") {
					if i+3 < len(src) && src[i+3] != ' ' && src[i+3] != '\n' {
						return false // "---x": a plain scalar at column 0, left to yaml.v3
					}
					p.pos, p.ind, p.marker = i, -1, true
					return true
				}
			case '.':
				if strings.HasPrefix(src[i:], "...") {
					return false
				}
			case '%':
				return false
			}
		}
		p.pos, p.ind, p.marker = i, i-p.lineStart, false
		return true
	}
}

// skipComment moves past the comment at i and its line break.
func (p *fastParser) skipComment(i int) {
	if j := strings.IndexByte(p.src[i:], '\n'); j >= 0 {
		p.newline(i + j + 1)
		return
	}
	p.pos = len(p.src)
}

// endLine accepts the rest of a line after a node: spaces and a comment.
func (p *fastParser) endLine() bool {
	src := p.src
	i := p.pos
	for i < len(src) && src[i] == ' ' {
		i++
	}
	if i == len(src) {
		p.pos = i
		return true
	}
	switch src[i] {
	case '\n':
		p.newline(i + 1)
		return true
	case '#':
		if src[i-1] == ' ' {
			p.skipComment(i)
			return true
		}
	}
	return false
}

// col is the 0-based column of offset pos on the current line, in characters as yaml.v3
// counts them.
func (p *fastParser) col(pos int) int {
	if p.ascii {
		return pos - p.lineStart
	}
	from, n := p.lineStart, 0
	if p.colLine == p.line && p.colPos <= pos {
		from, n = p.colPos, p.colVal
	}
	n += utf8.RuneCountInString(p.src[from:pos])
	p.colLine, p.colPos, p.colVal = p.line, pos, n
	return n
}

// slab sizes the next slab for the rest of the input (manifests hold about one node per
// bytesPerNode bytes), at most 32 KiB (the allocator's largest size class), which also bounds
// what a file can leave allocated but unused.
func (p *fastParser) slab(size int) int {
	return min((len(p.src)-p.pos)/bytesPerNode+16, 32<<10/size)
}

const bytesPerNode = 8

// node hands out a zeroed node from the slab.
func (p *fastParser) node() *yaml.Node {
	if len(p.nodes) == 0 {
		p.nodes = p.arena.nodeSlab(p.slab(int(unsafe.Sizeof(yaml.Node{}))))
	}
	n := &p.nodes[0]
	p.nodes = p.nodes[1:]
	p.count++
	if p.count == p.overAt {
		p.over = n // its maker sets its position; the collection loops stop
	}
	return n
}

// alloc hands out a Content slice of length k (capacity k, so appends never clobber a neighbour).
func (p *fastParser) alloc(k int) []*yaml.Node {
	if len(p.ptrs) < k {
		p.ptrs = p.arena.ptrSlab(max(k, p.slab(8)))
	}
	c := p.ptrs[:k:k]
	p.ptrs = p.ptrs[k:]
	return c
}

// collect moves the children pushed since mark into a Content slice (nil when there are none,
// as yaml.v3 leaves it).
func (p *fastParser) collect(mark int) []*yaml.Node {
	k := len(p.stack) - mark
	if k == 0 {
		return nil
	}
	c := p.alloc(k)
	copy(c, p.stack[mark:])
	p.stack = p.stack[:mark]
	return c
}

// empty is a null scalar at a 1-based position: yaml.v3's empty value.
func (p *fastParser) empty(line, column int) *yaml.Node {
	n := p.node()
	n.Kind, n.Tag, n.Line, n.Column = yaml.ScalarNode, "!!null", line, column
	return n
}

// fastArena keeps the slabs of one parse for the next: a file's trees live only until its
// documents are decoded, so a worker reading many files reuses the same memory. The zero
// value is ready; a nil arena allocates every slab.
type fastArena struct {
	nodes [][]yaml.Node
	ptrs  [][]*yaml.Node
	n, p  int // slabs handed out since the last reset
}

// fastArenas are the arenas of parse calls that have finished.
var fastArenas = sync.Pool{New: func() any { return &fastArena{} }}

func (a *fastArena) reset() { a.n, a.p = 0, 0 }

func (a *fastArena) nodeSlab(size int) []yaml.Node {
	if a == nil {
		return make([]yaml.Node, size)
	}
	if a.n < len(a.nodes) {
		s := a.nodes[a.n]
		a.n++
		clear(s)
		return s
	}
	s := make([]yaml.Node, size)
	a.nodes = append(a.nodes, s)
	a.n++
	return s
}

func (a *fastArena) ptrSlab(size int) []*yaml.Node {
	if a == nil {
		return make([]*yaml.Node, size)
	}
	if a.p < len(a.ptrs) && len(a.ptrs[a.p]) >= size {
		s := a.ptrs[a.p]
		a.p++
		clear(s)
		return s
	}
	s := make([]*yaml.Node, size)
	if a.p < len(a.ptrs) {
		a.ptrs[a.p] = s
	} else {
		a.ptrs = append(a.ptrs, s)
	}
	a.p++
	return s
}
