package platform

import (
	"encoding/json"
	"strings"
)

// schemaTemplate is the platform config's JSON Schema; FEATURES is replaced by the catalog's
// optional groups, so an unknown feature name is an error. It lists the keys gwctl owns: the top
// level stays open because platform repos keep keys other tools read in the same file, while
// an unknown key inside an object gwctl owns is a typo (see checkKeys).
const schemaTemplate = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "gwctl platform config",
  "description": "Keys gwctl owns. Other top-level keys pass through (catalog knobs, other tools); gwctl --strict-config refuses them.",
  "type": "object",
  "properties": {
    "environment": {"$ref": "#/$defs/dnsLabel"},
    "kubernetesVersion": {"type": "string", "pattern": "^v?[0-9]+\\.[0-9]+(\\.[0-9]+)?$"},
    "catalog": {"type": "string", "minLength": 1},
    "output": {"type": "string", "minLength": 1},
    "catalogPath": {"type": "string", "minLength": 1},
    "features": {"type": "object", "additionalProperties": false, "properties": FEATURES},
    "secretStore": {"type": "object", "additionalProperties": false, "properties": {
      "name": {"type": "string"},
      "kind": {"enum": ["ClusterSecretStore", "SecretStore"]}}},
    "gateway": {"type": "object", "additionalProperties": false, "properties": {
      "name": {"$ref": "#/$defs/dnsLabel"}, "namespace": {"$ref": "#/$defs/dnsLabel"},
      "className": {"$ref": "#/$defs/dnsLabel"}, "port": {"$ref": "#/$defs/port"},
      "publicURL": {"type": "string", "maxLength": 256, "pattern": "^(https?://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?)?$"},
      "tls": {"type": "object", "additionalProperties": false,
        "description": "HTTPS on the Gateway with a cert-manager Certificate; an empty issuer leaves it off.",
        "properties": {
          "issuer": {"type": "string", "maxLength": 253, "pattern": "^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$"},
          "issuerKind": {"enum": ["ClusterIssuer", "Issuer"]},
          "secretName": {"$ref": "#/$defs/dnsLabel"},
          "hostname": {"type": "string", "maxLength": 253, "pattern": "^((\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+)?$"},
          "port": {"$ref": "#/$defs/port"}}}}},
    "dataplane": {"type": "object", "additionalProperties": false, "properties": {
      "namespace": {"$ref": "#/$defs/dnsLabel"},
      "image": {"type": "string", "minLength": 1},
      "replicas": {"type": "integer", "minimum": 1, "maximum": 100},
      "mode": {"enum": ["file", "kubernetes"]},
      "gatewayPorts": {"type": "string", "pattern": "^([1-9][0-9]{0,4}-[1-9][0-9]{0,4})?$"},
      "controllerName": {"type": "string", "maxLength": 253, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/[A-Za-z0-9\\/\\-._~%!$&'()*+,;=:]+$"}}},
    "pool": {"type": "object", "additionalProperties": false, "properties": {
      "name": {"$ref": "#/$defs/dnsLabel"}, "targetPort": {"$ref": "#/$defs/port"},
      "app": {"$ref": "#/$defs/dnsLabel"},
      "picker": {"enum": ["in-process", "endpoint-picker"]},
      "models": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["name"],
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 256}}}}}},
    "egress": {"type": "object", "additionalProperties": false, "properties": {
      "model": {"type": "string", "minLength": 1, "maxLength": 256},
      "alias": {"type": "string", "minLength": 1},
      "host": {"type": "string", "maxLength": 256},
      "port": {"$ref": "#/$defs/port"}}},
    "identity": {"type": "object", "additionalProperties": false, "properties": {
      "namespace": {"$ref": "#/$defs/dnsLabel"},
      "issuer": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 256},
      "audience": {"type": "string", "minLength": 1},
      "jwksPath": {"type": "string", "pattern": "^/"},
      "port": {"$ref": "#/$defs/port"}}},
    "mcp": {"type": "object", "additionalProperties": false, "properties": {
      "namespace": {"$ref": "#/$defs/dnsLabel"},
      "requests": {"type": "integer", "minimum": 1},
      "bucket": {"type": "integer", "minimum": 1}}},
    "observability": {"type": "object", "additionalProperties": false, "properties": {
      "randomSampling": {"type": "string", "minLength": 1}}},
    "validate": {"type": "object", "additionalProperties": false,
      "description": "read by gwctl validate as it reads .gwctl.yaml, which wins rule by rule",
      "properties": {"rules": {"type": ["object", "null"], "additionalProperties": {"type": ["string", "boolean"]}}}}
  },
  "$defs": {
    "dnsLabel": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535}
  }
}`

// SchemaJSON returns the platform config's JSON Schema for a catalog with the given optional groups.
func SchemaJSON(features []string) string {
	props := map[string]any{}
	for _, f := range features {
		props[f] = map[string]any{"type": "boolean"}
	}
	b, _ := json.Marshal(props)
	return strings.Replace(schemaTemplate, "FEATURES", string(b), 1)
}
