package jsonstrict

import (
	"encoding/json"
	"reflect"
	"strings"
)

// Each is the path step for every element of an array (Schema.Known("messages", Each, "role")).
const Each = "[]"

// Schema is what a reader decides on in a document: the member names it reads at each place
// (whose case variants Read refuses) and the paths whose values Read captures. Build it once,
// at start-up; it is read-only, and so safe for concurrent use, afterwards.
type Schema struct {
	root  Shape
	slots int
}

// Shape is what a schema knows of the values at one place of a document.
type Shape struct {
	names   []string
	hashes  []uint64
	members []*Shape
	elems   *Shape // the elements of an array here
	slot    int    // capture slot, -1 for none
}

// NewSchema returns an empty schema: Read with it checks as Check does.
func NewSchema() *Schema {
	return &Schema{root: Shape{slot: -1}}
}

// Slots is the length of the vals slice Read needs.
func (s *Schema) Slots() int { return s.slots }

// Capture adds path (member names, not Each) and returns the slot where Read stores the value
// found there.
func (s *Schema) Capture(path ...string) int {
	sh := s.shape(path)
	if sh.slot < 0 {
		for _, p := range path {
			if p == Each {
				panic("jsonstrict: cannot capture a value inside an array: " + strings.Join(path, "."))
			}
		}
		sh.slot = s.slots
		s.slots++
	}
	return sh.slot
}

// Known adds path, so that case variants of its names are refused, without capturing it.
func (s *Schema) Known(path ...string) {
	s.shape(path)
}

func (s *Schema) shape(path []string) *Shape {
	sh := &s.root
	for _, p := range path {
		sh = sh.child(p)
	}
	return sh
}

func (sh *Shape) child(name string) *Shape {
	if name == Each {
		if sh.elems == nil {
			sh.elems = &Shape{slot: -1}
		}
		return sh.elems
	}
	for i, n := range sh.names {
		if n == name {
			return sh.members[i]
		}
	}
	c := &Shape{slot: -1}
	sh.names = append(sh.names, name)
	sh.hashes = append(sh.hashes, foldHash(name))
	sh.members = append(sh.members, c)
	return c
}

// match finds the member named by a key literal body; variant is the member name the key
// equals only under case folding.
func (sh *Shape) match(lit []byte, k keyRec) (m *Shape, ok bool, variant string) {
	for i, n := range sh.names {
		if k.plain {
			if string(lit) == n {
				return sh.members[i], true, ""
			}
		} else if literalIs(lit, n, false) {
			return sh.members[i], true, ""
		}
	}
	for i, n := range sh.names {
		if sh.hashes[i] == k.hash && literalIs(lit, n, true) {
			return nil, false, n
		}
	}
	return nil, false, ""
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// Type adds, under path, the member names encoding/json matches when it decodes into a value
// of v's type: the JSON names of struct fields, through pointers, slices and arrays (as Each)
// and nested structs. json.RawMessage, maps and interfaces are not looked into. A type that
// decodes itself (json.Unmarshaler) must be given in as, mapped to a value whose type has its
// shape; Type panics otherwise, so that a new such type is not silently unchecked.
func (s *Schema) Type(v any, as map[reflect.Type]any, path ...string) {
	s.addType(s.shape(path), reflect.TypeOf(v), as, 0)
}

func (s *Schema) addType(sh *Shape, t reflect.Type, as map[reflect.Type]any, depth int) {
	if depth > 32 {
		panic("jsonstrict: type nests too deep (recursive?): " + t.String())
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		return
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		alt, ok := as[t]
		if !ok {
			panic("jsonstrict: " + t.String() + " decodes itself; say what shape it reads")
		}
		s.addType(sh, reflect.TypeOf(alt), as, depth+1)
		return
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return // []byte is a base64 string
		}
		s.addType(sh.child(Each), t.Elem(), as, depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || !f.IsExported() && !f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					s.addType(sh, ft, as, depth+1)
					continue
				}
			}
			if name == "" {
				name = f.Name
			}
			s.addType(sh.child(name), f.Type, as, depth+1)
		}
	}
}
