package derivation

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// proseKeys are schema keywords that document rather than constrain.
var proseKeys = map[string]bool{
	"description": true, "title": true, "summary": true, "example": true, "examples": true,
	"$comment": true, "externalDocs": true,
}

// IsProse reports whether a schema keyword is documentation: the prose keywords and vendor
// extensions (x-stainless-…: SDK generator hints), but not x-kubernetes-… (list types, CEL rules,
// int-or-string: facts the API server enforces).
func IsProse(key string) bool {
	return proseKeys[key] || (strings.HasPrefix(key, "x-") && !strings.HasPrefix(key, "x-kubernetes-"))
}

// Keywords whose value holds subschemas: schemaMaps by name (the names are field names, kept even
// when one is called "description"), schemaValues as one schema or a list of them.
var (
	schemaMaps   = map[string]bool{"properties": true, "patternProperties": true, "definitions": true, "$defs": true, "dependentSchemas": true, "dependencies": true}
	schemaValues = map[string]bool{
		"items": true, "prefixItems": true, "additionalItems": true, "additionalProperties": true,
		"unevaluatedItems": true, "unevaluatedProperties": true, "allOf": true, "anyOf": true, "oneOf": true,
		"not": true, "if": true, "then": true, "else": true, "contains": true, "propertyNames": true,
	}
)

// StripSchemaNode drops the prose of a YAML schema and of every subschema in place.
func StripSchemaNode(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			StripSchemaNode(c)
		}
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case IsProse(k.Value):
				continue
			case schemaMaps[k.Value] && v.Kind == yaml.MappingNode:
				for j := 1; j < len(v.Content); j += 2 {
					StripSchemaNode(v.Content[j])
				}
			case schemaValues[k.Value]:
				StripSchemaNode(v)
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
}

// StripSchema drops the prose of a JSON schema (decoded with UseNumber) and of its subschemas.
func StripSchema(v any) any {
	switch s := v.(type) {
	case []any:
		for i := range s {
			s[i] = StripSchema(s[i])
		}
	case map[string]any:
		for k, sub := range s {
			switch {
			case IsProse(k):
				delete(s, k)
			case schemaMaps[k]:
				if m, ok := sub.(map[string]any); ok {
					for name := range m {
						m[name] = StripSchema(m[name])
					}
				}
			case schemaValues[k]:
				s[k] = StripSchema(sub)
			}
		}
	}
	return v
}
