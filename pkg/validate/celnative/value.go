package celnative

import (
	"math"
	"unicode/utf8"
)

// kind is the CEL type of a val.
type kind uint8

const (
	kErr      kind = iota // an error value; the zero val is an error
	kNull                 // null
	kBool                 // i is 0 or 1
	kInt                  // i
	kDouble               // f
	kString               // s
	kList                 // decoded JSON list l, elements of node nd.items
	kVList                // list built by the rule: vs
	kObject               // decoded JSON object m with properties of node nd
	kMap                  // decoded JSON object m with additionalProperties of node nd
	kType                 // a type value named by ref
	kDuration             // i nanoseconds
)

// val is a CEL value, kept small because every evaluated node returns one by value: i holds bools,
// ints and the bits of doubles; ref holds a string, the decoded map[string]any or []any, or the
// *[]val of a list the rule built.
type val struct {
	k   kind
	i   int64
	ref any
	nd  *node
}

func strVal(s string) val       { return val{k: kString, ref: s} }
func intVal(i int64) val        { return val{k: kInt, i: i} }
func doubleVal(f float64) val   { return val{k: kDouble, i: int64(math.Float64bits(f))} }
func vlistVal(vs []val) val     { return val{k: kVList, ref: &vs} }
func (v val) str() string       { s, _ := v.ref.(string); return s }
func (v val) f() float64        { return math.Float64frombits(uint64(v.i)) }
func (v val) m() map[string]any { m, _ := v.ref.(map[string]any); return m }
func (v val) l() []any          { l, _ := v.ref.([]any); return l }
func (v val) vs() []val {
	if p, ok := v.ref.(*[]val); ok {
		return *p
	}
	return nil
}

var (
	errVal   = val{}
	trueVal  = val{k: kBool, i: 1}
	falseVal = val{k: kBool}
)

func boolVal(b bool) val {
	if b {
		return trueVal
	}
	return falseVal
}

func (v val) isTrue() bool  { return v.k == kBool && v.i != 0 }
func (v val) isFalse() bool { return v.k == kBool && v.i == 0 }

// isList reports whether v is a list of either representation.
func (v val) isList() bool { return v.k == kList || v.k == kVList }

func (v val) listLen() int {
	if v.k == kList {
		return len(v.l())
	}
	return len(v.vs())
}

func (v val) listAt(i int, fr *frame) val {
	if v.k == kList {
		return v.nd.itemNode().value(v.l()[i], fr)
	}
	return v.vs()[i]
}

// size is cel-go's actualSize of a value for cost purposes, bounded from above: byte length for
// strings (at least the code point count), element count for lists and maps, 1 otherwise.
func (v val) size() uint64 {
	switch v.k {
	case kString:
		return uint64(len(v.str()))
	case kList, kVList:
		return uint64(v.listLen())
	case kObject, kMap:
		return uint64(len(v.m()))
	}
	return 1
}

// isScalar reports whether v is a value whose equality this package models exactly.
func (v val) isScalar() bool {
	switch v.k {
	case kNull, kBool, kInt, kDouble, kString, kType, kDuration:
		return true
	}
	return false
}

// equal is lhs.Equal(rhs) of cel-go's heterogeneous equality, for scalars. Errors propagate (left first);
// composite values and mixed int/double comparisons are declined.
func equal(a, b val, fr *frame) val {
	if a.k == kErr {
		return a
	}
	if b.k == kErr {
		return b
	}
	if !a.isScalar() || !b.isScalar() {
		return fr.declineVal()
	}
	if a.k != b.k {
		if (a.k == kInt && b.k == kDouble) || (a.k == kDouble && b.k == kInt) {
			return fr.declineVal()
		}
		return falseVal
	}
	switch a.k {
	case kNull:
		return trueVal
	case kBool, kInt, kDuration:
		return boolVal(a.i == b.i)
	case kDouble:
		return boolVal(a.f() == b.f())
	default: // kString, kType
		return boolVal(a.str() == b.str())
	}
}

// compare orders two values of the same type as cel-go's Compare does: -1, 0 or 1, an error
// (NaN), or declined (other types).
func compare(a, b val, fr *frame) (int, val) {
	if a.k == kErr {
		return 0, a
	}
	if b.k == kErr {
		return 0, b
	}
	if a.k != b.k {
		return 0, fr.declineVal()
	}
	switch a.k {
	case kBool, kInt, kDuration:
		switch {
		case a.i < b.i:
			return -1, trueVal
		case a.i > b.i:
			return 1, trueVal
		}
		return 0, trueVal
	case kDouble:
		af, bf := a.f(), b.f()
		if math.IsNaN(af) || math.IsNaN(bf) {
			return 0, errVal
		}
		switch {
		case af < bf:
			return -1, trueVal
		case af > bf:
			return 1, trueVal
		}
		return 0, trueVal
	case kString:
		as, bs := a.str(), b.str()
		switch {
		case as < bs:
			return -1, trueVal
		case as > bs:
			return 1, trueVal
		}
		return 0, trueVal
	}
	return 0, fr.declineVal()
}

// typeName is the name of v's CEL type as cel-go's type() reports it for the adaptor's values.
func (v val) typeName() string {
	switch v.k {
	case kNull:
		return "null_type"
	case kBool:
		return "bool"
	case kInt:
		return "int"
	case kDouble:
		return "double"
	case kString:
		return "string"
	case kList, kVList:
		return "list"
	case kObject, kMap:
		return "map" // the adaptor's unstructuredMap reports MapType for objects too
	case kType:
		return "type"
	case kDuration:
		return "google.protobuf.Duration"
	}
	return ""
}

func runeCount(s string) int64 { return int64(utf8.RuneCountInString(s)) }
