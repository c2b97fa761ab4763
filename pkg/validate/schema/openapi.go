package schema

import (
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-openapi/swag/conv"
	apivalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	openapivalidate "k8s.io/kube-openapi/pkg/validation/validate"
)

// schemaValidator is kube-openapi's SchemaValidator (what kube-apiserver runs on a custom
// resource's OpenAPI schema) compiled once per schema instead of rebuilt for every node of every
// object. The checks, their order and their errors are kube-openapi's own: the error values
// come from its exported helpers, and the result goes through apiextensions-apiserver's
// conversion to field errors. A node with allOf/anyOf/oneOf/not is handed to kube-openapi
// itself, whose match counting decides which failures of the alternatives are reported.
type schemaValidator struct{ root *schemaNode }

var _ apivalidation.SchemaCreateValidator = schemaValidator{}

// Validate implements apivalidation.SchemaCreateValidator.
func (v schemaValidator) Validate(obj any, _ ...apivalidation.ValidationOption) *openapivalidate.Result {
	res := &openapivalidate.Result{}
	w := &schemaWalk{res: res}
	v.root.validate(w, obj)
	return res
}

const in = "body"

type schemaNode struct {
	schema   *spec.Schema
	delegate bool // has allOf/anyOf/oneOf/not/dependencies/patternProperties: kube-openapi validates it

	types             spec.StringOrArray
	typesJoined       string
	nullable          bool
	format            string
	hasNumber, hasInt bool

	maxLength, minLength *int64
	pattern              string
	re                   *pattern
	knownFormat          bool

	numType, numFormat           string
	multipleOf, maximum, minimum *float64
	exclusiveMax, exclusiveMin   bool
	boundsOK                     [3]bool // multipleOf, maximum, minimum fit numType/numFormat

	items              *schemaNode
	minItems, maxItems *int64
	uniqueItems        bool

	enum        []any
	enumStrings map[string]bool // when every enum value is a string

	minProps, maxProps *int64
	required           []string
	props              map[string]*schemaNode
	noAdditional       bool
	additional         *schemaNode
}

// compileSchema compiles a resource's schema; nodes with the same pattern share its matcher.
func compileSchema(s *spec.Schema) *schemaNode {
	return compileSchemaNode(s, map[string]*pattern{})
}

func compileSchemaNode(s *spec.Schema, patterns map[string]*pattern) *schemaNode {
	n := &schemaNode{schema: s}
	if len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Not != nil || len(s.Dependencies) > 0 || len(s.PatternProperties) > 0 ||
		(s.Items != nil && len(s.Items.Schemas) > 0) || s.AdditionalItems != nil {
		n.delegate = true
		return n
	}
	n.types, n.typesJoined, n.nullable, n.format = s.Type, strings.Join(s.Type, ","), s.Nullable, s.Format
	n.hasNumber, n.hasInt = s.Type.Contains("number"), s.Type.Contains("integer")

	n.maxLength, n.minLength, n.pattern = s.MaxLength, s.MinLength, s.Pattern
	if s.Pattern != "" {
		if n.re = patterns[s.Pattern]; n.re == nil {
			if re, err := regexp.Compile(s.Pattern); err == nil { // on error Pattern() reports it as kube-openapi does
				n.re = &pattern{re: re}
				patterns[s.Pattern] = n.re
			}
		}
	}
	n.knownFormat = strfmt.Default.ContainsName(s.Format)

	if len(s.Type) == 1 {
		switch s.Type[0] {
		case "integer":
			n.numType = "integer"
			if s.Format == "int32" || s.Format == "int64" {
				n.numFormat = s.Format
			}
		case "number":
			n.numType = "number"
			if s.Format == "float" || s.Format == "double" {
				n.numFormat = s.Format
			}
		}
	}
	n.multipleOf, n.maximum, n.minimum = s.MultipleOf, s.Maximum, s.Minimum
	n.exclusiveMax, n.exclusiveMin = s.ExclusiveMaximum, s.ExclusiveMinimum
	for i, b := range []*float64{s.MultipleOf, s.Maximum, s.Minimum} {
		n.boundsOK[i] = b != nil && openapivalidate.IsValueValidAgainstRange(*b, n.numType, n.numFormat, "", "") == nil
	}

	if s.Items != nil && s.Items.Schema != nil {
		n.items = compileSchemaNode(s.Items.Schema, patterns)
	}
	n.minItems, n.maxItems, n.uniqueItems = s.MinItems, s.MaxItems, s.UniqueItems

	n.enum = s.Enum
	if len(s.Enum) > 0 {
		n.enumStrings = map[string]bool{}
		for _, e := range s.Enum {
			str, ok := e.(string)
			if !ok {
				n.enumStrings = nil
				break
			}
			n.enumStrings[str] = true
		}
	}

	n.minProps, n.maxProps, n.required = s.MinProperties, s.MaxProperties, s.Required
	if len(s.Properties) > 0 {
		n.props = make(map[string]*schemaNode, len(s.Properties))
		for k := range s.Properties {
			p := s.Properties[k]
			n.props[k] = compileSchemaNode(&p, patterns)
		}
	}
	if ap := s.AdditionalProperties; ap != nil {
		n.noAdditional = !ap.Allows
		if ap.Schema != nil {
			n.additional = compileSchemaNode(ap.Schema, patterns)
		}
	}
	return n
}

