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
	must(os.Symlink(dir, filepath.Join(dir, "sub", "loop.yaml")))
	must(os.Symlink(dir, filepath.Join(dir, "sub", "loop")))
	// A mounted ConfigMap: the file is a symlink into a hidden timestamped directory.
	must(os.MkdirAll(filepath.Join(dir, "cm", "..2026_11_25"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "cm", "..2026_11_25", "resources.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mounted}\n"), 0o644))
	must(os.Symlink("..2026_11_25", filepath.Join(dir, "cm", "..data")))
	must(os.Symlink("..data/resources.yaml", filepath.Join(dir, "cm", "resources.yaml")))

	objs, err := Load([]string{dir, "-"}, strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	if strings.Join(names, ",") != "b,mounted,a,ns" {
		t.Fatalf("loaded %v, want b,mounted,a,ns", names)
	}
	if objs[3].File != "-" {
		t.Fatalf("stdin file name %q", objs[2].File)
	}

	_, err = Load([]string{filepath.Join(dir, "missing.yaml")}, nil, DefaultLimits)
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file error %v", err)
	}
}

// TestReadLimit: a file or stdin over MaxFileBytes is refused by name, one at the limit is read
// whole, and with no limit everything is read.
func TestReadLimit(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
	path := filepath.Join(t.TempDir(), "a.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		max  int64
		fail bool
	}{{int64(len(doc)) - 1, true}, {int64(len(doc)), false}, {0, false}} {
		for _, src := range []string{path, "-"} {
			objs, err := ReadFile(src, strings.NewReader(doc), Limits{MaxFileBytes: c.max})
			if c.fail {
				if err == nil || !strings.Contains(err.Error(), "over the limit") || !strings.HasPrefix(err.Error(), src) {
					t.Errorf("%s with limit %d: error %v, want one over the limit naming the input", src, c.max, err)
				}
				continue
			}
			if err != nil || len(objs) != 1 || objs[0].Name != "a" {
				t.Errorf("%s with limit %d: %v, %v", src, c.max, objs, err)
			}
		}
	}
}
