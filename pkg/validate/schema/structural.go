package schema

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// structNode is a structural schema compiled for the walks kube-apiserver makes over a custom
// resource before it validates it: pruning (apiextensions-apiserver's schema/pruning), defaulting
// (schema/defaulting) and the list-type checks (schema/listtype). They are those packages'
// algorithms (Apache-2.0) over a schema whose nodes are looked up once instead of copied on
// every visit, and they skip subtrees that hold no default and no list type; the result is the
// same, as apiserver_test.go checks against the packages themselves.
type structNode struct {
	s          *structuralschema.Structural
	props      map[string]*structNode
	items      *structNode
	additional *structNode // additionalProperties with a schema
	hasAddl    bool        // additionalProperties set (schema or true)

	defaults    []string // properties with a default, in schema order
	hasDefaults bool     // a default somewhere in the subtree
	hasLists    bool     // an x-kubernetes-list-type somewhere in the subtree
	// The properties with a default or a list type below them (sorted): the walks look these
	// up instead of iterating every field of the object.
	defaultKids, listKids []string

	pruneRoot *structNode // at a resource root: this node as pruning sees it (compileResource)
}

func compileStructural(s *structuralschema.Structural) *structNode {
	if s == nil {
		return nil
	}
	n := &structNode{s: s, hasLists: s.XListType != nil}
	if len(s.Properties) > 0 {
		n.props = make(map[string]*structNode, len(s.Properties))
		for k := range s.Properties {
			p := s.Properties[k]
			c := compileStructural(&p)
			n.props[k] = c
			if p.Default.Object != nil {
				n.defaults = append(n.defaults, k)
			}
			n.hasDefaults = n.hasDefaults || c.hasDefaults || p.Default.Object != nil
			n.hasLists = n.hasLists || c.hasLists
			if c.hasDefaults {
				n.defaultKids = append(n.defaultKids, k)
			}
			if c.hasLists {
				n.listKids = append(n.listKids, k)
			}
		}
		sort.Strings(n.defaults)
		sort.Strings(n.defaultKids)
		sort.Strings(n.listKids)
	}
	if s.Items != nil {
		n.items = compileStructural(s.Items)
		n.hasDefaults = n.hasDefaults || n.items.hasDefaults || s.Items.Default.Object != nil
		n.hasLists = n.hasLists || n.items.hasLists
	}
	if s.AdditionalProperties != nil {
		n.hasAddl = true
		if s.AdditionalProperties.Structural != nil {
			n.additional = compileStructural(s.AdditionalProperties.Structural)
			n.hasDefaults = n.hasDefaults || n.additional.hasDefaults || s.AdditionalProperties.Structural.Default.Object != nil
			n.hasLists = n.hasLists || n.additional.hasLists
		}
	}
	return n
}

var metaFields = map[string]bool{"apiVersion": true, "kind": true, "metadata": true}

// compileResource compiles the schema of a resource root. Pruning treats the root as an
// embedded resource (apiVersion, kind and metadata are kept), as PruneWithOptions does.
func compileResource(s *structuralschema.Structural) *structNode {
	if s == nil {
		s = &structuralschema.Structural{}
	}
	n := compileStructural(s)
	n.pruneRoot = n
	if !s.XEmbeddedResource {
		clone := *s
		clone.XEmbeddedResource = true
		n.pruneRoot = &structNode{s: &clone, props: n.props, items: n.items, additional: n.additional, hasAddl: n.hasAddl}
	}
	return n
}

// pruneCopy returns a copy of the resource obj without the fields the schema does not know,
// and their paths (sorted), as pruning.PruneWithOptions reports them for a resource root. n
// comes from compileResource.
func (n *structNode) pruneCopy(obj map[string]any) (map[string]any, []string) {
	p := pruners.Get().(*pruner)
	defer pruners.Put(p)
	p.path, p.unknown = p.path[:0], nil
	out, _ := p.prune(obj, n.pruneRoot).(map[string]any)
	unknown := p.unknown
	p.unknown = nil
	sort.Strings(unknown)
	return out, unknown
}

// pruners reuse their path from object to object.
var pruners = sync.Pool{New: func() any { return &pruner{path: make([]string, 0, 32)} }}

type pruner struct {
	path    []string
	unknown []string
}

func (p *pruner) push(key string) {
	if len(p.path) > 0 {
		p.path = append(p.path, ".")
	}
	p.path = append(p.path, key)
}

