// Package apiserverdiff holds the differential test of gwctl validate against a real
// kube-apiserver (internal/kubeapi): every document of a corpus is judged by both, and every
// disagreement is either fixed or listed with its reason. It has tests only; VALIDATION.md holds
// the table they print.
package apiserverdiff
