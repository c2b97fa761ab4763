package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// Error is a problem reading input (not a finding about a valid object): it makes gwctl exit 2.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.Pos.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Pos.Column == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Pos.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Column, e.Msg)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse decodes every document in data. Empty documents are skipped. Each object must be a
// mapping with apiVersion and kind; anything else is an *Error with its position.
func Parse(file string, data []byte, lim Limits) ([]*Object, error) {
	return parse(file, data, lim, fastYAML)
}

// fastYAML is false under GWCTL_NOFAST=yaml: Parse then reads every file with yaml.v3.
var fastYAML = fastpath.Enabled(fastpath.YAML)

// parse is Parse with the fast front end (fastParse) optional, so benchmarks and tests can
// compare it with yaml.v3 alone.
func parse(file string, data []byte, lim Limits, fast bool) ([]*Object, error) {
	if lim.MaxFileBytes > 0 && int64(len(data)) > lim.MaxFileBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes, over the limit of %d", len(data), lim.MaxFileBytes)}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &Error{File: file, Msg: "binary content (NUL byte): not YAML or JSON"}
	}
	var budget fileBudget
	var out []*Object
	if fast {
		arena := fastArenas.Get().(*fastArena)
		defer func() { arena.reset(); fastArenas.Put(arena) }() // the objects keep no node
		if docs, over, ok := fastParseIn(data, lim, arena); ok {
			// The documents before one that breaks a limit come first, as on yaml.v3's path.
			for doc, root := range docs {
				obj, err := decodeDocument(file, doc, root, lim, &budget)
				if err != nil {
					return nil, err
				}
				if obj != nil {
					out = append(out, obj)
				}
			}
			if over != nil {
				over.File = file
				return nil, over
			}
			return out, nil
		}
	}
	r, cutLine := newCutReader(data, lim)
	dec := yaml.NewDecoder(r)
	for doc := 0; ; doc++ {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if r.hit {
				return nil, textNodesError(file, cutLine, lim)
			}
			return nil, yamlError(file, err)
		}
		if lim.MaxDocuments > 0 && doc >= lim.MaxDocuments {
			return nil, lim.documentsError(file, pos(&root))
		}
		obj, err := decodeDocument(file, doc, &root, lim, &budget)
		if err != nil {
			return nil, err
		}
		if obj != nil {
			out = append(out, obj)
		}
	}
}

func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Pos: Pos{Line: line}, Msg: "YAML syntax: " + m[2]}
	}
	return &Error{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

func decodeDocument(file string, doc int, root *yaml.Node, lim Limits, budget *fileBudget) (*Object, error) {
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, nil
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	d := &decoder{file: file, doc: doc, lim: lim, budget: *budget}
	v, err := d.value(n, 0)
	*budget = d.budget
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{File: file, Pos: pos(n), Msg: fmt.Sprintf("document %d is a %s, not a Kubernetes object (a mapping)", doc, kindName(n))}
	}
	o := &Object{Content: m, File: file, Doc: doc, Pos: pos(n), pos: newPosTree(n)}
	var okAV, okKind bool
	o.APIVersion, okAV = m["apiVersion"].(string)
	o.Kind, okKind = m["kind"].(string)
	if !okAV || o.APIVersion == "" {
		return nil, &Error{File: file, Pos: o.Pos, Msg: fmt.Sprintf("document %d has no apiVersion", doc)}
	}
	if !okKind || o.Kind == "" {
		return nil, &Error{File: file, Pos: o.Pos, Msg: fmt.Sprintf("document %d has no kind", doc)}
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		o.Name, _ = md["name"].(string)
		o.Namespace, _ = md["namespace"].(string)
	}
	return o, nil
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.MappingNode:
		return "mapping"
	}
	return "node"
}

func (d *decoder) errf(n *yaml.Node, format string, args ...any) error {
	return &Error{File: d.file, Pos: pos(n), Msg: fmt.Sprintf(format, args...)}
}

