package epp

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// simsEnv turns the test binary into a simulator process instead of a test run (TestMain): it
// serves that many vLLM simulators on loopback, prints their addresses on one line and serves
// until its stdin closes, that is until the test that started it ends. The latency rig runs its
// model servers so, in a process of their own as in a deployment, where they are other machines.
const simsEnv = "GWCTL_EPP_TEST_SIMS"

// serveSims is the simulator process's main; n is simsEnv's value.
func serveSims(n string) int {
	k, err := strconv.Atoi(n)
	if err != nil || k < 1 || k > 64 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a count of simulators from 1 to 64\n", simsEnv, n)
		return 2
	}
	addrs := make([]string, k)
	for i := range addrs {
		s, err := vllmsim.New(vllmsim.Config{Seed: uint64(i + 1)}) // the seeds startSims gives
		if err == nil {
			err = s.Start("127.0.0.1:0")
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "simulator %d: %v\n", i, err)
			return 1
		}
		addrs[i] = s.Addr()
	}
	fmt.Println(strings.Join(addrs, " "))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// simProcess is n simulators in a process of their own (this test binary, re-run with simsEnv).
type simProcess struct {
	addrs []string
	pid   int
}

// startSimProcess starts n simulators in a child process and stops it when the test ends.
func startSimProcess(t testing.TB, n int) *simProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Should simsEnv not take, the binary runs no test (rather than this one again) and fails
	// the address line.
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), simsEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close() // the child's signal to exit
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l, ok := <-line:
		addrs := strings.Fields(l)
		if !ok || len(addrs) != n {
			t.Fatalf("simulator process printed %q, want %d addresses", l, n)
		}
		return &simProcess{addrs: addrs, pid: cmd.Process.Pid}
	case <-time.After(30 * time.Second):
		t.Fatal("simulator process did not print its addresses within 30s")
	}
	return nil
}

// TestSimProcess checks the simulator process the latency rig uses: it serves vLLM metrics at
// every address it prints, and a pool picks among them.
func TestSimProcess(t *testing.T) {
	sp := startSimProcess(t, 2)
	for _, a := range sp.addrs {
		resp, err := http.Get("http://" + a + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "vllm:num_requests_waiting") {
			t.Fatalf("%s/metrics: %d, want 200 with vLLM metrics:\n%.300s", a, resp.StatusCode, b)
		}
	}
	startPool(t, "sims/proc", sp.addrs, pool.FailClose, pool.SchedulerConfig{}) // waits until it picks
	if sp.pid == os.Getpid() {
		t.Fatal("simulators run in the test's own process")
	}
}
