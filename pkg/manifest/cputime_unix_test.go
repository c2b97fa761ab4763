//go:build unix

package manifest

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the test process has used: unlike wall time, what
// a call adds to it stays put on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
