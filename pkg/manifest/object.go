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
	pos *posTree
}

// posTree is where each value of the document starts: what FieldPos needs of the YAML tree, in
// a fraction of its size. nodes[0] is the document; a node's children are nodes[first:first+n],
// and a mapping child's key is keys at the child's index (one slice of each per document: a
// slice per mapping and sequence was a tenth of the allocations of reading a manifest).
type posTree struct {
	nodes []posNode
	keys  []string
}

type posNode struct {
	line, col int32
	first, n  int32 // children
	kind      byte  // 'm' mapping, 's' sequence, 0 scalar
}

// newPosTree records the positions of n's tree. An alias has its own position and its
// anchor's children.
func newPosTree(n *yaml.Node) *posTree {
	count := countPos(n)
	t := &posTree{nodes: make([]posNode, 1, count), keys: make([]string, count)}
	t.fill(0, n)
	return t
}

// countPos counts the nodes of n's tree as newPosTree records it.
func countPos(n *yaml.Node) int {
	nodes := 1
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			nodes += countPos(n.Content[i])
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			nodes += countPos(c)
		}
	}
	return nodes
}

// fill records node i from n, then its children (appended together, then filled in turn).
func (t *posTree) fill(i int, n *yaml.Node) {
	t.nodes[i].line, t.nodes[i].col = int32(n.Line), int32(n.Column)
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	var kids []*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		t.nodes[i].kind = 'm'
		first := len(t.nodes)
		for j := 0; j+1 < len(n.Content); j += 2 {
			t.keys[len(t.nodes)] = n.Content[j].Value
			t.nodes = append(t.nodes, posNode{})
		}
		t.nodes[i].first, t.nodes[i].n = int32(first), int32(len(n.Content)/2)
		for j := 1; j < len(n.Content); j += 2 {
			t.fill(first+j/2, n.Content[j])
		}
		return
	case yaml.SequenceNode:
		t.nodes[i].kind = 's'
		kids = n.Content
	}
	first := len(t.nodes)
	t.nodes = t.nodes[:first+len(kids)]
	t.nodes[i].first, t.nodes[i].n = int32(first), int32(len(kids))
	for j, c := range kids {
		t.fill(first+j, c)
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
	t := o.pos
	if t == nil {
		return best
	}
	for n := 0; path != ""; {
		var next int
		next, path = t.child(n, path)
		if next < 0 {
			break
		}
		best, n = Pos{Line: int(t.nodes[next].line), Column: int(t.nodes[next].col)}, next
	}
	return best
}

// child finds the value the head of path names in node at ("key", "[2]" in a sequence,
// "[key]" in a mapping) and returns it with the rest of the path. Keys may contain dots
// ("metadata.annotations.example.com/x"): the longest key that fits wins. Keys that come from a
// merge key (<<) are not found; the caller keeps the enclosing position.
func (t *posTree) child(at int, path string) (int, string) {
	n := &t.nodes[at]
	kids, keys := int(n.first), t.keys[n.first:n.first+n.n]
	rest := func(r string) string { return strings.TrimPrefix(r, ".") }
	switch n.kind {
	case 's':
		if path[0] != '[' {
			return -1, path
		}
		end := strings.IndexByte(path, ']')
		if end < 0 {
			return -1, path
		}
		i, err := strconv.Atoi(path[1:end])
		if err != nil || i < 0 || i >= int(n.n) {
			return -1, path
		}
		return kids + i, rest(path[end+1:])
	case 'm':
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return -1, path
			}
			for i, k := range keys {
				if k == path[1:end] {
					return kids + i, rest(path[end+1:])
				}
			}
			return -1, path
		}
		best, bestLen := -1, -1
		for i, k := range keys {
			if len(k) <= bestLen || !strings.HasPrefix(path, k) {
				continue
			}
			if len(path) == len(k) || path[len(k)] == '.' || path[len(k)] == '[' {
				best, bestLen = i, len(k)
			}
		}
		if best >= 0 {
			return kids + best, rest(path[bestLen:])
		}
	}
	return -1, path
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
