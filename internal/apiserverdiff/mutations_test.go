package apiserverdiff

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Bounds on the mutations, so that the corpus stays a couple of thousand documents.
const (
	maxEnumValues = 8       // other enum values tried per field
	maxLongString = 1 << 14 // maxLength beyond this is not crossed (the request would be large)
	maxListGrowth = 64      // maxItems beyond this is not crossed
)

// A step of a path into a document: a map key (string) or a list index (int).
type step = any

// mutator makes one-edit variants of valid documents: each field dropped, each enum value
// changed (to each other allowed value and to one outside the enum), each numeric, length and
// item-count bound crossed, and each pattern broken, on fields present or (for scalars) absent.
// An edit of the same kind at the same schema path is made once, on the first seed that has it.
type mutator struct {
	seen map[string]bool
	out  []*doc
}

// mutations makes the variants of the seeds: custom resources walked with their CRD's schema,
// built-ins (no schema here) with their fields dropped.
func mutations(t *testing.T, crds []crd, seeds []*doc) []*doc {
	t.Helper()
	m := &mutator{seen: map[string]bool{}}
	for _, d := range seeds {
		av := d.apiVersion()
		version := av[strings.LastIndex(av, "/")+1:]
		top := map[string]bool{"apiVersion": true, "kind": true, "metadata": true, "status": true}
		s := schemaOf(crds, d.group(), version, d.kind())
		keys := sortedKeys(d.Content)
		for _, k := range keys {
			if top[k] {
				continue
			}
			if s == nil {
				m.dropAll(d, []step{k}, d.Content[k], k)
				continue
			}
			child, ok := s.Properties[k]
			if !ok {
				continue
			}
			m.drop(d, []step{k}, k)
			m.walk(d, &child, []step{k}, d.Content[k], k)
		}
	}
	return m.out
}

// add records the variant of d made by edit at path, unless an edit with the same name was made.
func (m *mutator) add(d *doc, name string, path []step, edit func(parent any, last step)) {
	key := d.kind() + " " + name
	if m.seen[key] {
		return
	}
	m.seen[key] = true
	c := runtime.DeepCopyJSON(d.Content)
	var parent any = c
	for _, s := range path[:len(path)-1] {
		switch k := s.(type) {
		case string:
			parent = parent.(map[string]any)[k]
		case int:
			parent = parent.([]any)[k]
		}
	}
	edit(parent, path[len(path)-1])
	m.out = append(m.out, &doc{ID: "mutation " + key, Source: "mutation", Content: c})
}

func (m *mutator) drop(d *doc, path []step, spath string) {
	m.add(d, "drop "+spath, path, func(parent any, last step) {
		delete(parent.(map[string]any), last.(string)) // only map keys are dropped
	})
}

func (m *mutator) set(d *doc, name string, path []step, v any) {
	m.add(d, name, path, func(parent any, last step) {
		switch k := last.(type) {
		case string:
			parent.(map[string]any)[k] = v
		case int:
			parent.([]any)[k] = v
		}
	})
}

// dropAll drops every field under a built-in's top-level field, one at a time.
func (m *mutator) dropAll(d *doc, path []step, v any, spath string) {
	m.drop(d, path, spath)
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			m.dropAll(d, append(clone(path), k), x[k], spath+"."+k)
		}
	case []any:
		for i, e := range x {
			m.walkListItem(d, path, i, e, spath, nil)
		}
	}
}

func (m *mutator) walkListItem(d *doc, path []step, i int, e any, spath string, items *apiextv1.JSONSchemaProps) {
	p := append(clone(path), i)
	if items == nil {
		if em, ok := e.(map[string]any); ok {
			for _, k := range sortedKeys(em) {
				m.dropAll(d, append(clone(p), k), em[k], spath+"[]."+k)
			}
		}
		return
	}
	m.walk(d, items, p, e, spath+"[]")
}

