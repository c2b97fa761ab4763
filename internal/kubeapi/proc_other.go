//go:build !linux

package kubeapi

import "os/exec"

// dieWithParent needs Linux's parent-death signal; elsewhere a component outlives a crashed test
// binary.
func dieWithParent(*exec.Cmd) {}
