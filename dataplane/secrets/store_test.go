package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, v string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "anthropic-api-key", "Authorization"), "sk-ant-secret\n")
	s := New(dir, nil)
	if v, err := s.Get("anthropic-api-key", "Authorization"); err != nil || v != "sk-ant-secret" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	// A Secret mounted after start is found without a reload.
	write(t, filepath.Join(dir, "late", "Authorization"), "late-value")
	if v, err := s.Get("late", "Authorization"); err != nil || v != "late-value" {
		t.Fatalf("late Get = %q, %v", v, err)
	}
	// A rotated value shows after Reload.
	write(t, filepath.Join(dir, "anthropic-api-key", "Authorization"), "rotated")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("anthropic-api-key", "Authorization"); v != "rotated" {
		t.Fatalf("after reload = %q", v)
	}
	// Missing: the error names the secret and never a value.
	_, err := s.Get("missing", "Authorization")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("missing err = %v", err)
	}
	for _, bad := range []string{"../etc", "..", "a/b", ""} {
		if _, err := s.Get(bad, "k"); err == nil {
			t.Errorf("Get(%q) should fail", bad)
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "anthropic-api-key")); err != nil {
		t.Fatal(err)
	}
	_ = s.Reload()
	if _, err := s.Get("anthropic-api-key", "Authorization"); err == nil || strings.Contains(err.Error(), "rotated") {
		t.Fatalf("removed secret: %v", err)
	}
}

func TestStoreKubernetesLayout(t *testing.T) {
	// A mounted Secret: <dir>/<name>/Authorization -> ..data/Authorization -> ..2026_x/Authorization
	dir := t.TempDir()
	sdir := filepath.Join(dir, "key")
	write(t, filepath.Join(sdir, "..2026_01", "Authorization"), "v1")
	if err := os.Symlink("..2026_01", filepath.Join(sdir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "Authorization"), filepath.Join(sdir, "Authorization")); err != nil {
		t.Fatal(err)
	}
	s := New(dir, nil)
	if v, err := s.Get("key", "Authorization"); err != nil || v != "v1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	// Kubernetes swaps ..data atomically.
	write(t, filepath.Join(sdir, "..2026_02", "Authorization"), "v2")
	tmp := filepath.Join(sdir, "..data_tmp")
	if err := os.Symlink("..2026_02", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(sdir, "..data")); err != nil {
		t.Fatal(err)
	}
	_ = s.Reload()
	if v, _ := s.Get("key", "Authorization"); v != "v2" {
		t.Fatalf("after swap = %q", v)
	}
}

// An empty key (a Secret with an empty value, or a file read between its creation and its
// write) is not a credential: it is never cached or served, and the value written next is used.
func TestEmptyKeyIsNotACredential(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "upstream-key", "Authorization")
	write(t, path, " \n")
	s := New(dir, nil)
	if v, err := s.Get("upstream-key", "Authorization"); !errors.Is(err, ErrNotFound) || v != "" || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty key: %q, %v", v, err)
	}
	write(t, path, "sk-upstream\n")
	if v, err := s.Get("upstream-key", "Authorization"); err != nil || v != "sk-upstream" {
		t.Fatalf("after the write: %q, %v", v, err)
	}
}