// value converts a YAML node to a JSON value, counting it against the limits first (an
// alias expands only once counted whole). Positions stay in the nodes (Object.FieldPos).
func (d *decoder) value(n *yaml.Node, depth int) (any, error) {
	if n.Kind == yaml.AliasNode {
		return d.expand(n, depth)
	}
	if err := d.count(n); err != nil {
		return nil, err
	}
	if d.lim.MaxDepth > 0 && depth > d.lim.MaxDepth {
		return nil, d.depthError(n)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		// Keys set in this mapping (not by a merge key): only needed when there is a merge key.
		var explicit map[string]bool
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isMerge(n.Content[i]) {
				explicit = make(map[string]bool, len(n.Content)/2)
				break
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				if err := d.count(k); err != nil {
					return nil, err
				}
				if err := d.merge(m, explicit, v, depth); err != nil {
					return nil, err
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, d.errf(k, "mapping key is a %s; keys must be strings", kindName(k))
			}
			if err := d.count(k); err != nil {
				return nil, err
			}
			key := k.Value
			if explicit != nil {
				if explicit[key] {
					return nil, d.errf(k, "duplicate key %q", key)
				}
				explicit[key] = true
			} else if _, dup := m[key]; dup {
				return nil, d.errf(k, "duplicate key %q", key)
			}
			val, err := d.value(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := d.value(c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		return s, nil
	case yaml.ScalarNode:
		return d.scalar(n)
	}
	return nil, d.errf(n, "unsupported YAML node")
}

func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.Tag == "!!merge" }

// merge applies a YAML merge key (<<: *anchor); explicit keys already set win.
func (d *decoder) merge(m map[string]any, explicit map[string]bool, v *yaml.Node, depth int) error {
	src, err := d.value(v, depth+1)
	if err != nil {
		return err
	}
	var maps []map[string]any
	switch t := src.(type) {
	case map[string]any:
		maps = append(maps, t)
	case []any:
		for _, e := range t {
			em, ok := e.(map[string]any)
			if !ok {
				return d.errf(v, "merge key (<<) needs mappings")
			}
			maps = append(maps, em)
		}
	default:
		return d.errf(v, "merge key (<<) needs a mapping")
	}
	for _, mm := range maps {
		for k, val := range mm {
			if _, ok := m[k]; !ok && !explicit[k] {
				m[k] = val
			}
		}
	}
	return nil
}

// yaml11Bool are the plain scalars YAML 1.1 (and so kubectl, through sigs.k8s.io/yaml) reads as booleans.
var yaml11Bool = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func (d *decoder) scalar(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		switch n.Value {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, d.errf(n, "invalid boolean %q", n.Value)
		}
		return b, nil
	case "!!int":
		if i, ok := decimal(n.Value); ok {
			return i, nil
		}
		var i int64
		if err := n.Decode(&i); err != nil {
			// Too large for int64: keep it as a float, as JSON would.
			var f float64
			if ferr := n.Decode(&f); ferr != nil {
				return nil, d.errf(n, "invalid integer %q", n.Value)
			}
			return f, nil
		}
		return i, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, d.errf(n, "invalid number %q", n.Value)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, d.errf(n, "number %q cannot be represented in JSON", n.Value)
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 && !strings.ContainsAny(n.Value, ".eE") {
			return int64(f), nil
		}
		return f, nil
	case "!!str", "!!timestamp", "!!binary", "":
		if n.Style == 0 {
			if b, ok := yaml11Bool[n.Value]; ok && n.Tag == "!!str" {
				return b, nil
			}
		}
		return n.Value, nil
	}
	// Custom tags: keep the text, as kubectl does for unknown tags on strings.
	return n.Value, nil
}

// decimal parses a plain base-10 integer without going through the YAML decoder (the common
// case); other spellings (0x1f, 0o17, 1_000, +5) are left to it.
func decimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	digits := s
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// ParseMapping decodes a single-document YAML or JSON mapping that is not a Kubernetes object
// (a config file), keeping field positions for error messages. An empty file is an empty mapping.
func ParseMapping(file string, data []byte, lim Limits) (*Object, error) {
	if lim.MaxFileBytes > 0 && int64(len(data)) > lim.MaxFileBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes, over the limit of %d", len(data), lim.MaxFileBytes)}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &Error{File: file, Msg: "binary content (NUL byte): not YAML or JSON"}
	}
	var root yaml.Node
	r, cutLine := newCutReader(data, lim)
	dec := yaml.NewDecoder(r)
	if err := dec.Decode(&root); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return &Object{Content: map[string]any{}, File: file}, nil
		case r.hit:
			return nil, textNodesError(file, cutLine, lim)
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if r.hit {
			return nil, textNodesError(file, cutLine, lim)
		}
		return nil, &Error{File: file, Pos: pos(&extra), Msg: "expected one YAML document, found more"}
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	d := &decoder{file: file, lim: lim}
	v, err := d.value(n, 0)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = map[string]any{}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{File: file, Pos: pos(n), Msg: fmt.Sprintf("expected a mapping, found a %s", kindName(n))}
	}
	return &Object{Content: m, File: file, Pos: pos(n), pos: newPosTree(n)}, nil
}
