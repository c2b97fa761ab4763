package apiserverdiff

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/internal/testenv/bundled"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/manifest"
)

// A doc is one document of the corpus.
type doc struct {
	// ID names the document for good: the allow-list and the failure messages use it, and gwctl
	// reports it as the file.
	ID string
	// Source is where it comes from: fixture, render, mutation or builtin (the tricky cases).
	Source  string
	Content map[string]any
}

func (d *doc) apiVersion() string { s, _ := d.Content["apiVersion"].(string); return s }
func (d *doc) kind() string       { s, _ := d.Content["kind"].(string); return s }
func (d *doc) group() string {
	if g, _, ok := strings.Cut(d.apiVersion(), "/"); ok {
		return g
	}
	return ""
}

func (d *doc) meta(key string) string {
	m, _ := d.Content["metadata"].(map[string]any)
	s, _ := m[key].(string)
	return s
}

// object is the document as gwctl reads it, named by its ID.
func (d *doc) object() *manifest.Object {
	return &manifest.Object{APIVersion: d.apiVersion(), Kind: d.kind(), Namespace: d.meta("namespace"), Name: d.meta("name"), Content: d.Content, File: d.ID}
}

func parseDocs(t *testing.T, name string, data []byte) []*manifest.Object {
	t.Helper()
	objs, err := manifest.Parse(name, data, manifest.DefaultLimits)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return objs
}

// fixtureDocs are the upstream API tests' documents derived into testdata/ (testdata/SOURCE.yaml):
// agentgateway's valid and invalid CRD tests and Gateway API's invalid examples. Their expected
// error (_err) is dropped: the server is the judge here.
func fixtureDocs(t *testing.T) []*doc {
	t.Helper()
	root := filepath.Join(testenv.RepoRoot(t), "testdata")
	var files []string
	agw, _ := filepath.Glob(filepath.Join(root, "agentgateway-v1.2.1", "api-tests-testdata", "*.yaml"))
	files = append(files, agw...)
	err := filepath.WalkDir(filepath.Join(root, "gateway-api", "invalid-examples"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 20 {
		t.Fatalf("fixtures under %s: %d files, %v", root, len(files), err)
	}
	sort.Strings(files)
	var out []*doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for _, o := range parseDocs(t, rel, data) {
			delete(o.Content, "_err")
			out = append(out, &doc{ID: "fixture " + filepath.ToSlash(rel) + "#" + strconv.Itoa(o.Doc), Source: "fixture", Content: o.Content})
		}
	}
	return out
}

// combinations lists every set of the bundled catalog's optional groups.
func combinations(t *testing.T) [][]string {
	t.Helper()
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range cat.Optional() {
		names = append(names, g.Name)
	}
	var out [][]string
	for mask := 0; mask < 1<<len(names); mask++ {
		var on []string
		for i, n := range names {
			if mask&(1<<i) != 0 {
				on = append(on, n)
			}
		}
		out = append(out, on)
	}
	return out
}

// renderSet is the --set every bundled render takes (the egress group needs a secret store).
var renderSet = []string{"secretStore.name=secret-store"}

func comboName(on []string) string { return strings.Join(append([]string{"base"}, on...), "+") }

// renderDocs are the objects of every bundled feature combination, each distinct object once
// (named by the first combination that renders it).
func renderDocs(t *testing.T) []*doc {
	t.Helper()
	seen := map[string]bool{}
	var out []*doc
	for _, on := range combinations(t) {
		stream, _ := bundled.Render(t, on, renderSet)
		for _, o := range parseDocs(t, "render", stream) {
			key, _ := json.Marshal(o.Content)
			if seen[string(key)] {
				continue
			}
			seen[string(key)] = true
			out = append(out, &doc{ID: "render " + comboName(on) + " " + o.Kind + " " + o.Namespace + "/" + o.Name, Source: "render", Content: o.Content})
		}
	}
	return out
}

// seedDocs are the valid custom resources of testdata/seeds.yaml, for the kinds no fixture or
// render holds.
func seedDocs(t *testing.T) []*doc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "seeds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*doc
	for _, o := range parseDocs(t, "seeds.yaml", data) {
		out = append(out, &doc{ID: "seed " + o.Kind + " " + o.Name, Source: "seed", Content: o.Content})
	}
	return out
}
