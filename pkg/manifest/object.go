// Package manifest reads Kubernetes manifests (YAML or JSON, many documents per file) into
// objects that remember where each field came from, so every later finding can name file:line:column.
package manifest

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/finding"
)

// Pos is a 1-based line and column in a source file.
type Pos struct {
	Line, Column int
}

// Object is one Kubernetes object read from a file.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Content is the whole object as decoded JSON values: map[string]any, []any, string, bool,
	// int64 for whole numbers (as the API server decodes them), float64 otherwise, and nil.
	Content map[string]any
	// File is the path the object was read from ("-" for stdin, or a label such as a group name).
	File string
	// Input is the argument File was found through (a file, a directory tree or "-"), set by
	// Read: objects of unrelated inputs are not duplicates of each other. Empty for one stream.
	Input string
	// Doc is the 0-based index of the document within File.
	Doc int
	// Pos is where the document's top-level mapping starts.
	Pos Pos
	// pos holds the positions of the fields (FieldPos); nil for objects built in code.
	pos *posNode
}

// posNode is where a value of the document starts, with its children: what FieldPos needs of
// the YAML tree, in a fraction of its size.
type posNode struct {
	line, col int32
	kind      byte      // 'm' mapping, 's' sequence, 0 scalar
	keys      []string  // a mapping's keys, in order
	kids      []posNode // a mapping's values (keys[i] -> kids[i]) or a sequence's elements
}

// newPosTree records the positions of n's tree. An alias has its own position and its
// anchor's children. The nodes and keys of one tree are carved from two slices: a slice per
// mapping and sequence was a tenth of the allocations of reading a manifest.
func newPosTree(n *yaml.Node) *posNode {
	nodes, keys := countPos(n)
	b := posSlab{nodes: make([]posNode, nodes), keys: make([]string, keys)}
	root := &b.nodes[0]
	b.nodes = b.nodes[1:]
	b.fill(root, n)
	return root
}

// countPos counts the nodes and mapping keys of n's tree as newPosTree records it.
func countPos(n *yaml.Node) (nodes, keys int) {
	nodes = 1
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		keys = len(n.Content) / 2
		for i := 1; i < len(n.Content); i += 2 {
			cn, ck := countPos(n.Content[i])
			nodes, keys = nodes+cn, keys+ck
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			cn, ck := countPos(c)
			nodes, keys = nodes+cn, keys+ck
		}
	}
	return nodes, keys
}

// posSlab is what is left of a tree's nodes and keys.
type posSlab struct {
	nodes []posNode
	keys  []string
}

func (b *posSlab) take(n int) []posNode {
	out := b.nodes[:n:n]
	b.nodes = b.nodes[n:]
	return out
}

func (b *posSlab) fill(p *posNode, n *yaml.Node) {
	p.line, p.col = int32(n.Line), int32(n.Column)
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		k := len(n.Content) / 2
		p.kind = 'm'
		p.keys, b.keys = b.keys[:k:k], b.keys[k:]
		p.kids = b.take(k)
		for i := range p.keys {
			p.keys[i] = n.Content[2*i].Value
			b.fill(&p.kids[i], n.Content[2*i+1])
		}
	case yaml.SequenceNode:
		p.kind = 's'
		p.kids = b.take(len(n.Content))
		for i, c := range n.Content {
			b.fill(&p.kids[i], c)
		}
	}
}

// Group is the API group of the object ("" for the core group).
func (o *Object) Group() string {
	if i := strings.IndexByte(o.APIVersion, '/'); i >= 0 {
		return o.APIVersion[:i]
	}
	return ""
}

// Version is the API version without the group.
func (o *Object) Version() string {
	if i := strings.IndexByte(o.APIVersion, '/'); i >= 0 {
		return o.APIVersion[i+1:]
	}
	return o.APIVersion
}

// Resource names the object for findings. An object named by metadata.generateName shows as
// that prefix and a *, as the API server will complete it.
func (o *Object) Resource() finding.Resource {
	name := o.Name
	if name == "" {
		if g := o.GenerateName(); g != "" {
			name = g + "*"
		}
	}
	return finding.Resource{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: name}
}

// GenerateName is metadata.generateName: the API server names the object with this prefix
// and a random suffix when metadata.name is empty.
func (o *Object) GenerateName() string {
	v, _ := o.Get("metadata", "generateName")
	s, _ := v.(string)
	return s
}

// Key identifies the object as group/kind/namespace/name, the identity duplicate checks use.
func (o *Object) Key() string {
	return o.Group() + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

// FieldPos returns the position of the value at path (API server notation, e.g.
// "spec.rules[0].backendRefs[1].port"). When the path itself is absent, as for a missing
// required field, it returns the position of the nearest enclosing field that exists.
func (o *Object) FieldPos(path string) Pos {
	path = strings.TrimPrefix(path, "<nil>")
	path = strings.TrimPrefix(path, ".")
	best := o.Pos
	n := o.pos
	for path != "" && n != nil {
		var next *posNode
		next, path = child(n, path)
		if next == nil {
			break
		}
		best, n = Pos{Line: int(next.line), Column: int(next.col)}, next
	}
	return best
}

// child finds the value the head of path names in n ("key", "[2]" in a sequence, "[key]" in a
// mapping) and returns it with the rest of the path. Keys may contain dots
// ("metadata.annotations.example.com/x"): the longest key that fits wins. Keys that come from a
// merge key (<<) are not found; the caller keeps the enclosing position.
func child(n *posNode, path string) (*posNode, string) {
	rest := func(r string) string { return strings.TrimPrefix(r, ".") }
	switch n.kind {
	case 's':
		if path[0] != '[' {
			return nil, path
		}
		end := strings.IndexByte(path, ']')
		if end < 0 {
			return nil, path
		}
		i, err := strconv.Atoi(path[1:end])
		if err != nil || i < 0 || i >= len(n.kids) {
			return nil, path
		}
		return &n.kids[i], rest(path[end+1:])
	case 'm':
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return nil, path
			}
			for i, k := range n.keys {
				if k == path[1:end] {
					return &n.kids[i], rest(path[end+1:])
				}
			}
			return nil, path
		}
		best, bestLen := -1, -1
		for i, k := range n.keys {
			if len(k) <= bestLen || !strings.HasPrefix(path, k) {
				continue
			}
			if len(path) == len(k) || path[len(k)] == '.' || path[len(k)] == '[' {
				best, bestLen = i, len(k)
			}
		}
		if best >= 0 {
			return &n.kids[best], rest(path[bestLen:])
		}
	}
	return nil, path
}

// Finding builds a finding about the field at path of this object, positioned in its source.
func (o *Object) Finding(path, rule string, sev finding.Severity, msg string) finding.Finding {
	p := o.FieldPos(path)
	return finding.Finding{
		File: o.File, Line: p.Line, Column: p.Column,
		Resource: o.Resource(), Field: path, Rule: rule, Severity: sev, Message: msg,
	}
}

// Get returns the value at a dotted path of map keys (no list indexes), and whether it exists.
func (o *Object) Get(keys ...string) (any, bool) {
	var cur any = o.Content
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// Labels returns metadata.labels as strings.
func (o *Object) Labels() map[string]string { return o.stringMap("labels") }

// Annotations returns metadata.annotations as strings.
func (o *Object) Annotations() map[string]string { return o.stringMap("annotations") }

func (o *Object) stringMap(field string) map[string]string {
	v, _ := o.Get("metadata", field)
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
