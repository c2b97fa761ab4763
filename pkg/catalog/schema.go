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
      "type": "object", "additionalProperties": false, "required": ["layer"],
      "properties": {
        "description": {"type": "string"},
        "layer": {"$ref": "#/$defs/name"},
        "core": {"type": "boolean"},
        "default": {"type": "boolean"},
        "enabledBy": {"$ref": "#/$defs/test", "description": "turns the group on when its flag is not set and the test holds"},
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
            "path": {"type": "string", "minLength": 1, "description": "the folder holding this group's content instead of the group's own folder, relative to the repo root (catalog.yaml repoRoot)"},
            "kustomize": {"type": "boolean"},
            "charts": {"type": "array", "items": {
              "description": "a chart folder inside the group (path), or a remote chart: chart (a name, or oci://host/path/name) from repo (https://, http:// or oci://) at an exact version, fetched by gwctl charts pull",
              "type": "object", "additionalProperties": false,
              "properties": {
                "path": {"type": "string", "minLength": 1},
                "repo": {"type": "string", "minLength": 1, "description": "Helm repository URL (https://…, where index.yaml is) or OCI registry path (oci://host/path)"},
                "chart": {"type": "string", "minLength": 1, "description": "chart name in repo, or a whole OCI reference oci://host/path/name"},
                "version": {"type": "string", "minLength": 1, "description": "exact chart version (1.2.3, v1.2.3); ranges are refused"},
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
    "scalar": {"type": ["string", "number", "boolean"]},
    "test": {
      "description": "a test on a platform config key path (gwctl's own or a foreign one); at most one of equals, notEquals, in, exists; with none, the key must be non-empty",
      "type": "object", "additionalProperties": false, "required": ["knob"],
      "properties": {
        "knob": {"type": "string", "minLength": 1},
        "equals": {"$ref": "#/$defs/scalar"},
        "notEquals": {"$ref": "#/$defs/scalar"},
        "in": {"type": "array", "items": {"$ref": "#/$defs/scalar"}, "minItems": 1},
        "exists": {"type": "boolean"}
      }
    },
    "condition": {
      "description": "a test that must hold when the group is enabled; severity warning reports it and goes on",
      "type": "object", "additionalProperties": false, "required": ["knob"],
      "properties": {
        "knob": {"type": "string", "minLength": 1},
        "equals": {"$ref": "#/$defs/scalar"},
        "notEquals": {"$ref": "#/$defs/scalar"},
        "in": {"type": "array", "items": {"$ref": "#/$defs/scalar"}, "minItems": 1},
        "exists": {"type": "boolean"},
        "message": {"type": "string"},
        "severity": {"enum": ["error", "warning"]}
      }
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
    "groups": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
    "repoRoot": {"type": "string", "minLength": 1, "description": "the platform repo's root, relative to catalog.yaml's folder: groups' content.path is relative to it and must stay inside it"},
    "groupsFile": {
      "type": "object", "additionalProperties": false,
      "properties": {
        "header": {
          "description": "generated (the default: gwctl's generated-code marker), none, or a text of # comment lines written as is",
          "type": "string", "minLength": 1
        }
      }
    }
  }
}`

// The schemas compile on first use, not at program start: most gwctl runs never load a catalog twice.
var (
	groupSchema   = sync.OnceValue(func() *docschema.Schema { return docschema.MustCompile("group.schema.json", GroupSchemaJSON) })
	catalogSchema = sync.OnceValue(func() *docschema.Schema { return docschema.MustCompile("catalog.schema.json", CatalogSchemaJSON) })
)
