package main

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/hack/derivation"
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
	docs, err := derivation.ReadDocuments(data)
	if err != nil {
		return nil, err
	}
	var out []crd
	other := 0
	for _, d := range docs {
		root := d.Content[0]
		if k := derivation.MapValue(root, "kind"); k == nil || k.Value != "CustomResourceDefinition" {
			other = root.Line
			continue
		}
		spec := derivation.MapValue(root, "spec")
		group, plural, kind := derivation.MapValue(spec, "group"), derivation.MapValue(derivation.MapValue(spec, "names"), "plural"), derivation.MapValue(derivation.MapValue(spec, "names"), "kind")
		versions := derivation.MapValue(spec, "versions")
		if group == nil || plural == nil || kind == nil || versions == nil {
			return nil, fmt.Errorf("line %d: no spec.group, spec.names.plural, spec.names.kind or spec.versions", root.Line)
		}
		for _, v := range versions.Content {
			if s := derivation.MapValue(derivation.MapValue(v, "schema"), "openAPIV3Schema"); s != nil {
				derivation.StripSchemaNode(s)
			}
			if cols := derivation.MapValue(v, "additionalPrinterColumns"); cols != nil {
				for _, c := range cols.Content {
					derivation.DropKey(c, "description")
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
	if err := derivation.Canonical(doc); err != nil {
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
	back, err := derivation.ReadDocuments(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("re-reading the derived YAML: %w", err)
	}
	if len(back) != 1 {
		return nil, fmt.Errorf("derived YAML holds %d documents, want 1", len(back))
	}
	if path := derivation.Differ(doc, back[0], ""); path != "" {
		return nil, fmt.Errorf("the derived YAML changes the value at %s", path)
	}
	return buf.Bytes(), nil
}
