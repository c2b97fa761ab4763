package catalog

import (
	"sync"

	"github.com/infergw/gwctl/pkg/docschema"
)

// GroupSchemaJSON is the JSON Schema of a group.yaml declaration (documented in groups/README.md).
const GroupSchemaJSON = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "gwctl feature group",
  "type": "object",
  "additionalProperties": false,
  "required": ["apiVersion", "kind", "metadata", "spec"],
  "properties": {
    "apiVersion": {"const": "gwctl.infergw.dev/v1alpha1"},
    "kind": {"const": "Group"},
    "metadata": {
      "type": "object", "additionalProperties": false, "required": ["name"],
      "properties": {"name": {"$ref": "#/$defs/name"}}
    },
    "spec": {
      "type": "object", "additionalProperties": false, "required": ["layer", "content"],
      "properties": {
        "description": {"type": "string"},
        "layer": {"$ref": "#/$defs/name"},
        "core": {"type": "boolean"},
        "default": {"type": "boolean"},
        "enabledBy": {"$ref": "#/$defs/condition"},
        "requires": {"type": "array", "items": {"$ref": "#/$defs/name"}, "uniqueItems": true},
        "conditions": {"type": "array", "items": {"$ref": "#/$defs/condition"}},
        "secrets": {"type": "array", "items": {
          "type": "object", "additionalProperties": false, "required": ["name", "key"],
          "properties": {"name": {"$ref": "#/$defs/name"}, "namespace": {"$ref": "#/$defs/name"}, "key": {"type": "string", "minLength": 1}}
        }},
        "syncWave": {"type": "integer"},
        "namespace": {"$ref": "#/$defs/name"},
        "content": {
          "type": "object", "additionalProperties": false,
          "properties": {
            "kustomize": {"type": "boolean"},
            "charts": {"type": "array", "items": {
              "type": "object", "additionalProperties": false, "required": ["path"],
              "properties": {
                "path": {"type": "string", "minLength": 1},
                "releaseName": {"$ref": "#/$defs/name"},
                "namespace": {"$ref": "#/$defs/name"},
                "values": {"type": "string"}
              }
            }}
          }
        }
      }
    }
  },
  "$defs": {
    "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
    "condition": {
      "type": "object", "additionalProperties": false, "required": ["knob"],
      "properties": {"knob": {"type": "string", "minLength": 1}, "equals": {"type": "string"}, "message": {"type": "string"}}
    }
  }
}`

// CatalogSchemaJSON is the JSON Schema of catalog.yaml.
const CatalogSchemaJSON = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "gwctl catalog",
  "type": "object",
  "additionalProperties": false,
  "required": ["apiVersion", "kind"],
  "properties": {
    "apiVersion": {"const": "gwctl.infergw.dev/v1alpha1"},
    "kind": {"const": "Catalog"},
    "layers": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "minItems": 1},
    "groups": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}
  }
}`

// The schemas compile on first use, not at program start: most gwctl runs never load a catalog twice.
var (
	groupSchema   = sync.OnceValue(func() *docschema.Schema { return docschema.MustCompile("group.schema.json", GroupSchemaJSON) })
	catalogSchema = sync.OnceValue(func() *docschema.Schema { return docschema.MustCompile("catalog.schema.json", CatalogSchemaJSON) })
)