func (p *pruner) record(key string) {
	l := len(p.path)
	p.push(key)
	p.unknown = append(p.unknown, strings.Join(p.path, ""))
	p.path = p.path[:l]
}

func (p *pruner) prune(x any, n *structNode) any {
	if n != nil && n.s.XPreserveUnknownFields {
		return p.skipPrune(x, n)
	}
	l := len(p.path)
	switch x := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		if n == nil {
			for k := range x {
				p.record(k)
			}
			return out
		}
		for k, v := range x {
			if !p.known(out, k, v, n) && (!metaFields[k] || len(p.path) > 0) {
				p.record(k)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		var items *structNode
		if n != nil {
			items = n.items
		}
		for i, v := range x {
			p.path = append(p.path, "[", strconv.Itoa(i), "]")
			out[i] = p.prune(v, items)
			p.path = p.path[:l]
		}
		return out
	}
	return x
}

// known copies the field k of a map under n into out, pruned, when the schema knows it: the
// metadata of an embedded resource (kept whole), a property, or an additional property.
func (p *pruner) known(out map[string]any, k string, v any, n *structNode) bool {
	if n.s.XEmbeddedResource && metaFields[k] {
		// Kept whole. Shared with obj unless defaulting may write into it: nothing else writes
		// to the pruned object or to obj (TestPipelineMatchesAPIServer checks obj is unchanged).
		if defaultsUnder(n, k) {
			v = runtime.DeepCopyJSONValue(v)
		}
		out[k] = v
		return true
	}
	sub, ok := n.props[k]
	if !ok && !n.hasAddl {
		return false
	}
	if !ok {
		sub = n.additional
	}
	l := len(p.path)
	p.push(k)
	out[k] = p.prune(v, sub)
	p.path = p.path[:l]
	return true
}

// defaultsUnder reports whether defaulting writes under the field k of a map under n.
func defaultsUnder(n *structNode, k string) bool {
	if sub, ok := n.props[k]; ok {
		return sub.hasDefaults
	}
	return n.hasAddl && n.additional != nil && n.additional.hasDefaults
}

func (p *pruner) skipPrune(x any, n *structNode) any {
	if n == nil {
		return runtime.DeepCopyJSONValue(x)
	}
	l := len(p.path)
	switch x := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			if !p.known(out, k, v, n) {
				out[k] = runtime.DeepCopyJSONValue(v)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			p.path = append(p.path, "[", strconv.Itoa(i), "]")
			out[i] = p.skipPrune(v, n.items)
			p.path = p.path[:l]
		}
		return out
	}
	return x
}

// applyDefaults is defaulting.Default.
func (n *structNode) applyDefaults(x any) {
	if n == nil || !n.hasDefaults {
		return
	}
	switch x := x.(type) {
	case map[string]any:
		for _, k := range n.defaults {
			prop := n.props[k]
			if v, found := x[k]; !found || (v == nil && !prop.s.Nullable) {
				x[k] = runtime.DeepCopyJSONValue(prop.s.Default.Object)
			}
		}
		for _, k := range n.defaultKids { // the other properties have nothing to default
			if v, ok := x[k]; ok {
				n.props[k].applyDefaults(v)
			}
		}
		if n.hasAddl && n.additional != nil && (n.additional.hasDefaults || n.additional.s.Default.Object != nil) {
			for k, v := range x {
				if _, ok := n.props[k]; ok {
					continue
				}
				if v == nil && !n.additional.s.Nullable {
					x[k] = runtime.DeepCopyJSONValue(n.additional.s.Default.Object)
				}
				n.additional.applyDefaults(x[k])
			}
		}
	case []any:
		if n.items == nil {
			return
		}
		for i := range x {
			if x[i] == nil && !n.items.s.Nullable {
				x[i] = runtime.DeepCopyJSONValue(n.items.s.Default.Object)
			}
			n.items.applyDefaults(x[i])
		}
	}
}

// listErrors is listtype.ValidateListSetsAndMaps.
func (n *structNode) listErrors(path *field.Path, obj map[string]any) field.ErrorList {
	if n == nil || obj == nil || !n.hasLists {
		return nil
	}
	var errs field.ErrorList
	if n.additional != nil && n.additional.hasLists {
		for k, v := range obj {
			errs = append(errs, n.additional.listErrorsValue(path.Key(k), v)...)
		}
	}
	for _, k := range n.listKids { // the other properties hold no list type
		if v, ok := obj[k]; ok {
			errs = append(errs, n.props[k].listErrorsValue(path.Child(k), v)...)
		}
	}
	return errs
}

