package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// BuildDataplane builds ./cmd/dataplane into dir (run from the repository root) and returns
// the binary's path: the benchmarks measure what ships, not handlers inside their own process.
func BuildDataplane(dir string) (string, error) {
	bin := filepath.Join(dir, "dataplane")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/dataplane")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/dataplane (run the benchmark from the repository root): %w", err)
	}
	return bin, nil
}

// FreeAddr returns a loopback address that was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Dataplane is a running dataplane binary.
type Dataplane struct {
	*Proc
	// Debug is the --debug-addr (/configz, /debug/pprof/).
	Debug string
}

// StartDataplane runs the dataplane binary at bin on free loopback ports with --config
// configDir, the given --resolve overrides and extra flags, as a user runs it: access log on
// (JSON lines on stdout, read by a cat process into /dev/null), metrics on, the GC tuning of
// cmd/dataplane. It returns once /readyz answers 200.
func StartDataplane(bin, configDir string, resolve []string, extra ...string) (*Dataplane, error) {
	var addrs [3]string
	for i := range addrs {
		a, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	args := []string{"--config", configDir, "--listen", addrs[0], "--admin", addrs[1], "--debug-addr", addrs[2], "--watch-interval", "1h"}
	for _, r := range resolve {
		args = append(args, "--resolve", r)
	}
	// The log lines go through a pipe to a process of their own, as to a pod's log collector:
	// read by this process (os/exec's copying goroutine for an io.Writer), they would wake the
	// load generator on every line, in step with the requests it times.
	logs, err := exec.LookPath("cat")
	if err != nil {
		return nil, fmt.Errorf("a log reader for the dataplane's stdout: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	reader := exec.Command(logs)
	reader.Stdin = pr // Stdout nil: /dev/null
	if err := reader.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	var errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &errs
	err = cmd.Start()
	pr.Close() // the processes hold their ends; cat ends when the dataplane does
	pw.Close()
	if err != nil {
		_ = reader.Process.Kill()
		_ = reader.Wait()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { _ = reader.Wait() }()
	p := &Proc{Cmd: cmd, Addr: addrs[0]}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addrs[1] + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &Dataplane{Proc: p, Debug: addrs[2]}, nil
			}
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s %v not ready within 30s: %v\n%s", bin, args, err, errs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CPUProfile fetches a CPU profile of d covering the next duration into path (in the
// background); wait for the returned channel before reading the file.
func (d *Dataplane) CPUProfile(path string, duration time.Duration) <-chan error {
	return CPUProfile(d.Debug, path, duration)
}

// CPUProfile fetches a CPU profile covering the next duration from the /debug/pprof/ handlers
// on addr into path (in the background); wait for the returned channel before reading the file.
func CPUProfile(addr, path string, duration time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		secs := max(int(duration.Round(time.Second)/time.Second), 1)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("profile: status %d", resp.StatusCode)
		}
		done <- err
	}()
	return done
}

// LoadAverage returns the 1, 5 and 15 minute load averages from /proc/loadavg: every figure
// is stated with the load it was taken under.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return "?"
	}
	return fmt.Sprintf("%s %s %s", f[0], f[1], f[2])
}
