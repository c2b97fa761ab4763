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
	// Doc is the 0-based index of the document within File.
	Doc int
	// Pos is where the document's top-level mapping starts.
	Pos Pos
	// node is the decoded YAML, kept for the positions of fields (FieldPos); nil for objects
	// built in code.
	node *yaml.Node
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

// Resource names the object for findings.
func (o *Object) Resource() finding.Resource {
	return finding.Resource{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
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
	n := o.node
	for path != "" && n != nil {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		next, path = child(n, path)
		if next == nil {
			break
		}
		best, n = Pos{Line: next.Line, Column: next.Column}, next
	}
	return best
}

// child finds the value the head of path names in n ("key", "[2]" in a sequence, "[key]" in a
// mapping) and returns it with the rest of the path. Keys may contain dots
// ("metadata.annotations.example.com/x"): the longest key that fits wins. Keys that come from a
// merge key (<<) are not found; the caller keeps the enclosing position.
func child(n *yaml.Node, path string) (*yaml.Node, string) {
	rest := func(r string) string { return strings.TrimPrefix(r, ".") }
	switch n.Kind {
	case yaml.SequenceNode:
		if path[0] != '[' {
			return nil, path
		}
		end := strings.IndexByte(path, ']')
		if end < 0 {
			return nil, path
		}
		i, err := strconv.Atoi(path[1:end])
		if err != nil || i < 0 || i >= len(n.Content) {
			return nil, path
		}
		return n.Content[i], rest(path[end+1:])
	case yaml.MappingNode:
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return nil, path
			}
			if v := lookup(n, path[1:end]); v != nil {
				return v, rest(path[end+1:])
			}
			return nil, path
		}
		var best *yaml.Node
		bestLen := -1
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if len(k) <= bestLen || !strings.HasPrefix(path, k) {
				continue
			}
			if len(path) == len(k) || path[len(k)] == '.' || path[len(k)] == '[' {
				best, bestLen = n.Content[i+1], len(k)
			}
		}
		if best != nil {
			return best, rest(path[bestLen:])
		}
	}
	return nil, path
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i].Kind == yaml.ScalarNode {
			return n.Content[i+1]
		}
	}
	return nil
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
func (o *Object) Labels() map[string]string {
	v, _ := o.Get("metadata", "labels")
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
