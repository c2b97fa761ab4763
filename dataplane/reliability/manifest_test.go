package reliability

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate"
)

// Hostile manifests given to gwctl validate's reader (pkg/manifest) and validator: each is
// refused with a clear *manifest.Error, or read and validated, in bounded time and memory.
func TestHostileManifests(t *testing.T) {
	laughs := "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i := 1; i < 12; i++ {
		laughs += "a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [" + strings.Repeat("*a"+strconv.Itoa(i-1)+",", 8) + "*a" + strconv.Itoa(i-1) + "]\n"
	}
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 1<<20)
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	for _, tc := range []struct {
		name  string
		data  string
		limit time.Duration
	}{
		{"billion laughs", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n" + indent(laughs), 2 * time.Second},
		{"alias bomb in a sequence", "- &a [x,x,x,x,x,x,x,x,x,x]\n- &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n- &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n- &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n- &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n- &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n- &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", 2 * time.Second},
		{"deep flow nesting", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), 2 * time.Second},
		{"deep block nesting", deepBlock(5000), 2 * time.Second},
		{"many documents", strings.Repeat("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", 100001), 5 * time.Second},
		{"binary junk", string(junk), 2 * time.Second},
		{"NUL bytes", "apiVersion: v1\x00\nkind: ConfigMap\n", time.Second},
		{"invalid UTF-8", "apiVersion: v1\nkind: \xff\xfe\nmetadata: {name: x}\n", time.Second},
		{"huge scalar", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: \"" + strings.Repeat("x", 8<<20) + "\"}\n", 5 * time.Second},
		{"merge-key loop", "a: &a {<<: *a}\n", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, took, alloc, err := measure(func() ([]*manifest.Object, error) {
				return manifest.Parse("hostile.yaml", []byte(tc.data), manifest.DefaultLimits)
			})
			t.Logf("%d objects, err=%.120v, %s, %d MiB allocated", len(objs), err, took.Round(time.Millisecond), alloc>>20)
			if limit := tc.limit * testenv.RaceSlowdown; took > limit {
				t.Fatalf("took %s (limit %s)", took, limit)
			}
			if alloc > 1<<30 {
				t.Fatalf("allocated %d MiB", alloc>>20)
			}
			if err != nil {
				var me *manifest.Error
				if !errors.As(err, &me) || !strings.Contains(err.Error(), "hostile.yaml") {
					t.Fatalf("not a clear manifest error naming the file: %T %v", err, err)
				}
				return
			}
			v, verr := validate.New(validate.Options{IgnoreMissingSchemas: true})
			if verr != nil {
				t.Fatal(verr)
			}
			start := time.Now()
			_ = v.Validate(context.Background(), objs)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("validate took %s", d)
			}
		})
	}

	t.Run("file over the size limit", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "big.yaml")
		if err := os.WriteFile(p, []byte("a: \""+strings.Repeat("x", 1<<20)+"\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := manifest.ReadFile(p, nil, manifest.Limits{MaxFileBytes: 512 << 10, MaxDepth: 128, MaxNodes: 1000, MaxDocuments: 10})
		var me *manifest.Error
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "big.yaml") {
			t.Fatalf("%T %v", err, err)
		}
	})

	t.Run("symlink loops in input directories", func(t *testing.T) {
		dir := t.TempDir()
		must(t, os.WriteFile(filepath.Join(dir, "ok.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"), 0o644))
		must(t, os.Symlink(".", filepath.Join(dir, "self")))
		must(t, os.Symlink(dir, filepath.Join(dir, "parent")))
		must(t, os.Mkdir(filepath.Join(dir, "a"), 0o755))
		must(t, os.Symlink(filepath.Join(dir, "b"), filepath.Join(dir, "a", "to-b")))
		must(t, os.Mkdir(filepath.Join(dir, "b"), 0o755))
		must(t, os.Symlink(filepath.Join(dir, "a"), filepath.Join(dir, "b", "to-a")))
		must(t, os.Symlink("loop2.yaml", filepath.Join(dir, "loop1.yaml")))
		must(t, os.Symlink("loop1.yaml", filepath.Join(dir, "loop2.yaml")))
		done := make(chan struct{})
		var objs []*manifest.Object
		var err error
		go func() {
			defer close(done)
			objs, err = manifest.Load([]string{dir}, nil, manifest.DefaultLimits)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("loading a directory with symlink loops did not end")
		}
		t.Logf("%d objects, err=%v", len(objs), err)
		if err == nil && len(objs) != 1 {
			t.Fatalf("read %d objects, want the one real file once", len(objs))
		}
		if err != nil {
			var me *manifest.Error
			if !errors.As(err, &me) || !strings.Contains(err.Error(), "loop") {
				t.Fatalf("not a clear error naming the loop: %v", err)
			}
		}
		// Named directly, a looping symlink is a clear error.
		_, err = manifest.Load([]string{filepath.Join(dir, "loop1.yaml")}, nil, manifest.DefaultLimits)
		var me *manifest.Error
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "loop1.yaml") {
			t.Fatalf("a looping symlink named directly: %T %v", err, err)
		}
	})
}

func measure(f func() ([]*manifest.Object, error)) ([]*manifest.Object, time.Duration, uint64, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	objs, err := f()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return objs, took, after.TotalAlloc - before.TotalAlloc, err
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

func deepBlock(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("k:\n")
	}
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
