package schema

import (
	"encoding/json"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// decodeProps is runtime.DefaultUnstructuredConverter.FromUnstructured into a JSONSchemaProps,
// written out for the shapes CRD schemas use. The converter reaches items, additionalProperties
// and every default and enum value through a JSON round trip of the whole subtree (their types
// unmarshal themselves), so a deep schema is encoded and decoded once per level: it was most of
// the cost of compiling a CRD version. ok is false for anything this decoder does not know (an
// unknown key, a null, a number of the wrong kind, items given as a list, ...): the caller then
// runs the converter, which also says what is wrong. TestDecodePropsMatchesConverter holds it to
// the converter on every embedded schema.
func decodeProps(m map[string]any) (*apiextv1.JSONSchemaProps, bool) {
	if !fastSchemaDecode {
		return nil, false
	}
	p := &apiextv1.JSONSchemaProps{}
	if !decodePropsInto(p, m) {
		return nil, false
	}
	return p, true
}

var fastSchemaDecode = fastpath.Enabled(fastpath.SchemaDecode)

func decodePropsInto(p *apiextv1.JSONSchemaProps, m map[string]any) bool {
	for k, v := range m {
		if v == nil {
			return false
		}
		var ok bool
		switch k {
		case "id":
			p.ID, ok = v.(string)
		case "$schema":
			var s string
			s, ok = v.(string)
			p.Schema = apiextv1.JSONSchemaURL(s)
		case "$ref":
			p.Ref, ok = strPtr(v)
		case "description":
			p.Description, ok = v.(string)
		case "type":
			p.Type, ok = v.(string)
		case "format":
			p.Format, ok = v.(string)
		case "title":
			p.Title, ok = v.(string)
		case "default":
			p.Default, ok = rawJSON(v)
		case "example":
			p.Example, ok = rawJSON(v)
		case "maximum":
			p.Maximum, ok = floatPtr(v)
		case "minimum":
			p.Minimum, ok = floatPtr(v)
		case "multipleOf":
			p.MultipleOf, ok = floatPtr(v)
		case "exclusiveMaximum":
			p.ExclusiveMaximum, ok = v.(bool)
		case "exclusiveMinimum":
			p.ExclusiveMinimum, ok = v.(bool)
		case "uniqueItems":
			p.UniqueItems, ok = v.(bool)
		case "nullable":
			p.Nullable, ok = v.(bool)
		case "x-kubernetes-embedded-resource":
			p.XEmbeddedResource, ok = v.(bool)
		case "x-kubernetes-int-or-string":
			p.XIntOrString, ok = v.(bool)
		case "x-kubernetes-preserve-unknown-fields":
			var b bool
			b, ok = v.(bool)
			p.XPreserveUnknownFields = &b
		case "maxLength":
			p.MaxLength, ok = intPtr(v)
		case "minLength":
			p.MinLength, ok = intPtr(v)
		case "maxItems":
			p.MaxItems, ok = intPtr(v)
		case "minItems":
			p.MinItems, ok = intPtr(v)
		case "maxProperties":
			p.MaxProperties, ok = intPtr(v)
		case "minProperties":
			p.MinProperties, ok = intPtr(v)
		case "pattern":
			p.Pattern, ok = v.(string)
		case "x-kubernetes-list-type":
			p.XListType, ok = strPtr(v)
		case "x-kubernetes-map-type":
			p.XMapType, ok = strPtr(v)
		case "required":
			p.Required, ok = stringList(v)
		case "x-kubernetes-list-map-keys":
			p.XListMapKeys, ok = stringList(v)
		case "enum":
			p.Enum, ok = rawJSONs(v)
		case "items":
			var sub map[string]any
			if sub, ok = v.(map[string]any); ok {
				p.Items = &apiextv1.JSONSchemaPropsOrArray{Schema: &apiextv1.JSONSchemaProps{}}
				ok = decodePropsInto(p.Items.Schema, sub)
			}
		case "additionalProperties":
			p.AdditionalProperties, ok = propsOrBool(v)
		case "additionalItems":
			p.AdditionalItems, ok = propsOrBool(v)
		case "not":
			var sub map[string]any
			if sub, ok = v.(map[string]any); ok {
				p.Not = &apiextv1.JSONSchemaProps{}
				ok = decodePropsInto(p.Not, sub)
			}
		case "allOf":
			p.AllOf, ok = propsList(v)
		case "oneOf":
			p.OneOf, ok = propsList(v)
		case "anyOf":
			p.AnyOf, ok = propsList(v)
		case "properties":
			p.Properties, ok = propsMap(v)
		case "patternProperties":
			p.PatternProperties, ok = propsMap(v)
		case "definitions":
			p.Definitions, ok = propsMap(v)
		case "x-kubernetes-validations":
			p.XValidations, ok = validationRules(v)
		default: // dependencies, externalDocs and keys the converter would drop
			return false
		}
		if !ok {
			return false
		}
	}
	return true
}

func strPtr(v any) (*string, bool) {
	s, ok := v.(string)
	return &s, ok
}

func intPtr(v any) (*int64, bool) {
	i, ok := v.(int64)
	return &i, ok
}

func floatPtr(v any) (*float64, bool) {
	var f float64
	switch n := v.(type) {
	case int64:
		f = float64(n)
	case float64:
		f = n
	default:
		return nil, false
	}
	return &f, true
}

func stringList(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(l))
	for i, e := range l {
		if out[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

// rawJSON is the converter's JSON value: the value encoded by encoding/json, as it encodes it
// before calling JSON.UnmarshalJSON.
func rawJSON(v any) (*apiextv1.JSON, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return &apiextv1.JSON{Raw: b}, true
}

func rawJSONs(v any) ([]apiextv1.JSON, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]apiextv1.JSON, len(l))
	for i, e := range l {
		if e == nil {
			return nil, false
		}
		j, ok := rawJSON(e)
		if !ok {
			return nil, false
		}
		out[i] = *j
	}
	return out, true
}

func propsOrBool(v any) (*apiextv1.JSONSchemaPropsOrBool, bool) {
	switch t := v.(type) {
	case bool:
		return &apiextv1.JSONSchemaPropsOrBool{Allows: t}, true
	case map[string]any:
		s := &apiextv1.JSONSchemaProps{}
		return &apiextv1.JSONSchemaPropsOrBool{Allows: true, Schema: s}, decodePropsInto(s, t)
	}
	return nil, false
}

func propsList(v any) ([]apiextv1.JSONSchemaProps, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]apiextv1.JSONSchemaProps, len(l))
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok || !decodePropsInto(&out[i], m) {
			return nil, false
		}
	}
	return out, true
}

func propsMap(v any) (map[string]apiextv1.JSONSchemaProps, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]apiextv1.JSONSchemaProps, len(m))
	for k, e := range m {
		sub, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		var p apiextv1.JSONSchemaProps
		if !decodePropsInto(&p, sub) {
			return nil, false
		}
		out[k] = p
	}
	return out, true
}

func validationRules(v any) (apiextv1.ValidationRules, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make(apiextv1.ValidationRules, len(l))
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		r := &out[i]
		for k, f := range m {
			if f == nil {
				return nil, false
			}
			var ok bool
			switch k {
			case "rule":
				r.Rule, ok = f.(string)
			case "message":
				r.Message, ok = f.(string)
			case "messageExpression":
				r.MessageExpression, ok = f.(string)
			case "fieldPath":
				r.FieldPath, ok = f.(string)
			case "reason":
				var s string
				s, ok = f.(string)
				reason := apiextv1.FieldValueErrorReason(s)
				r.Reason = &reason
			case "optionalOldSelf":
				var b bool
				b, ok = f.(bool)
				r.OptionalOldSelf = &b
			default:
				return nil, false
			}
			if !ok {
				return nil, false
			}
		}
	}
	return out, true
}
