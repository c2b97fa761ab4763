package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDirectoryAndStdin(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, ".git"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "a.yml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not yaml"), 0o644))
	must(os.WriteFile(filepath.Join(dir, ".git", "x.yaml"), []byte("junk: ["), 0o644))
	// A symlink loop must not trap the walk.
	must(os.Symlink(dir, filepath.Join(dir, "sub", "loop")))

	objs, err := Load([]string{dir, "-"}, strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	if strings.Join(names, ",") != "b,a,ns" {
		t.Fatalf("loaded %v, want b,a,ns", names)
	}
	if objs[2].File != "-" {
		t.Fatalf("stdin file name %q", objs[2].File)
	}

	_, err = Load([]string{filepath.Join(dir, "missing.yaml")}, nil, DefaultLimits)
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file error %v", err)
	}
}
