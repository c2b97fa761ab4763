package kubeapi

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the component if the test binary dies without cleaning up
// (a panic, a timeout's SIGQUIT): a shared server would otherwise hold its ports and etcd's files.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
