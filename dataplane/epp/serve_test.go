package epp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/internal/testenv"
)

// hostSource is a pool's endpoints as one host crossed with its target ports (what a headless
// Service's DNS gives, without DNS).
type hostSource string

func (h hostSource) Endpoints(_ context.Context, ports []int) ([]string, error) {
	var out []string
	for _, p := range ports {
		out = append(out, net.JoinHostPort(string(h), strconv.Itoa(p)))
	}
	return out, nil
}

// serve runs Serve until the test ends and returns the ext_proc address.
func serve(t *testing.T, o ServeOptions) string {
	t.Helper()
	o.Listen, o.Admin = "127.0.0.1:0", ""
	ready := make(chan string, 1)
	o.Ready = func(a string) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case a := <-ready:
		return a
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("Serve did not listen within 60s")
	}
	return ""
}

// picker asks the EPP at addr for picks as the dataplane would, for a gateway pool of eps.
func picker(t *testing.T, addr string, eps []string) func() []string {
	t.Helper()
	gw := startPool(t, "gw/"+t.Name(), eps, pool.FailClose, pool.SchedulerConfig{})
	c, err := NewClient(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	h := c.Handler(gw, Picker{Address: addr}).(*handler)
	n := 0
	return func() []string {
		// A prompt of its own each time: no prefix affinity, so equal endpoints tie and the
		// picker's tie-break spreads the picks.
		n++
		body := chatBody("sim-model", fmt.Sprintf("%d: which endpoint?", n), false)
		r, _ := http.NewRequest(http.MethodPost, "http://gw/v1/chat/completions", nil)
		r.Header.Set("Content-Type", "application/json")
		ex, err := c.exchange(context.Background(), h, r, body)
		if ex != nil {
			ex.close()
		}
		if err != nil {
			return nil
		}
		return ex.endpoints
	}
}

// File mode follows the resource files as the dataplane does: a changed pool (here its target
// port) is picked from within the watch interval, and a broken set keeps the last pool.
func TestServeReloadsFiles(t *testing.T) {
	sims := startSims(t, 2, vllmsim.Config{})
	ports := make([]int, len(sims))
	for i, a := range sims {
		_, p, _ := net.SplitHostPort(a)
		ports[i], _ = strconv.Atoi(p)
	}
	file := filepath.Join(t.TempDir(), "pool.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(poolResources(ports[0]))
	logs := &testenv.Buffer{}
	addr := serve(t, ServeOptions{
		Config: []string{file}, WatchInterval: 20 * time.Millisecond,
		PoolSource: func(string, map[string]string) pool.Source { return hostSource("127.0.0.1") },
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
	})
	pick := picker(t, addr, sims)
	onlyOn := func(want string) bool {
		for range 5 {
			if eps := pick(); len(eps) == 0 || !allAre(eps, want) {
				return false
			}
		}
		return true
	}
	waitFor(t, 5*time.Second, "picks on the first target port", func() bool { return onlyOn(sims[0]) })

	write(poolResources(ports[1]))
	waitFor(t, 5*time.Second, "picks on the changed target port", func() bool { return onlyOn(sims[1]) })

	write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n")
	waitFor(t, 5*time.Second, "the broken set to be rejected", func() bool {
		return strings.Contains(logs.String(), "config reload rejected")
	})
	if !onlyOn(sims[1]) {
		t.Errorf("after a rejected reload the picks left the last pool's endpoint %s:\n%s", sims[1], logs)
	}
}

func allAre(list []string, want string) bool {
	for _, s := range list {
		if s != want {
			return false
		}
	}
	return true
}

// Kubernetes mode against a real kube-apiserver: the pool is the InferencePool's ready Pods
// (loopback IPs where simulators listen), a new Ready Pod is picked, a deleted Pod leaves the
// picks within a second, and a changed targetPorts moves the picks to the new port.
func TestServeKubernetes(t *testing.T) {
	_, eps := loopbackFleet(t, 3, vllmsim.Config{})
	_, moved := loopbackFleet(t, 3, vllmsim.Config{}) // the same Pod IPs, another port
	const ns = "epp-kube"
	s, kc := kubePool(t, ns, eps[:2])
	addr := serve(t, ServeOptions{Kubernetes: s.Config(), Pool: ns + "/vllm"})
	pick := picker(t, addr, append(slices.Clone(eps), moved...))

	seen := func(want string) func() bool {
		return func() bool {
			for range 60 {
				if eps := pick(); len(eps) > 0 && eps[0] == want {
					return true
				}
			}
			return false
		}
	}
	for range 20 {
		for _, e := range pick() {
			if e == eps[2] {
				t.Fatalf("picked %s, which has no Pod yet", e)
			}
		}
	}
	// A new Pod joins the picks once Ready.
	readyPod(t, kc, ns, "vllm-2", hostOf(eps[2]))
	waitFor(t, 10*time.Second, "the new Pod to be picked", seen(eps[2]))

	// Delete the Pod picked now: within a second no pick names it.
	gone := pick()[0]
	name := fmt.Sprintf("vllm-%d", indexOf(eps, gone))
	start := time.Now()
	if err := kc.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the deleted Pod to leave the picks", func() bool {
		for _, e := range pick() {
			if e == gone {
				return false
			}
		}
		return true
	})
	if d := time.Since(start); d > time.Second {
		t.Errorf("the deleted Pod %s was picked for %v after its deletion, want under 1s", name, d)
	}
	t.Logf("the deleted Pod left the picks after %v", time.Since(start))
	for range 50 {
		for _, e := range pick() {
			if e == gone {
				t.Fatalf("picked %s after its Pod %s was deleted", e, name)
			}
		}
	}

	// The InferencePool's targetPorts changes: the picks follow to the new port.
	_, newPort, _ := net.SplitHostPort(moved[0])
	port, _ := strconv.Atoi(newPort)
	patch := fmt.Sprintf(`{"spec":{"targetPorts":[{"number":%d}]}}`, port)
	dc := dynamic.NewForConfigOrDie(s.Config())
	if _, err := dc.Resource(gvrInferencePool).Namespace(ns).Patch(context.Background(), "vllm", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "picks on the new target port", func() bool {
		for range 5 {
			if eps := pick(); len(eps) == 0 || !slices.Contains(moved, eps[0]) {
				return false
			}
		}
		return true
	})
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