// schemaWalk carries the result and the path of the node being validated, as segments that
// become kube-openapi's path string only when an error needs it.
type schemaWalk struct {
	res  *openapivalidate.Result
	segs []schemaSeg
}

type schemaSeg struct {
	name  string
	index int
	kind  byte // 'p' property, 'k' additional property key, 'i' index
}

func (w *schemaWalk) path() string {
	var b strings.Builder
	for _, s := range w.segs {
		switch s.kind {
		case 'p':
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.name)
		case 'k':
			b.WriteByte('.')
			b.WriteString(s.name)
		case 'i':
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func (w *schemaWalk) add(err *openapierrors.Validation) {
	if err != nil {
		w.res.AddErrors(err)
	}
}

// addErr adds a plain error (kube-openapi's range checks return those).
func (w *schemaWalk) addErr(err error) {
	if err != nil {
		w.res.AddErrors(err)
	}
}

func (w *schemaWalk) child(n *schemaNode, seg schemaSeg, v any) {
	w.segs = append(w.segs, seg)
	n.validate(w, v)
	w.segs = w.segs[:len(w.segs)-1]
}

// validate runs SchemaValidator.Validate's validators in its order: type, (combinators),
// string, format, number, slice, enum, object.
func (n *schemaNode) validate(w *schemaWalk, data any) {
	if n.delegate {
		w.res.Merge(openapivalidate.NewSchemaValidator(n.schema, nil, w.path(), strfmt.Default).Validate(data))
		return
	}
	if data == nil {
		if len(n.types) > 0 && !n.types.Contains("null") && !n.nullable {
			w.add(openapierrors.InvalidType(w.path(), in, n.typesJoined, "null"))
		}
		n.validateEnum(w, data)
		return
	}
	if len(n.types) > 0 || n.format != "" {
		n.validateType(w, data)
	}
	switch v := data.(type) {
	case string:
		n.validateString(w, v)
		if n.knownFormat {
			w.add(openapivalidate.FormatOf(w.path(), in, n.format, v, strfmt.Default))
		}
	case int64, float64, int, int32, float32:
		n.validateNumber(w, data)
	case []any:
		n.validateSlice(w, v)
	}
	n.validateEnum(w, data)
	if m, ok := data.(map[string]any); ok {
		n.validateObject(w, m)
	}
}

func (n *schemaNode) validateType(w *schemaWalk, data any) {
	var schType, format string
	isString, isSlice := false, false
	isFloatInt, isIntFloat := false, false
	switch v := data.(type) {
	case string:
		schType, isString = "string", true
	case bool:
		schType = "boolean"
	case int64, int:
		schType, format = "integer", "int64"
		isIntFloat = n.hasNumber
	case int32:
		schType, format = "integer", "int32"
		isIntFloat = n.hasNumber
	case float64:
		schType, format = "number", "float64"
		isFloatInt = conv.IsFloat64AJSONInteger(v) && n.hasInt
	case float32:
		schType, format = "number", "float32"
		isFloatInt = conv.IsFloat64AJSONInteger(float64(v)) && n.hasInt
	case []any:
		schType, isSlice = "array", true
	case map[string]any:
		schType = "object"
	default:
		return // decoded manifests hold no other types
	}
	contains := n.types.Contains(schType)
	if !isString && !isSlice && n.format != "" && !(contains || format == n.format || isFloatInt || isIntFloat) {
		w.add(openapierrors.InvalidType(w.path(), in, n.format, format))
		return
	}
	if !(n.hasNumber || n.hasInt) && n.format != "" && (isString || isSlice) {
		return
	}
	if !(contains || isFloatInt || isIntFloat) {
		w.add(openapierrors.InvalidType(w.path(), in, n.typesJoined, schType))
	}
}

func (n *schemaNode) validateString(w *schemaWalk, s string) {
	if n.maxLength != nil {
		if err := openapivalidate.MaxLength("", in, s, *n.maxLength); err != nil {
			w.add(openapivalidate.MaxLength(w.path(), in, s, *n.maxLength))
			return
		}
	}
	if n.minLength != nil {
		if err := openapivalidate.MinLength("", in, s, *n.minLength); err != nil {
			w.add(openapivalidate.MinLength(w.path(), in, s, *n.minLength))
			return
		}
	}
	if n.pattern != "" && (n.re == nil || !n.re.match(s)) {
		w.add(openapivalidate.Pattern(w.path(), in, s, n.pattern))
	}
}

// validateNumber is kube-openapi's numberValidator; values are checked without building the
// path, which is built only for an error.
func (n *schemaNode) validateNumber(w *schemaWalk, val any) {
	if v, ok := val.(int64); ok && n.numberOK(v) {
		return
	}
	path := w.path()
	w.addErr(openapivalidate.IsValueValidAgainstRange(val, n.numType, n.numFormat, "Checked", path))
	data := asFloat64(val)
	if n.multipleOf != nil {
		if n.boundsOK[0] {
			w.add(openapivalidate.MultipleOfNativeType(path, in, val, *n.multipleOf))
		} else {
			w.addErr(openapivalidate.IsValueValidAgainstRange(*n.multipleOf, n.numType, n.numFormat, "MultipleOf", path))
			w.add(openapivalidate.MultipleOf(path, in, data, *n.multipleOf))
		}
	}
	if n.minimum != nil {
		if n.boundsOK[2] {
			w.add(openapivalidate.MinimumNativeType(path, in, val, *n.minimum, n.exclusiveMin))
		} else {
			w.addErr(openapivalidate.IsValueValidAgainstRange(*n.minimum, n.numType, n.numFormat, "Minimum boundary", path))
			w.add(openapivalidate.Minimum(path, in, data, *n.minimum, n.exclusiveMin))
		}
	}
	if n.maximum != nil {
		if n.boundsOK[1] {
			w.add(openapivalidate.MaximumNativeType(path, in, val, *n.maximum, n.exclusiveMax))
		} else {
			w.addErr(openapivalidate.IsValueValidAgainstRange(*n.maximum, n.numType, n.numFormat, "Maximum boundary", path))
			w.add(openapivalidate.Maximum(path, in, data, *n.maximum, n.exclusiveMax))
		}
	}
}

// numberOK reports whether an integer passes every number check, so that the common case
// costs no allocation.
func (n *schemaNode) numberOK(v int64) bool {
	if n.numType == "integer" && n.numFormat == "int32" && (v < math.MinInt32 || v > math.MaxInt32) {
		return false
	}
	if n.multipleOf != nil || (n.maximum != nil && !n.boundsOK[1]) || (n.minimum != nil && !n.boundsOK[2]) {
		return false
	}
	if n.maximum != nil {
		limit := int64(*n.maximum)
		if v > limit || (n.exclusiveMax && v == limit) {
			return false
		}
	}
	if n.minimum != nil {
		limit := int64(*n.minimum)
		if v < limit || (n.exclusiveMin && v == limit) {
			return false
		}
	}
	return true
}

func (n *schemaNode) validateSlice(w *schemaWalk, l []any) {
	if n.items != nil {
		for i, v := range l {
			w.child(n.items, schemaSeg{index: i, kind: 'i'}, v)
		}
	}
	size := int64(len(l))
	if n.minItems != nil && size < *n.minItems {
		w.add(openapivalidate.MinItems(w.path(), in, size, *n.minItems))
	}
	if n.maxItems != nil && size > *n.maxItems {
		w.add(openapivalidate.MaxItems(w.path(), in, size, *n.maxItems))
	}
	if n.uniqueItems {
		w.add(openapivalidate.UniqueItems(w.path(), in, l))
	}
}

func (n *schemaNode) validateEnum(w *schemaWalk, data any) {
	if len(n.enum) == 0 {
		return
	}
	if s, ok := data.(string); ok && n.enumStrings != nil {
		if n.enumStrings[s] {
			return
		}
		w.add(openapierrors.EnumFail(w.path(), in, data, n.enum))
		return
	}
	for _, e := range n.enum {
		t := reflect.TypeOf(e)
		if t == nil {
			continue
		}
		v := reflect.ValueOf(data)
		if v.IsValid() && v.Type().ConvertibleTo(t) && reflect.DeepEqual(v.Convert(t).Interface(), e) {
			return
		}
	}
	w.add(openapierrors.EnumFail(w.path(), in, data, n.enum))
}

func (n *schemaNode) validateObject(w *schemaWalk, m map[string]any) {
	numKeys := int64(len(m))
	if n.minProps != nil && numKeys < *n.minProps {
		w.add(openapierrors.TooFewProperties(w.path(), in, *n.minProps, numKeys))
	}
	if n.maxProps != nil && numKeys > *n.maxProps {
		w.add(openapierrors.TooManyProperties(w.path(), in, *n.maxProps, numKeys))
	}
	if n.noAdditional {
		for k := range m {
			if _, ok := n.props[k]; !ok {
				w.add(openapierrors.PropertyNotAllowed(w.path(), in, k))
			}
		}
	} else if n.additional != nil {
		for k, v := range m {
			if _, ok := n.props[k]; !ok {
				w.child(n.additional, schemaSeg{name: k, kind: 'k'}, v)
			}
		}
	}
	for k, v := range m {
		if p, ok := n.props[k]; ok {
			w.child(p, schemaSeg{name: k, kind: 'p'}, v)
		}
	}
	for _, k := range n.required {
		if _, ok := m[k]; !ok {
			w.add(openapierrors.Required(w.path()+"."+k, in))
		}
	}
}

func asFloat64(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case int:
		return float64(v)
	case int32:
		return float64(v)
	case float64:
		return v
	case float32:
		return float64(v)
	}
	return 0
}

// pattern is a schema pattern with its results remembered: manifests repeat the same names,
// groups and kinds, and Go's regexp engine costs far more than a map lookup. At most
// patternMemoSize strings of up to patternMemoLen bytes are remembered per pattern.
type pattern struct {
	re   *regexp.Regexp
	memo sync.Map // string -> bool
	size atomic.Int32
}

const (
	patternMemoSize = 4096
	patternMemoLen  = 128
)

func (p *pattern) match(s string) bool {
	if len(s) > patternMemoLen {
		return p.re.MatchString(s)
	}
	if v, ok := p.memo.Load(s); ok {
		return v.(bool)
	}
	m := p.re.MatchString(s)
	if p.size.Load() < patternMemoSize {
		if _, loaded := p.memo.LoadOrStore(strings.Clone(s), m); !loaded { // not a view into a whole file
			p.size.Add(1)
		}
	}
	return m
}
