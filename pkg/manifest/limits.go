package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits bound what one input may cost, so hostile input fails fast with a clear error. Each is
// checked while the input is read, before the cost it bounds is paid; zero turns one off.
type Limits struct {
	// MaxFileBytes is the largest file (or stdin) accepted.
	MaxFileBytes int64
	// MaxDepth is the deepest nesting of mappings and sequences (an alias is a level).
	MaxDepth int
	// MaxNodes bounds the nodes of one document: keys, values and items, each alias counting
	// the nodes it expands to. It also bounds what aliases add to a whole file.
	MaxNodes int
	// MaxExpandedBytes bounds the bytes of scalars (keys and values) of one document, each alias
	// counting the bytes of the node it expands to. It also bounds what aliases add to a whole file.
	MaxExpandedBytes int
	// MaxDocuments bounds the documents in one file.
	MaxDocuments int
}

// DefaultLimits are far beyond any real manifest, and a refusal costs well under 1 s and
// 256 MiB (gwctl validate of a 49 MB file included). The API server refuses request bodies
// over 3 MiB and etcd stores objects up to 1.5 MiB; the largest CRD we read (agentgateway's
// backends, 1 MB of YAML) has 20,190 nodes and 330 KB of scalars in its largest document,
// and the bundled platform's full render is 43 documents.
var DefaultLimits = Limits{
	MaxFileBytes:     64 << 20,
	MaxDepth:         128,
	MaxNodes:         250_000,  // 12× that CRD; a parse tree this size is ~40 MB
	MaxExpandedBytes: 16 << 20, // 50× its scalars, 5× what the API server accepts
	MaxDocuments:     10_000,   // a small object costs ~5 KiB to decode and validate
}

func (lim Limits) nodesError(file string, doc int, at Pos) *Error {
	return &Error{File: file, Pos: at, Msg: fmt.Sprintf("document %d has more than %d nodes (keys, values and items, aliases expanded), the limit per document", doc, lim.MaxNodes)}
}

func (lim Limits) documentsError(file string, at Pos) *Error {
	return &Error{File: file, Pos: at, Msg: fmt.Sprintf("more than %d documents, the limit per file", lim.MaxDocuments)}
}

// textNodeWeight is how many nodes yaml.v3 may make of a byte: every node starts at the
// start of a line or after one of these indicators, and an indicator may also open a
// collection and imply empty keys and values (": " with neither, "{a}", "[a: b]"). Lines
// end at LF, CR, NEL, LS and PS (the last three end in 0x85, 0xa8, 0xa9). FuzzTextNodeCut
// checks the bound against yaml.v3.
var textNodeWeight = [256]uint8{
	':': 3, '?': 3, '{': 3, '[': 2, ',': 2, ']': 1, '}': 1,
	'\n': 1, '\r': 1, 0x85: 1, 0xa8: 1, 0xa9: 1,
}

// textNodeCut bounds the nodes yaml.v3 makes of each document of data without parsing it: it
// returns the offset at which a document could first hold more than limit nodes and the line
// there (1-based), or -1. A "---" or "..." at the start of a line always ends a document for
// yaml.v3 (or is an error), so the count restarts there.
func textNodeCut(data []byte, limit int) (cut, line int) {
	if limit <= 0 {
		return -1, 0
	}
	n, line := 1, 1
	for i, c := range data {
		switch c {
		case '\n':
			line++
			n++
			if isMarker(data[i+1:]) {
				n = 1
			}
		case '-':
			if i+1 == len(data) || blankByte(data[i+1]) {
				n += 3 // "- ": a sequence, its entry and maybe an empty one
			}
		default:
			n += int(textNodeWeight[c])
		}
		if n > limit {
			return i, line
		}
	}
	return -1, 0
}

// isMarker reports whether a line starts with a document marker ("---" or "...").
func isMarker(line []byte) bool {
	if len(line) < 3 || !(bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("..."))) {
		return false
	}
	return len(line) == 3 || blankByte(line[3])
}

// blankByte reports whether b may start a blank for yaml.v3 (space, tab, a line break, or the
// first byte of NEL, LS or PS).
func blankByte(b byte) bool {
	switch b {
	case ' ', '\t', '\n', '\r', 0xc2, 0xe2:
		return true
	}
	return false
}

// errTextCut is what cutReader returns at its cut; yaml.v3 reports it as an input error.
var errTextCut = errors.New("input cut: too many nodes")

// cutReader hands yaml.v3 data up to the offset textNodeCut found, then fails, so yaml.v3
// never builds a document larger than the node limit; the documents before are read as usual.
type cutReader struct {
	r   *bytes.Reader
	cut bool // an error follows the data
	hit bool // yaml.v3 reached the cut
}

func newCutReader(data []byte, lim Limits) (r *cutReader, line int) {
	cut, line := textNodeCut(data, lim.MaxNodes)
	if cut < 0 {
		return &cutReader{r: bytes.NewReader(data)}, 0
	}
	return &cutReader{r: bytes.NewReader(data[:cut]), cut: true}, line
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF && c.cut {
		c.hit = true
		return n, errTextCut
	}
	return n, err
}

func textNodesError(file string, line int, lim Limits) *Error {
	return &Error{File: file, Pos: Pos{Line: line}, Msg: fmt.Sprintf("document has more than %d nodes by a count of its text before parsing (lines and : - , ? [ ] { }), the limit per document", lim.MaxNodes)}
}
