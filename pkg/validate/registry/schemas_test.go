package registry

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/validate/schema"
	"github.com/infergw/gwctl/schemas"
)

// loadSet reads one embedded set into a registry, lazily or whole.
func loadSet(t *testing.T, s schemas.Set, lazy bool) *Registry {
	t.Helper()
	r := New()
	if err := r.LoadCRDFS(s.FS(), EmbeddedLabel+"/"+s.Dir, lazy); err != nil {
		t.Fatal(err)
	}
	return r
}

func embeddedSet(t *testing.T, name, version string) schemas.Set {
	t.Helper()
	for _, s := range schemas.Versions(name) {
		if s.Version == version {
			return s
		}
	}
	t.Fatalf("no embedded %s %s", name, version)
	return schemas.Set{}
}

// TestEmbeddedSchemasAreUpstreams: the embedded schemas (make schemas) and the upstream CRDs
// tests read (make testdata) are two derivations of the same published CRDs: every version of
// every kind must decode to the same schema.
func TestEmbeddedSchemasAreUpstreams(t *testing.T) {
	root := filepath.Join(testenv.RepoRoot(t), "testdata")
	for _, tc := range []struct {
		set      schemas.Set
		upstream string
	}{
		{embeddedSet(t, schemas.Agentgateway, "v1.2.1"), filepath.Join(root, "agentgateway-v1.2.1")},
		{embeddedSet(t, schemas.InferenceExtension, "v1.6.0"), filepath.Join(root, "gie")},
		{embeddedSet(t, schemas.GatewayAPI, "v1.6.3"), filepath.Join(root, "gateway-api", "crd", "standard")},
	} {
		up := New()
		files, _ := filepath.Glob(filepath.Join(tc.upstream, "*.yaml"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := up.loadCRDFile(f, data); err != nil {
				t.Fatal(err)
			}
		}
		ours := loadSet(t, tc.set, false)
		if len(up.Kinds) == 0 {
			t.Fatalf("%s: no CRDs", tc.upstream)
		}
		for k, u := range up.Kinds {
			o := ours.Kinds[k]
			if o == nil {
				t.Errorf("%s: %s is not embedded", tc.set.Dir, k)
				continue
			}
			up, _ := u.Schema()
			op, _ := o.Schema()
			if !reflect.DeepEqual(up, op) || u.Namespaced != o.Namespaced {
				t.Errorf("%s: %s differs from the upstream CRD in %s", tc.set.Dir, k, tc.upstream)
			}
		}
		t.Logf("%s: %d kind versions equal to upstream's", tc.set.Dir, len(up.Kinds))
	}
}

// TestLazySchemasMatchEager: the embedded CRDs, read on the first lookup of their kind (as
// SOURCE.yaml names it) with their version schemas decoded on first use, give the same versions
// and schemas as reading them whole.
func TestLazySchemasMatchEager(t *testing.T) {
	n := 0
	for _, s := range schemas.Sets() {
		lazy, eager := New(), loadSet(t, s, false)
		lazy.AddSet(s)
		for k := range eager.Kinds {
			lazy.Lookup(k)
		}
		if len(lazy.pending) > 0 {
			t.Errorf("%s: %d files never read: SOURCE.yaml names other kinds than they hold", s.Dir, len(lazy.pending))
		}
		if len(lazy.Kinds) != len(eager.Kinds) || len(lazy.Kinds) == 0 {
			t.Fatalf("%s: %d versions read lazily, %d eagerly", s.Dir, len(lazy.Kinds), len(eager.Kinds))
		}
		for k, e := range eager.Kinds {
			l := lazy.Kinds[k]
			if l == nil {
				t.Fatalf("%s: %s missing when read lazily", s.Dir, k)
			}
			lp, err := l.Schema()
			if err != nil {
				t.Fatal(err)
			}
			ep, _ := e.Schema()
			if l.Namespaced != e.Namespaced || l.Source != e.Source || !reflect.DeepEqual(lp, ep) {
				t.Errorf("%s: read lazily differs from read whole", k)
			}
			n++
		}
	}
	t.Logf("%d kind versions", n)
}

// TestEmbeddedSchemasAreStructural: every version of every embedded CRD compiles with the
// structural checks the API server runs on a CRD (Compile skips them for embedded schemas on
// each run, relying on this test).
func TestEmbeddedSchemasAreStructural(t *testing.T) {
	n := 0
	for _, s := range schemas.Sets() {
		r := loadSet(t, s, false) // read whole: not marked embedded, so Compile checks
		for k, c := range r.Kinds {
			if c.Embedded {
				t.Fatalf("%s %s: read whole yet marked embedded", s.Dir, k)
			}
			if err := c.Compile(); err != nil {
				t.Errorf("%s %s: %v", s.Dir, k, err)
			}
			n++
		}
	}
	if n < 30 {
		t.Fatalf("only %d kind versions compiled", n)
	}
	t.Logf("%d kind versions", n)
}

// TestCheckedRulesAreCurrent: pkg/validate/schema/celchecked.bin holds every rule of every
// embedded CRD version checked as a run checks it (the same environment, names as a run reads
// them); -update rewrites it. It fails when a schema, cel-go or the API server's environment
// changed since the file was made.
func TestCheckedRulesAreCurrent(t *testing.T) {
	all := map[string][]byte{}
	for _, s := range schemas.Sets() {
		r := New()
		r.AddSet(s)
		for _, f := range s.Files {
			for _, ver := range r.Versions(f.Group, f.Kind) {
				c := r.Lookup(GVK{f.Group, ver, f.Kind})
				if c == nil || !c.Embedded {
					t.Fatalf("%s %s/%s %s: not read as an embedded schema", s.Dir, f.Group, f.Kind, ver)
				}
				rules, err := schema.CheckRules(c)
				if err != nil {
					t.Fatalf("%s %s %s: %v", s.Dir, f.Kind, ver, err)
				}
				maps.Copy(all, rules)
			}
		}
	}
	if len(all) < 500 {
		t.Fatalf("only %d rules checked", len(all))
	}
	got := schema.EncodeCheckedRules(all)
	file := filepath.Join("..", "schema", "celchecked.bin")
	if *testenv.Update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not current (%d rules): go test ./pkg/validate/registry -run TestCheckedRulesAreCurrent -update", file, len(all))
	}
	t.Logf("%d rules, %d bytes", len(all), len(got))
}
