package kube_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/kube"
	"github.com/infergw/gwctl/internal/kubeapi"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/gateway"
)

func TestMain(m *testing.M) { os.Exit(kubeapi.Main(m)) }

// cluster is the test's API server with the CRDs installed and clients on it.
type cluster struct {
	s   *kubeapi.Server
	cs  kubernetes.Interface
	dyn dynamic.Interface
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	s := kubeapi.Start(t)
	root := testenv.RepoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"apply", "--server-side", "--force-conflicts",
		"-f", filepath.Join(root, "testdata/gateway-api/crd/standard"),
		"-f", filepath.Join(root, "testdata/agentgateway-v1.2.1/agentgateway.dev_agentgatewaybackends.yaml"),
		"-f", filepath.Join(root, "testdata/agentgateway-v1.2.1/agentgateway.dev_agentgatewaypolicies.yaml"),
		"-f", filepath.Join(root, "testdata/gie/inference.networking.k8s.io_inferencepools.v1.6.0.yaml")}
	kubectl(t, s, ctx, "", args...)
	kubectl(t, s, ctx, "", "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
	cs, err := kubernetes.NewForConfig(s.Config())
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(s.Config())
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{s: s, cs: cs, dyn: dyn}
}

func kubectl(t *testing.T, s *kubeapi.Server, ctx context.Context, stdin string, args ...string) string {
	t.Helper()
	cmd := s.Kubectl(ctx, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// running is a dataplane in Kubernetes mode over loopback.
type running struct {
	d   *bootstrap.Dataplane
	ctl *kube.Controller
	url string
	log *testenv.Buffer
}

// runDataplane runs a dataplane for the cluster; tune, when given, adjusts its options.
func runDataplane(t *testing.T, c *cluster, ns string, tune ...func(*kube.Options, *bootstrap.Dataplane)) *running {
	t.Helper()
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := bootstrap.New(bootstrap.Settings{ControllerName: gateway.DefaultControllerName, DisableAccessLog: true}, log)
	opts := kube.Options{Config: c.s.Config(), Namespace: ns, Identity: "test-" + ns,
		Compile: d.Settings.CompileOptions(), Apply: d.Apply, Secrets: d.Secrets, Logger: log, Debounce: 20 * time.Millisecond,
		OnReject:      func() { d.Metrics.Reload(false, float64(time.Now().Unix())) },
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 200 * time.Millisecond}
	for _, f := range tune {
		f(&opts, d)
	}
	ctl, err := kube.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	// The test plays the node: pod addresses (10.244.0.0/16, which the API server accepts where
	// it refuses loopback) are reached on loopback.
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	d.Transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasPrefix(host, "10.244.") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	d.ServeServices(ctl.Endpoints.ServiceHandler)
	ctx, cancel := context.WithCancel(context.Background())
	if err := ctl.Start(ctx); err != nil {
		cancel()
		t.Fatalf("start: %v\n%s", err, logs)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { ctl.Run(ctx); done <- struct{}{} }()
	go func() { _ = d.Run(ctx, ln, nil); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		if t.Failed() {
			t.Logf("dataplane log:\n%s", logs)
		}
	})
	return &running{d: d, ctl: ctl, url: "http://" + ln.Addr().String(), log: logs}
}

// eventually polls f until it returns "" or the deadline passes.
func eventually(t *testing.T, within time.Duration, f func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		if last = f(); last == "" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", within, last)
}

var (
	gvrGateway = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	gvrRoute   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	gvrClass   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"}
)

// condition returns the status and reason of a condition in a conditions list at path.
func condition(u *unstructured.Unstructured, typ string, path ...string) (string, string) {
	list, _, _ := unstructured.NestedSlice(u.Object, path...)
	for _, c := range list {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			return s, r
		}
	}
	return "", ""
}

func routeParent(u *unstructured.Unstructured, typ string) (string, string) {
	parents, _, _ := unstructured.NestedSlice(u.Object, "status", "parents")
	for _, p := range parents {
		m, _ := p.(map[string]any)
		if m["controllerName"] != gateway.DefaultControllerName {
			continue
		}
		return condition(&unstructured.Unstructured{Object: m}, typ, "conditions")
	}
	return "", ""
}

// echo is a local server standing in for a Service's pods.
func echo(t *testing.T, name string) int32 {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	var p int32
	fmt.Sscan(port, &p)
	return p
}

// endpointSlice plays the EndpointSlice controller for a Service: addrs ready on port.
func endpointSlice(ns, svc, portName string, port int32, addrs ...string) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-slice", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Port: ptr.To(port)}},
	}
	for _, a := range addrs {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return es
}

func get(t *testing.T, c *cluster, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var u *unstructured.Unstructured
	var err error
	if ns == "" {
		u, err = c.dyn.Resource(gvr).Get(context.Background(), name, metav1.GetOptions{})
	} else {
		u, err = c.dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metrics is the dataplane's Prometheus exposition, as /metrics serves it.
func metrics(t *testing.T, r *running) string {
	t.Helper()
	mfs, err := r.d.Prometheus.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if mf.GetName() != "dataplane_config_reloads_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				fmt.Fprintf(&b, "%s=%q ", l.GetName(), l.GetValue())
			}
			fmt.Fprintf(&b, "%v\n", m.GetCounter().GetValue())
		}
	}
	return b.String()
}
