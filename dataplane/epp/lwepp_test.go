package epp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/internal/kubeapi"
	"github.com/infergw/gwctl/internal/testenv"
)

// sameFreePort finds a port free on every one of hosts (the pool's pods share one target port).
func sameFreePort(t *testing.T, hosts ...string) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", hosts[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := true
		for _, h := range hosts[1:] {
			l2, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			_ = l2.Close()
		}
		_ = l.Close()
		if ok {
			return port
		}
	}
	t.Fatal("no port free on every host")
	return 0
}

// loopbackFleet starts n simulators with cfg on 127.0.0.2, 127.0.0.3, … at one port (the pool's
// target port, shared by its Pods) and returns their addresses.
func loopbackFleet(t *testing.T, n int, cfg vllmsim.Config) ([]*vllmsim.Server, []string) {
	t.Helper()
	var ips []string
	for i := range n {
		ips = append(ips, fmt.Sprintf("127.0.0.%d", i+2))
	}
	port := sameFreePort(t, ips...)
	var sims []*vllmsim.Server
	var eps []string
	for i, ip := range ips {
		c := cfg
		c.Seed = uint64(i + 1)
		sim, err := vllmsim.New(c)
		if err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort(ip, strconv.Itoa(port))
		if err := sim.Start(addr); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		sims = append(sims, sim)
		eps = append(eps, addr)
	}
	return sims, eps
}

// kubePool starts a real kube-apiserver (the test binary's shared one) with the Inference
// Extension's InferencePool CRD, and creates in namespace ns the InferencePool "vllm" (selector
// app=vllm, the target port of eps) and one Pod per endpoint, made Ready with the endpoint's
// loopback IP. It returns the server and a clientset.
func kubePool(t *testing.T, ns string, eps []string) (*kubeapi.Server, kubernetes.Interface) {
	t.Helper()
	s := kubeapi.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	crd, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "gie", "inference.networking.k8s.io_inferencepools.v1.6.0.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InstallCRDs(ctx, crd); err != nil {
		t.Fatal(err)
	}
	_, portStr, _ := net.SplitHostPort(eps[0])
	port, _ := strconv.Atoi(portStr)

	kc := kubernetes.NewForConfigOrDie(s.Config())
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dc := dynamic.NewForConfigOrDie(s.Config())
	ip := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
		"metadata": map[string]any{"name": "vllm", "namespace": ns},
		"spec": map[string]any{
			"selector":          map[string]any{"matchLabels": map[string]any{"app": "vllm"}},
			"targetPorts":       []any{map[string]any{"number": int64(port)}},
			"endpointPickerRef": map[string]any{"name": "epp", "port": map[string]any{"number": int64(9002)}, "failureMode": "FailClose"},
		},
	}}
	if _, err := dc.Resource(gvrInferencePool).Namespace(ns).Create(ctx, ip, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, ep := range eps {
		readyPod(t, kc, ns, fmt.Sprintf("vllm-%d", i), hostOf(ep))
	}
	return s, kc
}

// readyPod creates a Pod of the pool (label app=vllm) and makes it Ready with podIP.
func readyPod(t *testing.T, kc kubernetes.Interface, ns, name, podIP string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "vllm"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "vllm", Image: "vllm/vllm-openai"}}},
	}
	created, err := kc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: podIP, PodIPs: []corev1.PodIP{{IP: podIP}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}}
	if _, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// startLWEPP runs the Inference Extension's own lightweight EPP (cmd/lwepp at the release of
// the pinned InferencePool API, built by `make lwepp`) for the pool of eps, and returns its
// ext_proc address. It discovers the pool's Pods through a real kube-apiserver: Pods made Ready
// in namespace ns, whose IPs are the loopback addresses where the simulators listen. args go
// last on its command line (they override the defaults here).
func startLWEPP(t *testing.T, ns string, eps []string, args ...string) (string, *testenv.Process) {
	t.Helper()
	bin := filepath.Join(testenv.RepoRoot(t), "bin", "lwepp")
	if _, err := os.Stat(bin); err != nil {
		testenv.Missing(t, "bin/lwepp not found: run `make lwepp` (builds the Inference Extension's cmd/lwepp pinned by hack/lwepp/go.mod)")
	}
	s, _ := kubePool(t, ns, eps)

	// lwepp, plaintext, on loopback ports.
	grpcPort := sameFreePort(t, "127.0.0.1")
	healthPort := sameFreePort(t, "127.0.0.1")
	cmd := exec.Command(bin, append([]string{"--pool-name", "vllm", "--pool-namespace", ns, "--grpc-port", strconv.Itoa(grpcPort),
		"--grpc-health-port", strconv.Itoa(healthPort), "--metrics-port", "0", "--secure-serving=false", "--kubeconfig", s.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig)
	proc := testenv.Start(t, cmd)
	eppAddr := "127.0.0.1:" + strconv.Itoa(grpcPort)
	proc.WaitDial(t, eppAddr, 30*time.Second)
	return eppAddr, proc
}

// postUntilServed posts body through gw until lwepp, which picks only once it has synced the
// pool and its Pods, has it served (polling with a deadline), and checks a Pod of eps served it.
func postUntilServed(t *testing.T, gw *testGateway, body []byte, eps []string, proc *testenv.Process) result {
	t.Helper()
	var r result
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = post(t, gw.url, body, nil)
		if r.status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not a wait for an event
	}
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s\nlwepp:\n%s", r.status, r.body, proc.Output())
	}
	if served := r.header.Get(pool.HeaderServed); !contains(eps, served) {
		t.Fatalf("served by %q, not a Pod of the pool %v", served, eps)
	}
	return r
}

// lwepp as the picker the dataplane calls, over a real kube-apiserver's pool and Pods.
func TestLWEPP(t *testing.T) {
	_, eps := loopbackFleet(t, 2, vllmsim.Config{})
	const ns = "lwepp"
	eppAddr, proc := startLWEPP(t, ns, eps)
	p := startPool(t, ns+"/vllm", eps, pool.FailClose, pool.SchedulerConfig{})
	gw := startGateway(t, p, eppAddr, pool.FailClose, Options{})

	r := postUntilServed(t, gw, chatBody("sim-model", "hello through lwepp", true), eps, proc)
	if sseText(r.body) == "" {
		t.Fatalf("streamed answer through lwepp has no content: %.300s", r.body)
	}

	// lwepp's conformance hooks: the test header steers its pick, and it echoes the served
	// endpoint the dataplane reports in the response phase.
	for _, want := range eps {
		r := post(t, gw.url, chatBody("sim-model", "steered", false), map[string]string{"test-epp-endpoint-selection": hostOf(want)})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if got := r.header.Get(pool.HeaderServed); got != want {
			t.Errorf("steered to %s, served by %s", want, got)
		}
		if got := r.header.Get("X-Conformance-Test-Served-Endpoint"); got != want {
			t.Errorf("lwepp saw served endpoint %q, want %q (x-gateway-destination-endpoint-served)", got, want)
		}
	}
	// Counted once the proxy returns, which may be after the client has the whole reply.
	picked := gw.c.metrics.requests.WithLabelValues(p.Name(), "picked")
	waitFor(t, 5*time.Second, "gwctl_epp_requests_total{outcome=picked} to reach 3", func() bool { return testutil.ToFloat64(picked) >= 3 })
}
