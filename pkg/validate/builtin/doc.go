// Package builtin validates built-in Kubernetes kinds the way the API server does: strict
// decoding into the k8s.io/api types, metadata, and the server-side field checks gwctl relies on.
package builtin
