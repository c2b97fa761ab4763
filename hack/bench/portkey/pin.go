package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pinning is the -pin mode: every gateway under test (the dataplane binaries, the -handlers and
// -baseline processes, Portkey's node) runs on the CPUs of gateway only, a Go gateway with
// GOMAXPROCS set to their number; this program (the load generator) and the fake upstream run
// on the CPUs of driver. Throughput then compares the gateways at the same CPU budget, instead
// of letting a multi-threaded gateway take CPU time from the load generator that single-threaded
// Portkey leaves it. The zero value pins nothing.
type pinning struct {
	gateway, driver string // taskset CPU lists
	gatewayCPUs     int
}

// newPinning splits the machine: the gateway gets the first n CPUs, the driver the rest.
func newPinning(n int) (pinning, error) {
	total := runtime.NumCPU()
	if n < 1 || n >= total {
		return pinning{}, fmt.Errorf("-pin %d: needs at least one CPU for the gateway and one left for the load generator (this machine has %d)", n, total)
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return pinning{}, fmt.Errorf("-pin needs taskset (util-linux): %w", err)
	}
	return pinning{gateway: cpuList(0, n), driver: cpuList(n, total), gatewayCPUs: n}, nil
}

func cpuList(from, to int) string {
	if to-from == 1 {
		return strconv.Itoa(from)
	}
	return fmt.Sprintf("%d-%d", from, to-1)
}

func (p pinning) on() bool { return p.gateway != "" }

// pinSelf moves every thread of this process to cpus (threads started later inherit it, and so
// do child processes: the fake upstream) and sets GOMAXPROCS to their number.
func pinSelf(cpus string, n int) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -p -c %s: %w: %s", cpus, err, out)
	}
	runtime.GOMAXPROCS(n)
	return nil
}

// pinDriver pins this process (and so the upstream it starts next) to the driver CPUs.
func (p pinning) pinDriver() error {
	if !p.on() {
		return nil
	}
	return pinSelf(p.driver, runtime.NumCPU()-p.gatewayCPUs)
}

// childArgs are the flags that make a spawned gateway role (handlers, baseline) pin itself.
func (p pinning) childArgs() []string {
	if !p.on() {
		return nil
	}
	return []string{"-pin-self", p.gateway, "-pin", strconv.Itoa(p.gatewayCPUs)}
}

// command is exec.Command(name, args...) run on the gateway CPUs.
func (p pinning) command(name string, args ...string) *exec.Cmd {
	if !p.on() {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"-c", p.gateway, name}, args...)...)
}

// wrap returns a launcher for the dataplane binary bin that runs it with env (KEY=VALUE
// settings, e.g. GOGC=off) and, when pinning, on the gateway CPUs with GOMAXPROCS set to their
// number; bin itself when there is nothing to add. The launcher execs (sh, then taskset), so
// the process the harness measures is the dataplane itself.
func (p pinning) wrap(dir, name, bin string, env []string) (string, error) {
	if !p.on() && len(env) == 0 {
		return bin, nil
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString("#!/bin/sh\nexec env")
	if p.on() {
		env = append([]string{"GOMAXPROCS=" + strconv.Itoa(p.gatewayCPUs)}, env...)
	}
	for _, kv := range env {
		sb.WriteString(" " + shellQuote(kv))
	}
	if p.on() {
		sb.WriteString(" taskset -c " + p.gateway)
	}
	sb.WriteString(" " + shellQuote(abs) + " \"$@\"\n")
	script := filepath.Join(dir, "launch-"+name)
	return script, os.WriteFile(script, []byte(sb.String()), 0o755)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// allowedCPUs is Cpus_allowed_list of process pid, to show what a run was pinned to.
func allowedCPUs(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// selfCPU is this process's user+system CPU time (the load generator's).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
