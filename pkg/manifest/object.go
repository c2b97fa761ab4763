// Package manifest reads Kubernetes manifests (YAML or JSON, many documents per file) into
// objects that remember where each field came from, so every later finding can name file:line:column.
package manifest

import (
	"strings"

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
	// fields maps a field path (spec.rules[0].matches) to the position of its value.
	fields map[string]Pos
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
	for path != "" {
		if p, ok := o.fields[path]; ok {
			return p
		}
		path = parentPath(path)
	}
	return o.Pos
}

// Finding builds a finding about the field at path of this object, positioned in its source.
func (o *Object) Finding(path, rule string, sev finding.Severity, msg string) finding.Finding {
	p := o.FieldPos(path)
	return finding.Finding{
		File: o.File, Line: p.Line, Column: p.Column,
		Resource: o.Resource(), Field: path, Rule: rule, Severity: sev, Message: msg,
	}
}

// parentPath drops the last segment of a field path: a.b[2] -> a.b, a.b -> a, a[key] -> a.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
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
