package celnative

import (
	"sync"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
)

// conv says how a decoded JSON value of a schema node becomes a CEL value, following
// k8s.io/apiserver/pkg/cel/common.UnstructuredToVal.
type conv uint8

const (
	convInvalid     conv = iota // no CEL type: an error value
	convIntOrString             // x-kubernetes-int-or-string: string or int
	convObject                  // object with properties (or an embedded resource)
	convMap                     // object with an additionalProperties schema
	convEmptyObject             // object with neither: not modelled
	convList                    // array with items
	convListNoItems             // array without items: an error value
	convString                  // string without a format that changes its CEL type
	convFormatted               // string with format duration, date, date-time or byte: not modelled
	convNumber                  // double
	convInteger                 // int
	convBoolean                 // bool
	convPreserved               // x-kubernetes-preserve-unknown-fields without a type: not modelled
)

// node is a schema node as the CEL value adaptor sees it, with its children built once on first use.
type node struct {
	s        *structuralschema.Structural
	conv     conv
	nullable bool

	once  sync.Once
	props map[string]*node // convObject: property name -> node
	items *node            // convList
	addl  *node            // convMap
}

func newNode(s *structuralschema.Structural) *node {
	n := &node{s: s, nullable: s.Nullable}
	switch {
	case s.XIntOrString:
		n.conv = convIntOrString
	case s.Type == "object":
		switch {
		case s.XEmbeddedResource:
			n.s = model.WithTypeAndObjectMeta(s)
			n.conv = convObject
		case s.Properties != nil:
			n.conv = convObject
		case s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil:
			n.conv = convMap
		default:
			n.conv = convEmptyObject
		}
	case s.Type == "array":
		if s.Items == nil {
			n.conv = convListNoItems
		} else {
			n.conv = convList
		}
	case s.Type == "string":
		n.conv = convString
		if s.ValueValidation != nil {
			switch s.ValueValidation.Format {
			case "duration", "date", "date-time", "byte":
				n.conv = convFormatted
			}
		}
	case s.Type == "number":
		n.conv = convNumber
	case s.Type == "integer":
		n.conv = convInteger
	case s.Type == "boolean":
		n.conv = convBoolean
	case s.XPreserveUnknownFields:
		n.conv = convPreserved
	}
	return n
}

func (n *node) build() {
	s := n.s
	switch n.conv {
	case convObject:
		n.props = make(map[string]*node, len(s.Properties))
		for k := range s.Properties {
			p := s.Properties[k]
			n.props[k] = newNode(&p)
		}
	case convMap:
		n.addl = newNode(s.AdditionalProperties.Structural)
	case convList:
		n.items = newNode(s.Items)
	}
}

// prop returns the node of property name of an object node, or nil.
func (n *node) prop(name string) *node {
	n.once.Do(n.build)
	return n.props[name]
}

func (n *node) itemNode() *node {
	n.once.Do(n.build)
	return n.items
}

func (n *node) addlNode() *node {
	n.once.Do(n.build)
	return n.addl
}

// value converts a decoded JSON value of this node to a CEL value, as UnstructuredToVal does. A value
// the adaptor turns into something this package does not model marks the frame declined.
func (n *node) value(raw any, fr *frame) val {
	if raw == nil {
		if n.nullable {
			return val{k: kNull}
		}
		return errVal
	}
	switch n.conv {
	case convIntOrString:
		switch v := raw.(type) {
		case string:
			return val{k: kString, ref: raw}
		case int:
			return intVal(int64(v))
		case int32:
			return intVal(int64(v))
		case int64:
			return intVal(v)
		}
		return errVal
	case convObject:
		if _, ok := raw.(map[string]any); !ok {
			return errVal
		}
		return val{k: kObject, ref: raw, nd: n}
	case convMap:
		if _, ok := raw.(map[string]any); !ok {
			return errVal
		}
		return val{k: kMap, ref: raw, nd: n}
	case convList:
		if _, ok := raw.([]any); !ok {
			return errVal
		}
		return val{k: kList, ref: raw, nd: n}
	case convListNoItems:
		return errVal
	case convString:
		if _, ok := raw.(string); ok {
			return val{k: kString, ref: raw}
		}
		return errVal
	case convNumber:
		switch v := raw.(type) {
		case int:
			return doubleVal(float64(v))
		case int32:
			return doubleVal(float64(v))
		case int64:
			return doubleVal(float64(v))
		case float32:
			return doubleVal(float64(v))
		case float64:
			return doubleVal(v)
		}
		return errVal
	case convInteger:
		switch v := raw.(type) {
		case int:
			return intVal(int64(v))
		case int32:
			return intVal(int64(v))
		case int64:
			return intVal(v)
		}
		return errVal
	case convBoolean:
		if b, ok := raw.(bool); ok {
			return boolVal(b)
		}
		return errVal
	case convInvalid:
		return errVal
	}
	// convEmptyObject, convFormatted, convPreserved: a CEL value this package does not model.
	return fr.declineVal()
}
