package platform

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// node is what the schema says about one key gwctl owns.
type node struct {
	// kind is the JSON Schema type: object, array, boolean, integer or string.
	kind  string
	props map[string]*node // an object's keys
	items *node            // an array's elements
}

// names is an object's keys, sorted.
func (n *node) names() []string {
	out := make([]string, 0, len(n.props))
	for k := range n.props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ownedTree reads the schema into the tree of keys gwctl owns, so the schema stays the one list
// of them: the key check, --set and the environment all read this tree.
func ownedTree(schemaJSON string) (*node, error) {
	var s map[string]any
	if err := json.Unmarshal([]byte(schemaJSON), &s); err != nil {
		return nil, fmt.Errorf("platform schema: %w", err)
	}
	defs, _ := s["$defs"].(map[string]any)
	var build func(m map[string]any) *node
	build = func(m map[string]any) *node {
		if ref, ok := m["$ref"].(string); ok {
			m, _ = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		n := &node{kind: "string"} // an enum of strings has no type
		if t, ok := m["type"].(string); ok {
			n.kind = t
		}
		switch n.kind {
		case "object":
			n.props = map[string]*node{}
			props, _ := m["properties"].(map[string]any)
			for k, v := range props {
				sub, _ := v.(map[string]any)
				n.props[k] = build(sub)
			}
		case "array":
			sub, _ := m["items"].(map[string]any)
			n.items = build(sub)
		}
		return n
	}
	return build(s), nil
}

// scalarKeys lists every scalar key path gwctl owns (gateway.port), with its kind: the keys the
// environment and --set may set with a typed value.
func scalarKeys(root *node) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, n *node)
	walk = func(prefix string, n *node) {
		for k, c := range n.props {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			switch c.kind {
			case "object":
				walk(key, c)
			case "array":
				// Lists (pool.models) are set in the file only.
			default:
				out[key] = c.kind
			}
		}
	}
	walk("", root)
	return out
}
