package manifest

import (
	"errors"

	yaml "go.yaml.in/yaml/v3"
)

// decoder converts one document, counting what it expands to against the limits.
type decoder struct {
	file   string
	doc    int
	lim    Limits
	budget fileBudget // the file's, carried from document to document

	nodes, bytes int        // this document's so far, aliases expanded
	alias        *yaml.Node // the alias being expanded (the outermost), nil outside one
	sizes        map[*yaml.Node]size
}

// fileBudget is what aliases have added to a file so far: each document is bounded on its own,
// and this bounds them together, so a file of many small bombs costs no more than one.
type fileBudget struct {
	nodes, bytes int
}

// size is what a node expands to: its nodes (itself included) and the bytes of its scalars.
type size struct {
	nodes, bytes int
}

// count adds a key or a value (not an alias) to the document's totals; inside an expansion
// the outermost alias has already counted it.
func (d *decoder) count(n *yaml.Node) error {
	if d.alias != nil {
		return nil
	}
	return d.add(n, size{1, len(n.Value)}, false)
}

func (d *decoder) add(at *yaml.Node, s size, alias bool) error {
	lim := d.lim
	d.nodes += s.nodes
	d.bytes += s.bytes
	if lim.MaxNodes > 0 && d.nodes > lim.MaxNodes {
		return lim.nodesError(d.file, d.doc, pos(at))
	}
	if lim.MaxExpandedBytes > 0 && d.bytes > lim.MaxExpandedBytes {
		return d.errf(at, "document %d has more than %d bytes of scalars (keys and values, aliases expanded), the limit per document", d.doc, lim.MaxExpandedBytes)
	}
	if !alias {
		return nil
	}
	d.budget.nodes += s.nodes
	d.budget.bytes += s.bytes
	if lim.MaxNodes > 0 && d.budget.nodes > lim.MaxNodes {
		return d.errf(at, "aliases in this file expand to more than %d nodes, the limit per file", lim.MaxNodes)
	}
	if lim.MaxExpandedBytes > 0 && d.budget.bytes > lim.MaxExpandedBytes {
		return d.errf(at, "aliases in this file expand to more than %d bytes of scalars, the limit per file", lim.MaxExpandedBytes)
	}
	return nil
}

// expand converts an alias. The outermost alias of an expansion counts all it expands to
// before any of it is built, from sizes computed once per anchor: a billion-laughs document
// is refused in time proportional to its text.
func (d *decoder) expand(a *yaml.Node, depth int) (any, error) {
	if d.alias != nil {
		return d.value(a.Alias, depth+1)
	}
	if d.sizes == nil {
		d.sizes = map[*yaml.Node]size{}
	}
	levels := -1 // unbounded
	if d.lim.MaxDepth > 0 {
		levels = d.lim.MaxDepth - depth - 1
	}
	s, err := d.size(a.Alias, levels)
	switch err {
	case errLoop:
		return nil, d.errf(a, "alias *%s never ends: an alias in its expansion names a node that contains it", a.Value)
	case errDeep:
		return nil, d.depthError(a)
	}
	if err := d.add(a, s, true); err != nil {
		return nil, err
	}
	d.alias = a
	v, err := d.value(a.Alias, depth+1)
	d.alias = nil
	return v, err
}

var (
	errLoop = errors.New("alias loop")
	errDeep = errors.New("too deep")
)

// size computes what n expands to, memoised per collection. It stops, as converting would, at
// an alias to a node that contains it and (with a MaxDepth) at a node nested deeper than levels
// more.
func (d *decoder) size(n *yaml.Node, levels int) (size, error) {
	const inProgress = -1
	for n.Kind == yaml.AliasNode {
		n, levels = n.Alias, levels-1
	}
	if levels < 0 && d.lim.MaxDepth > 0 {
		return size{}, errDeep
	}
	if len(n.Content) == 0 {
		return size{1, len(n.Value)}, nil
	}
	if s, ok := d.sizes[n]; ok {
		if s.nodes == inProgress {
			return s, errLoop
		}
		return s, nil
	}
	d.sizes[n] = size{nodes: inProgress}
	total := size{1, len(n.Value)}
	for _, c := range n.Content {
		s, err := d.size(c, levels-1)
		if err != nil {
			delete(d.sizes, n)
			return s, err
		}
		// Capped past the limits, so sums over shared anchors cannot overflow.
		total.nodes = min(total.nodes+s.nodes, capOf(d.lim.MaxNodes))
		total.bytes = min(total.bytes+s.bytes, capOf(d.lim.MaxExpandedBytes))
	}
	d.sizes[n] = total
	return total, nil
}

func capOf(limit int) int {
	if limit > 0 {
		return limit + 1
	}
	return 1 << 61
}

func (d *decoder) depthError(n *yaml.Node) error {
	if d.alias != nil {
		n = d.alias
	}
	return d.errf(n, "nesting deeper than %d levels", d.lim.MaxDepth)
}
