package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a real component started by a test, stopped at cleanup.
type Process struct {
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
}

// Buffer collects output written by other goroutines (a server's log) while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start runs cmd, captures its output, and kills it at cleanup.
func Start(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p, err := Launch(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// Launch runs cmd and captures its output, for a component that outlives one test (one server
// shared by a test binary): its owner calls Stop.
func Launch(cmd *exec.Cmd) (*Process, error) {
	p := &Process{cmd: cmd, out: &Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Output is what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop kills the process and waits for it.
func (p *Process) Stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// WaitDial polls addr until it accepts a TCP connection, failing the test when the process
// exits or the deadline passes.
func (p *Process) WaitDial(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if p.Exited() {
			t.Fatalf("%s exited before listening on %s:\n%s", p.cmd.Path, addr, p.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within %s: %v\n%s", p.cmd.Path, addr, timeout, err, p.Output())
		}
		select {
		case <-p.done:
		case <-time.After(50 * time.Millisecond): // polling interval
		}
	}
}
