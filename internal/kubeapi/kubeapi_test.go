package kubeapi

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/infergw/gwctl/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// The server answers client-go and kubectl with the token, the kubeconfig and the CA handed
// back, reports the release make kube-bins builds, and is the same server for every test.
func TestServer(t *testing.T) {
	s := Start(t)
	t.Logf("etcd and kube-apiserver ready in %s", s.Started.Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cs, err := kubernetes.NewForConfig(s.Config())
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != Version {
		t.Fatalf("server version %s, want %s", v.GitVersion, Version)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubeapi-test"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cmd := s.Kubectl(ctx, "apply", "--server-side", "-f", "-")
	cmd.Stdin = strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: kubeapi-test}\ndata: {a: b}\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "configmap/c serverside-applied") {
		t.Fatalf("kubectl apply: %v: %s%s", err, out, stderr.String())
	}
	got, err := cs.CoreV1().ConfigMaps("kubeapi-test").Get(ctx, "c", metav1.GetOptions{})
	if err != nil || got.Data["a"] != "b" {
		t.Fatalf("applied ConfigMap: %v %v", got, err)
	}
	// A bad token is refused: the server authenticates, it is not open.
	bad := s.Config()
	bad.BearerToken = "wrong"
	cs2, _ := kubernetes.NewForConfig(bad)
	if _, err := cs2.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("wrong token: %v", err)
	}
	if again := Start(t); again != s {
		t.Fatal("Start under Main returned a second server")
	}
}

// Version is the release make kube-bins builds: the one hack/kube/go.mod requires.
func TestVersionIsPinned(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "hack", "kube", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\nrequire k8s.io/kubernetes "+Version+"\n") {
		t.Fatalf("hack/kube/go.mod does not require k8s.io/kubernetes %s", Version)
	}
}

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, maximum: 10}
`

// InstallCRDs installs a CRD (twice: tests sharing the server each install theirs) and waits
// until its resources are served: kubectl finds the kind and the server applies its schema.
func TestInstallCRDs(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 2 {
		if err := s.InstallCRDs(ctx, []byte(widgetCRD)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InstallCRDs(ctx, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")); err == nil {
		t.Fatal("InstallCRDs took a ConfigMap")
	}
	for _, tc := range []struct {
		size    string
		refused bool
	}{{"3", false}, {"11", true}} {
		cmd := s.Kubectl(ctx, "create", "--dry-run=server", "-f", "-")
		cmd.Stdin = strings.NewReader("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: " + tc.size + "}\n")
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.refused {
			t.Fatalf("size %s: %v\n%s", tc.size, err, out)
		}
		if tc.refused && !strings.Contains(string(out), "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10") {
			t.Fatalf("size %s: %s", tc.size, out)
		}
	}
}

// rerun is a test seen again under the same name, as go test -count runs it.
type rerun struct {
	testing.TB
	name string
}

func (r *rerun) Name() string { return r.name }

// A test run again (go test -count) gets a server without its first run's objects; within one
// run every Start is the same server.
func TestStartAgainIsFresh(t *testing.T) {
	first := &rerun{TB: t, name: "TestRerun"}
	s := Start(first)
	if Start(first) != s {
		t.Fatal("one run's second Start returned another server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(s.Config())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubeapi-rerun"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	again := Start(&rerun{TB: t, name: "TestRerun"})
	if again == s {
		t.Fatal("the test run again got its first run's server")
	}
	cs = kubernetes.NewForConfigOrDie(again.Config())
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the second run meets the first's objects: %v", err)
	}
}
