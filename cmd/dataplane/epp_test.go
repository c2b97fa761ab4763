package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/internal/testenv"
)

// eppResources is a pool whose endpointPickerRef names a Service in the input.
const eppResources = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: inference}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: models, namespace: inference}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: vllm}]}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: vllm, namespace: inference}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: vllm-epp, port: {number: 9002}, failureMode: FailClose}
---
apiVersion: v1
kind: Service
metadata: {name: vllm-epp, namespace: inference}
spec: {ports: [{name: grpc, port: 9002}]}
`

// start runs the binary with args until the test ends and returns its logs.
func start(t *testing.T, args []string) *testenv.Buffer {
	t.Helper()
	logs := &testenv.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, nil, logs, logs, func(string) string { return "" }) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("%v: exit %d:\n%s", args, code, logs)
		}
	})
	return logs
}

// logged waits for a log line with message msg and returns its attribute key (an address).
func logged(t *testing.T, logs *testenv.Buffer, msg, key string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				if a, _ := rec[key].(string); a != "" {
					return a
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing logged as %q:\n%s", msg, logs)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// Both binaries over loopback: `dataplane epp` serves the pool's picker, and the dataplane calls
// it because the pool's endpointPickerRef names that Service (resolved to it); with
// --pool-in-process it picks itself and never calls it.
func TestDataplaneCallsEndpointPicker(t *testing.T) {
	var sims []string
	for i := range 2 {
		s, err := vllmsim.New(vllmsim.Config{Seed: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		sims = append(sims, s.Addr())
	}
	file := filepath.Join(t.TempDir(), "resources.yaml")
	if err := os.WriteFile(file, []byte(eppResources), 0o644); err != nil {
		t.Fatal(err)
	}
	endpoints := "vllm.inference=" + strings.Join(sims, ";")
	eppLogs := start(t, []string{"epp", "--config", file, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool-endpoints", endpoints})
	eppAddr := logged(t, eppLogs, "endpoint picker serving", "ext_proc")
	eppAdmin := logged(t, eppLogs, "endpoint picker serving", "admin")

	for _, tc := range []struct {
		name   string
		extra  []string
		called bool
	}{
		{"endpoint picker", nil, true},
		{"in-process", []string{"--pool-in-process"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--config", file, "--resolve", "vllm-epp.inference:9002=" + eppAddr, "--pool-endpoints", endpoints,
				"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--debug-addr", ""}, tc.extra...)
			logs := start(t, args)
			traffic, admin := logged(t, logs, "serving", "listen"), logged(t, logs, "admin", "listen")
			picked := metric(t, eppAdmin, `gwctl_epp_server_requests_total{outcome="picked",pool="inference/vllm"}`)
			var body bytes.Buffer
			body.WriteString(`{"model":"sim-model","max_tokens":4,"messages":[{"role":"user","content":"hello from the gateway"}]}`)
			var resp *http.Response
			var err error
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err = http.Post("http://"+traffic+"/v1/chat/completions", "application/json", bytes.NewReader(body.Bytes()))
				if err == nil && resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
					break
				}
				if resp != nil {
					resp.Body.Close()
				}
				time.Sleep(20 * time.Millisecond) // the pool's first scrape: polling, not waiting for an event
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s\n%s", resp.StatusCode, b, logs)
			}
			calls := metric(t, eppAdmin, `gwctl_epp_server_requests_total{outcome="picked",pool="inference/vllm"}`) - picked
			client := metric(t, admin, `gwctl_epp_requests_total{outcome="picked",pool="inference/vllm"}`)
			// The dataplane counts a pick once the proxy returns, which may be after the client has
			// the whole reply.
			for wait := time.Now().Add(5 * time.Second); tc.called && client < 1 && time.Now().Before(wait); {
				time.Sleep(10 * time.Millisecond) // polling interval, not a wait for an event
				client = metric(t, admin, `gwctl_epp_requests_total{outcome="picked",pool="inference/vllm"}`)
			}
			if tc.called && (calls != 1 || client != 1) {
				t.Errorf("the picker served %v picks and the dataplane counted %v, want 1 and 1", calls, client)
			}
			if !tc.called && (calls != 0 || client != 0) {
				t.Errorf("--pool-in-process: the picker served %v picks, the dataplane counted %v, want none", calls, client)
			}
		})
	}
}

// metric reads one sample from a /metrics page (0 when absent).
func metric(t *testing.T, addr, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return 0
}

func TestEPPUsageErrors(t *testing.T) {
	cases := [][]string{
		{"epp"},                 // neither --config nor --kubernetes
		{"epp", "--kubernetes"}, // no --pool
		{"epp", "--kubernetes", "--pool", "ns/vllm", "--config", "x"},
		{"epp", "--kubernetes", "--pool", "ns/vllm", "--kubeconfig", filepath.Join(t.TempDir(), "missing")},
		{"epp", "--config", "x", "stray"},
	}
	for _, args := range cases {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &errb, func(string) string { return "" }); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}
