package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A crd is one CustomResourceDefinition document, with the name its derived file takes.
type crd struct {
	file        string // <group>_<plural>.yaml
	group, kind string
	doc         *yaml.Node
}

// deriveCRDs keeps the facts of every CustomResourceDefinition in data: each version's schema
// loses its prose, printer columns their descriptions. A file without CRDs gives none (upstream
// CRD folders hold other manifests too); one mixing CRDs with other kinds is refused.
func deriveCRDs(data []byte) ([]crd, error) {
	docs, err := readDocuments(data)
	if err != nil {
		return nil, err
	}
	var out []crd
	other := 0
	for _, d := range docs {
		root := d.Content[0]
		if k := mapValue(root, "kind"); k == nil || k.Value != "CustomResourceDefinition" {
			other = root.Line
			continue
		}
		spec := mapValue(root, "spec")
		group, plural, kind := mapValue(spec, "group"), mapValue(mapValue(spec, "names"), "plural"), mapValue(mapValue(spec, "names"), "kind")
		versions := mapValue(spec, "versions")
		if group == nil || plural == nil || kind == nil || versions == nil {
			return nil, fmt.Errorf("line %d: no spec.group, spec.names.plural, spec.names.kind or spec.versions", root.Line)
		}
		for _, v := range versions.Content {
			if s := mapValue(mapValue(v, "schema"), "openAPIV3Schema"); s != nil {
				stripSchema(s)
			}
			if cols := mapValue(v, "additionalPrinterColumns"); cols != nil {
				for _, c := range cols.Content {
					dropKey(c, "description")
				}
			}
		}
		out = append(out, crd{file: group.Value + "_" + plural.Value + ".yaml", group: group.Value, kind: kind.Value, doc: d})
	}
	if other > 0 && len(out) > 0 {
		return nil, fmt.Errorf("line %d: not a CustomResourceDefinition, in a file of CRDs", other)
	}
	return out, nil
}

// proseKeys are schema keywords that document rather than constrain.
var proseKeys = map[string]bool{
	"description": true, "title": true, "example": true, "examples": true, "$comment": true, "externalDocs": true,
}

// Keywords whose value holds subschemas: schemaMaps by name (the names are field names, kept
// even when one is called "description"), schemaValues as one schema or a list of them.
var (
	schemaMaps   = map[string]bool{"properties": true, "patternProperties": true, "definitions": true, "dependencies": true}
	schemaValues = map[string]bool{"items": true, "additionalItems": true, "additionalProperties": true, "allOf": true, "anyOf": true, "oneOf": true, "not": true}
)

// stripSchema drops the prose of a schema and of every subschema, in place. Vendor extensions
// other than x-kubernetes-* (facts the API server enforces) are prose too.
func stripSchema(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			stripSchema(c)
		}
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case proseKeys[k.Value] || (strings.HasPrefix(k.Value, "x-") && !strings.HasPrefix(k.Value, "x-kubernetes-")):
				continue
			case schemaMaps[k.Value] && v.Kind == yaml.MappingNode:
				for j := 1; j < len(v.Content); j += 2 {
					stripSchema(v.Content[j])
				}
			case schemaValues[k.Value]:
				stripSchema(v)
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
}

func dropKey(n *yaml.Node, key string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}

// readDocuments parses every YAML document of data, dropping those that hold only comments.
func readDocuments(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].ShortTag() == "!!null") {
			continue
		}
		docs = append(docs, &doc)
	}
}

// canonical removes comments and sorts mapping keys, in place. Anchors are refused: sorting
// could put an alias before its anchor.
func canonical(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fmt.Errorf("line %d: anchors and aliases are not supported", n.Line)
	}
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		if err := canonical(c); err != nil {
			return err
		}
	}
	if n.Kind == yaml.MappingNode {
		pairs := make([][2]*yaml.Node, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			pairs = append(pairs, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
		}
		sort.SliceStable(pairs, func(i, j int) bool { return pairs[i][0].Value < pairs[j][0].Value })
		n.Content = n.Content[:0]
		for _, p := range pairs {
			n.Content = append(n.Content, p[0], p[1])
		}
	}
	return nil
}

// flowWidth bounds the length of a mapping or list written on one line.
const flowWidth = 120

// compact writes short mappings and lists of scalars (or of such short collections) on one line,
// {type: string, maxLength: 64}: a CRD's leaves are most of its lines, and deep nesting makes
// block style mostly indentation. It returns the node's width on one line, or -1 when the node
// stays in block style.
func compact(n *yaml.Node) int {
	width, flow := 2, true
	for _, c := range n.Content {
		w := compact(c)
		if w < 0 {
			flow = false
		}
		width += w + 2
	}
	switch {
	case n.Kind == yaml.ScalarNode && !strings.Contains(n.Value, "\n"):
		return len(n.Value)
	case n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode || !flow || len(n.Content) == 0 || width > flowWidth:
		return -1
	}
	n.Style = yaml.FlowStyle
	return width
}

// writeDocument encodes a canonical, compacted document with two-space indentation, then parses
// the result back and checks it holds the same values, so that the encoding changed no fact.
func writeDocument(doc *yaml.Node) ([]byte, error) {
	if err := canonical(doc); err != nil {
		return nil, err
	}
	compact(doc.Content[0])
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	back, err := readDocuments(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("re-reading the derived YAML: %w", err)
	}
	if len(back) != 1 {
		return nil, fmt.Errorf("derived YAML holds %d documents, want 1", len(back))
	}
	if path := differ(doc, back[0], ""); path != "" {
		return nil, fmt.Errorf("the derived YAML changes the value at %s", path)
	}
	return buf.Bytes(), nil
}

// differ returns the path of the first node where a and b hold different values ("" if none).
func differ(a, b *yaml.Node, path string) string {
	if a.Kind != b.Kind || a.ShortTag() != b.ShortTag() || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return path + "/"
	}
	for i := range a.Content {
		if p := differ(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); p != "" {
			return p
		}
	}
	return ""
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