// walk makes the variants of the value v at path, whose schema is s.
func (m *mutator) walk(d *doc, s *apiextv1.JSONSchemaProps, path []step, v any, spath string) {
	switch x := v.(type) {
	case map[string]any:
		if len(s.Properties) > 0 {
			for _, k := range sortedKeys(s.Properties) {
				child := s.Properties[k]
				cp := append(clone(path), k)
				if cv, ok := x[k]; ok {
					m.drop(d, cp, spath+"."+k)
					m.walk(d, &child, cp, cv, spath+"."+k)
					continue
				}
				m.scalarBounds(d, &child, cp, nil, spath+"."+k, "add ")
			}
			return
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			for _, k := range sortedKeys(x) {
				m.walk(d, s.AdditionalProperties.Schema, append(clone(path), k), x[k], spath+"[*]")
			}
		}
	case []any:
		if s.MaxItems != nil && *s.MaxItems < maxListGrowth && len(x) > 0 {
			grown := clone(x)
			for int64(len(grown)) <= *s.MaxItems {
				grown = append(grown, runtime.DeepCopyJSONValue(x[len(x)-1]))
			}
			m.set(d, fmt.Sprintf("maxItems+1 %s", spath), path, grown)
		}
		if s.MinItems != nil && *s.MinItems > 0 && int64(len(x)) >= *s.MinItems {
			// Never a nil slice: that is JSON null, which the server replaces with the default.
			m.set(d, fmt.Sprintf("minItems-1 %s", spath), path, append([]any{}, x[:*s.MinItems-1]...))
		}
		if s.Items != nil && s.Items.Schema != nil {
			for i, e := range x {
				m.walkListItem(d, path, i, e, spath, s.Items.Schema)
			}
		}
	default:
		m.scalarBounds(d, s, path, v, spath, "")
	}
}

// scalarBounds crosses the enum, bounds and pattern of a scalar field; v is its value, nil when
// the field is absent (then only values outside the schema are tried, prefixed "add").
func (m *mutator) scalarBounds(d *doc, s *apiextv1.JSONSchemaProps, path []step, v any, spath, prefix string) {
	if len(s.Enum) > 0 {
		if v != nil {
			n := 0
			for _, e := range s.Enum {
				var ev any
				if err := jsonUnmarshal(e.Raw, &ev); err != nil || ev == v || n == maxEnumValues {
					continue
				}
				n++
				m.set(d, fmt.Sprintf("enum %s=%v", spath, ev), path, ev)
			}
		}
		if s.Type == "string" {
			m.set(d, prefix+"enum "+spath+"=NotInEnum", path, "NotInEnum")
		}
	}
	switch s.Type {
	case "string":
		if s.MaxLength != nil && *s.MaxLength < maxLongString {
			m.set(d, fmt.Sprintf("%smaxLength+1 %s", prefix, spath), path, strings.Repeat("a", int(*s.MaxLength)+1))
		}
		if s.MinLength != nil && *s.MinLength > 0 {
			m.set(d, fmt.Sprintf("%sminLength-1 %s", prefix, spath), path, strings.Repeat("a", int(*s.MinLength)-1))
		}
		if s.Pattern != "" && len(s.Enum) == 0 {
			m.set(d, fmt.Sprintf("%spattern %s", prefix, spath), path, "not valid!")
		}
	case "integer", "number":
		if s.Maximum != nil {
			over := *s.Maximum + 1
			if s.ExclusiveMaximum {
				over = *s.Maximum
			}
			m.set(d, fmt.Sprintf("%smaximum+1 %s", prefix, spath), path, number(s.Type, over))
		}
		if s.Minimum != nil {
			under := *s.Minimum - 1
			if s.ExclusiveMinimum {
				under = *s.Minimum
			}
			m.set(d, fmt.Sprintf("%sminimum-1 %s", prefix, spath), path, number(s.Type, under))
		}
	}
}

// number is f as the decoder would give it: int64 for an integer field.
func number(typ string, f float64) any {
	if typ == "integer" && f >= math.MinInt64 && f <= math.MaxInt64 {
		return int64(f)
	}
	return f
}

// jsonUnmarshal decodes an enum value as the manifest decoder does (int64 for whole numbers).
func jsonUnmarshal(data []byte, v *any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	if f, ok := (*v).(float64); ok && f == math.Trunc(f) {
		*v = int64(f)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func clone[T any](s []T) []T { return append([]T(nil), s...) }
