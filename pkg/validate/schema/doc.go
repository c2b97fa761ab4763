// Package schema validates a custom resource the way kube-apiserver creates one: pruning, defaults,
// the OpenAPI checks, list types, metadata and CEL rules, each schema compiled once.
package schema
