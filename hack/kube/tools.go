//go:build tools

// Package tools pins the Kubernetes commands the tests start: kube-apiserver (the judge of the
// differential validation test and the API of the Kubernetes-mode tests) and kubectl.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
