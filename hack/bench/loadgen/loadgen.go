// Package loadgen is the load generator and process harness the side-by-side benchmarks in
// hack/bench share: a closed loop of workers measuring every request to its last byte, medians
// across rounds, and peer processes whose CPU time is read from /proc.
package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one measurement.
type Result struct {
	RPS      float64
	P50, P99 time.Duration
	Errors   int64
	// CPU is the measured server's CPU time per request (throughput runs).
	CPU time.Duration
	// IO is the measured server's read and write system calls per request (throughput runs):
	// unlike time, a count the machine's load does not change.
	IO float64
}

// Micros formats a duration in whole microseconds.
func Micros(d time.Duration) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// Median takes the median of each figure across rounds independently; errors are summed.
func Median(rs []Result) Result {
	var rps, io []float64
	var p50, p99, cpu []time.Duration
	var out Result
	for _, r := range rs {
		rps, p50, p99, cpu = append(rps, r.RPS), append(p50, r.P50), append(p99, r.P99), append(cpu, r.CPU)
		io = append(io, r.IO)
		out.Errors += r.Errors
	}
	slices.Sort(io)
	out.IO = io[len(io)/2]
	slices.Sort(rps)
	slices.Sort(p50)
	slices.Sort(p99)
	slices.Sort(cpu)
	out.RPS, out.P50, out.P99, out.CPU = rps[len(rps)/2], p50[len(p50)/2], p99[len(p99)/2], cpu[len(cpu)/2]
	return out
}

// Run drives a closed loop of conc workers for d, each sending newReq() and reading the
// response to its last byte; non-200 responses and transport errors count as errors.
func Run(newReq func() *http.Request, conc int, d time.Duration) Result {
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	return closedLoop(conc, d, func(time.Time) (func() error, func()) {
		buf := make([]byte, 32<<10)
		return func() error {
			resp, err := c.Do(newReq())
			if err != nil {
				return err
			}
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}, func() {}
	})
}

// closedLoop runs conc workers for d, each calling its do (from worker, given the run's deadline)
// back to back and timing each call; a call that fails counts as an error, not a latency.
func closedLoop(conc int, d time.Duration, worker func(deadline time.Time) (do func() error, done func())) Result {
	var errs atomic.Int64
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do, done := worker(deadline)
			defer done()
			lat[i] = make([]time.Duration, 0, 4096)
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				if err := do(); err != nil {
					errs.Add(1)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	return summarize(lat, errs.Load(), d)
}

// RunOn is Run against the server process p, adding p's CPU time and I/O system calls per
// request.
func RunOn(p *Proc, newReq func() *http.Request, conc int, d time.Duration) Result {
	return on(p, d, func() Result { return Run(newReq, conc, d) })
}

// on runs run, a run of d, adding the server process p's CPU time and I/O system calls per
// request.
func on(p *Proc, d time.Duration, run func() Result) Result {
	c0, io0 := p.CPU(), p.IOCalls()
	r := run()
	if n := r.RPS * d.Seconds(); n > 0 {
		r.CPU = time.Duration(float64(p.CPU()-c0) / n)
		r.IO = float64(p.IOCalls()-io0) / n
	}
	return r
}

// Serve serves h on a free loopback port until ctx is done.
func Serve(ctx context.Context, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	s := &http.Server{Handler: h}
	go func() { _ = s.Serve(ln) }()
	go func() { <-ctx.Done(); s.Close() }()
	return ln.Addr().String(), nil
}

// Proc is a measured server in its own process.
type Proc struct {
	Cmd *exec.Cmd
	// Stdin, when set, is closed to stop the process; otherwise it gets an interrupt.
	Stdin io.Closer
	Addr  string
}

// Spawn runs this program again with args; the child prints its listen address on the first
// line of stdout and exits when its stdin closes.
func Spawn(args ...string) (*Proc, error) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%v did not start: %w", args, err)
	}
	return &Proc{Cmd: cmd, Stdin: in, Addr: strings.TrimSpace(line)}, nil
}

// Stop ends the process, killing it after 5 s.
func (p *Proc) Stop() {
	if p.Stdin != nil {
		p.Stdin.Close()
	} else {
		_ = p.Cmd.Process.Signal(os.Interrupt)
	}
	done := make(chan struct{})
	go func() { _ = p.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-done
	}
}

// IOCalls returns the process's read and write system calls so far (/proc/<pid>/io syscr +
// syscw).
func (p *Proc) IOCalls() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Cmd.Process.Pid) + "/io")
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok && (k == "syscr" || k == "syscw") {
			x, _ := strconv.ParseInt(v, 10, 64)
			n += x
		}
	}
	return n
}

// CPU returns the process's user+system CPU time from /proc/<pid>/stat.
func (p *Proc) CPU() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// summarize turns the workers' latencies over a run of d into a Result.
func summarize(lat [][]time.Duration, errs int64, d time.Duration) Result {
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return Result{Errors: errs}
	}
	slices.Sort(all)
	return Result{RPS: float64(len(all)) / d.Seconds(), P50: all[len(all)/2], P99: all[len(all)*99/100], Errors: errs}
}