func (n *structNode) listErrorsValue(path *field.Path, obj any) field.ErrorList {
	if !n.hasLists {
		return nil
	}
	switch obj := obj.(type) {
	case []any:
		return n.listErrorsArray(path, obj)
	case map[string]any:
		return n.listErrors(path, obj)
	}
	return nil
}

func (n *structNode) listErrorsArray(path *field.Path, obj []any) field.ErrorList {
	var errs field.ErrorList
	if n.s.XListType != nil {
		switch *n.s.XListType {
		case "set":
			nonUnique, err := listSetDuplicates(path, obj)
			if err != nil {
				errs = append(errs, err)
			} else {
				for _, i := range nonUnique {
					errs = append(errs, field.Duplicate(path.Index(i), obj[i]))
				}
			}
		case "map":
			errs = append(errs, listMapDuplicates(path, n.s.XListMapKeys, obj)...)
		}
	}
	if n.items != nil {
		for i := range obj {
			errs = append(errs, n.items.listErrorsValue(path.Index(i), obj[i])...)
		}
	}
	return errs
}

func listSetDuplicates(path *field.Path, obj []any) ([]int, *field.Error) {
	if len(obj) <= 1 {
		return nil, nil
	}
	seenScalars := make(map[any]int, len(obj))
	seenCompounds := make(map[string]int, len(obj))
	var nonUnique []int
	for i, x := range obj {
		switch x.(type) {
		case map[string]any, []any:
			bs, err := json.Marshal(x)
			if err != nil {
				return nil, field.Invalid(path.Index(i), x, "internal error")
			}
			s := string(bs)
			if times, seen := seenCompounds[s]; !seen {
				seenCompounds[s] = 1
			} else {
				seenCompounds[s]++
				if times == 1 {
					nonUnique = append(nonUnique, i)
				}
			}
		default:
			if times, seen := seenScalars[x]; !seen {
				seenScalars[x] = 1
			} else {
				seenScalars[x]++
				if times == 1 {
					nonUnique = append(nonUnique, i)
				}
			}
		}
	}
	return nonUnique, nil
}

func listMapDuplicates(path *field.Path, mapKeys []string, obj []any) field.ErrorList {
	for i, x := range obj {
		if _, ok := x.(map[string]any); x != nil && !ok {
			return field.ErrorList{field.Invalid(path.Index(i), x, "must be an object for an array of list-type map")}
		}
	}
	if len(obj) <= 1 {
		return nil
	}
	if len(mapKeys) == 1 {
		type unspecifiedKeyValue struct{}
		keyField := mapKeys[0]
		keys := make([]any, 0, len(obj))
		for _, x := range obj {
			if x == nil {
				keys = append(keys, unspecifiedKeyValue{})
				continue
			}
			key, ok := x.(map[string]any)[keyField]
			if !ok {
				keys = append(keys, unspecifiedKeyValue{})
				continue
			}
			keys = append(keys, key)
		}
		nonUnique, err := listSetDuplicates(path, keys)
		if err != nil {
			return field.ErrorList{err}
		}
		var errs field.ErrorList
		for _, i := range nonUnique {
			switch keys[i] {
			case unspecifiedKeyValue{}:
				errs = append(errs, field.Duplicate(path.Index(i), map[string]any{}))
			default:
				errs = append(errs, field.Duplicate(path.Index(i), map[string]any{keyField: keys[i]}))
			}
		}
		return errs
	}
	keys := make([]any, 0, len(obj))
	for _, x := range obj {
		key := map[string]any{}
		if x == nil {
			keys = append(keys, key)
			continue
		}
		for _, keyField := range mapKeys {
			if k, ok := x.(map[string]any)[keyField]; ok {
				key[keyField] = k
			}
		}
		keys = append(keys, key)
	}
	nonUnique, err := listSetDuplicates(path, keys)
	if err != nil {
		return field.ErrorList{err}
	}
	var errs field.ErrorList
	for _, i := range nonUnique {
		errs = append(errs, field.Duplicate(path.Index(i), keys[i]))
	}
	return errs
}
