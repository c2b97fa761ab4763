// Package testenv finds the real components that tests use, skipping a test when one is missing
// on a developer machine and failing it under CI.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// CI reports whether the tests run under CI (CI=true), where a missing component is a failure.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test with why, or fails it under CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatalf("required under CI: %s", why)
	}
	t.Skipf("skipped: %s", why)
}

// RepoRoot is the repository's top directory (the one holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary returns the path of an executable on PATH, or skips (fails under CI).
func Binary(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not on PATH; install with: "+install)
	}
	return p
}

// NodeModule returns the directory of an npm package installed from hack/npm by `npm ci`,
// together with the node binary, or skips (fails under CI).
func NodeModule(t testing.TB, pkg string) (node, dir string) {
	t.Helper()
	node = Binary(t, "node", "apt-get install nodejs")
	dir = filepath.Join(RepoRoot(t), "hack", "npm", "node_modules", filepath.FromSlash(pkg))
	if _, err := os.Stat(dir); err != nil {
		Missing(t, "npm package "+pkg+" not installed; run: npm ci --prefix hack/npm")
	}
	return node, dir
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
