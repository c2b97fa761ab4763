// Package kubeapi starts a real etcd and kube-apiserver on 127.0.0.1 for tests, the way
// controller-runtime's envtest does, and hands back how to reach it (URL, token, kubeconfig,
// client-go config, kubectl). One server serves a whole test binary when its TestMain calls Main.
//
//	func TestMain(m *testing.M) { os.Exit(kubeapi.Main(m)) }
//
//	func TestX(t *testing.T) {
//		s := kubeapi.Start(t) // skips (fails under CI=true) without the binaries or etcd
//		out, err := s.Kubectl(ctx, "get", "ns").Output()
//	}
package kubeapi

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/infergw/gwctl/internal/testenv"
)

// Version is the Kubernetes release `make kube-bins` builds (hack/kube/go.mod).
const Version = "v1.35.4"

// Server is a running kube-apiserver with its etcd. Its fields are read-only.
type Server struct {
	// URL is https://127.0.0.1:PORT.
	URL string
	// Token is the bearer token of an admin (group system:masters; authorization is AlwaysAllow).
	Token string
	// CAData is the PEM of the CA that signed the serving certificate.
	CAData []byte
	// Kubeconfig is a kubeconfig file for URL with CAData and Token (context "gwctl-test").
	Kubeconfig string
	// Started is how long etcd and kube-apiserver took to become ready.
	Started time.Duration

	kubectl   string
	dir       string
	etcd, api *testenv.Process
}

// Config returns a client-go config for the server, a fresh copy at each call (callers may set
// QPS, timeouts or a user agent on theirs). QPS and Burst are high: tests send batches.
func (s *Server) Config() *rest.Config {
	return &rest.Config{
		Host:            s.URL,
		BearerToken:     s.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), s.CAData...)},
		QPS:             1000,
		Burst:           2000,
	}
}

// Kubectl returns kubectl (bin/kube/kubectl, the same release as the server) ready to run args
// against the server; the caller sets Stdin and runs it. KUBECONFIG is the server's only.
func (s *Server) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.kubectl, append([]string{"--kubeconfig", s.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig, "HOME="+s.dir)
	return cmd
}

// Output is what etcd and kube-apiserver printed so far (to explain a failure).
func (s *Server) Output() string {
	return "etcd:\n" + tail(s.etcd.Output()) + "\nkube-apiserver:\n" + tail(s.api.Output())
}

// Stop kills kube-apiserver and etcd and removes their files.
func (s *Server) Stop() {
	if s.api != nil {
		s.api.Stop()
	}
	if s.etcd != nil {
		s.etcd.Stop()
	}
	_ = os.RemoveAll(s.dir)
}

var shared struct {
	main bool // Main runs the tests: Start shares one server
	mu   sync.Mutex
	srv  *Server
	err  error
	// users is, per test name, the test that last used srv: the same name from another test
	// value is that test run again (go test -count), which needs a server without its first
	// run's objects.
	users map[string]testing.TB
}

// Main runs a test binary's tests with one shared server (started by the first Start) and stops
// it when they end. Call it from TestMain.
func Main(m *testing.M) int {
	shared.main = true
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	return code
}

// Start returns a ready server: the test binary's shared one when TestMain calls Main (started on
// first use), else one of t's own, stopped when t ends. Without kube-apiserver, kubectl or etcd
// it skips t, and fails it under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	b := findBinaries(t)
	if !shared.main {
		s, err := start(b)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		return s
	}
	s, err := sharedServer(t, b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sharedServer starts the shared server on first use, and again for a test that already ran
// on it (-count runs every test again; its namespaces, Secrets and field managers would
// otherwise still be there). Every test of one run has ended before the next run starts.
func sharedServer(t testing.TB, b binaries) (*Server, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if prev, ok := shared.users[t.Name()]; ok && prev != t && shared.srv != nil {
		shared.srv.Stop()
		shared.srv, shared.users = nil, nil
	}
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = start(b)
	}
	if shared.users == nil {
		shared.users = map[string]testing.TB{}
	}
	shared.users[t.Name()] = t
	return shared.srv, shared.err
}

type binaries struct{ apiserver, kubectl, etcd string }

// BinDir is where kube-apiserver and kubectl are looked up: $KUBE_BIN_DIR, else bin/kube at the
// repository root (what `make kube-bins` writes).
func BinDir(t testing.TB) string {
	if d := os.Getenv("KUBE_BIN_DIR"); d != "" {
		return d
	}
	return filepath.Join(testenv.RepoRoot(t), "bin", "kube")
}

func findBinaries(t testing.TB) binaries {
	t.Helper()
	dir := BinDir(t)
	b := binaries{apiserver: filepath.Join(dir, "kube-apiserver"), kubectl: filepath.Join(dir, "kubectl")}
	var missing []string
	for _, p := range []string{b.apiserver, b.kubectl} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		missing = append(missing, "etcd on PATH")
	}
	if len(missing) > 0 {
		testenv.Missing(t, fmt.Sprintf("no %s: the API server tests need kube-apiserver and kubectl %s (`make kube-bins` builds them into bin/kube, about 17 minutes once; or set KUBE_BIN_DIR) and etcd (`apt-get install etcd-server`, or `make test-deps` as root)", strings.Join(missing, ", "), Version))
	}
	b.etcd = etcd
	return b
}

func start(b binaries) (*Server, error) {
	began := time.Now()
	dir, err := os.MkdirTemp("", "kubeapi-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, kubectl: b.kubectl}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	creds, err := writeCredentials(dir)
	if err != nil {
		return nil, fmt.Errorf("kubeapi: credentials: %w", err)
	}
	s.Token, s.CAData = creds.token, creds.caPEM

	etcdURL, err := s.startEtcd(b.etcd)
	if err != nil {
		return nil, err
	}
	if err := s.startAPIServer(b.apiserver, etcdURL, creds); err != nil {
		return nil, err
	}
	if s.Kubeconfig, err = writeKubeconfig(dir, s); err != nil {
		return nil, fmt.Errorf("kubeapi: kubeconfig: %w", err)
	}
	s.Started = time.Since(began)
	ok = true
	return s, nil
}

// tail keeps the end of a component's log, where the reason it stopped is.
func tail(s string) string {
	const max = 4000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}
