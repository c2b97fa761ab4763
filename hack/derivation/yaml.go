// Package derivation holds what make testdata and make schemas share: canonical YAML that keeps
// every value, and the removal of prose (descriptions, examples, vendor hints) from schemas.
package derivation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"go.yaml.in/yaml/v3"
)

// ReadDocuments parses every YAML document of data, dropping those that hold only comments.
func ReadDocuments(data []byte) ([]*yaml.Node, error) {
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

// Canonical removes comments and sorts mapping keys, in place. Anchors are refused: sorting could
// put an alias before its anchor.
func Canonical(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fmt.Errorf("line %d: anchors and aliases are not supported", n.Line)
	}
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		if err := Canonical(c); err != nil {
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

// WriteDocuments encodes canonical documents with two-space indentation, then parses the result
// back and checks it holds the same values, so that the encoding changed no fact.
func WriteDocuments(docs []*yaml.Node) ([]byte, error) {
	for _, d := range docs {
		if err := Canonical(d); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	back, err := ReadDocuments(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("re-reading the derived YAML: %w", err)
	}
	if len(back) != len(docs) {
		return nil, fmt.Errorf("derived YAML holds %d documents, want %d", len(back), len(docs))
	}
	for i := range docs {
		if path := Differ(docs[i], back[i], ""); path != "" {
			return nil, fmt.Errorf("document %d: the derived YAML changes the value at %s", i, path)
		}
	}
	return buf.Bytes(), nil
}

// Differ returns the path of the first node where a and b hold different values ("" if none).
func Differ(a, b *yaml.Node, path string) string {
	if a.Kind != b.Kind || a.ShortTag() != b.ShortTag() || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return path + "/"
	}
	for i := range a.Content {
		if p := Differ(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); p != "" {
			return p
		}
	}
	return ""
}

// MarshalYAML encodes a value (maps come out with sorted keys) with two-space indentation.
func MarshalYAML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MapValue returns the value of key in a mapping node, or nil.
func MapValue(n *yaml.Node, key string) *yaml.Node {
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

// DropKey removes key and its value from a mapping node.
func DropKey(n *yaml.Node, key string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}
