package main

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/internal/testenv"

	"github.com/infergw/gwctl/hack/derivation"
)

var refFlag = flag.String("ref", "", "reference folder to re-derive testdata/ from (default: the one testdata/SOURCE.yaml names, when present)")

// TestTestdataIsDerived fails when a file of testdata/ was edited by hand: its sha256 must be the
// one SOURCE.yaml records (checked everywhere), and, where the reference folder is present, make
// testdata must produce exactly the committed files.
func TestTestdataIsDerived(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(t), "testdata")
	m, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{ManifestName: true}
	for _, s := range m.Sets {
		for _, f := range s.Files {
			listed[f.Path] = true
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if err != nil {
				t.Errorf("%v (run make testdata)", err)
				continue
			}
			if got := sum(data); got != f.SHA256 {
				t.Errorf("testdata/%s: sha256 %s, SOURCE.yaml records %s: edited by hand? Change hack/derive and run make testdata instead", f.Path, got, f.SHA256)
			}
			for _, o := range f.From {
				if o.SHA256 == f.SHA256 {
					t.Errorf("testdata/%s is a byte-for-byte copy of %s", f.Path, o.Path)
				}
			}
		}
	}
	committed := map[string][]byte{}
	for _, s := range m.Sets {
		err := filepath.WalkDir(filepath.Join(dir, filepath.FromSlash(s.Dir)), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(rel)
			if !listed[rel] {
				t.Errorf("testdata/%s is not in SOURCE.yaml: derived files come from make testdata only", rel)
			}
			committed[rel], err = os.ReadFile(p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	committed[ManifestName], _ = os.ReadFile(filepath.Join(dir, ManifestName))

	ref := *refFlag
	if ref == "" {
		ref = filepath.Join(testenv.RepoRoot(t), filepath.FromSlash(m.Reference))
	}
	if _, err := os.Stat(ref); err != nil {
		t.Logf("reference folder %s not present: checked the recorded sha256 only", ref)
		return
	}
	derived, err := derive(ref, m.Reference)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range derived {
		names = append(names, name)
	}
	for name := range committed {
		if _, ok := derived[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if !bytes.Equal(derived[name], committed[name]) {
			t.Errorf("testdata/%s differs from what make testdata derives from %s: run make testdata", name, ref)
		}
	}
	t.Logf("%d files re-derived from %s", len(derived), ref)
}

func TestStripSchemaKeepsFacts(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"prose of a schema and its properties",
			"description: d\ntitle: T\nexample: e\ntype: object\nproperties:\n  a: {type: string, description: d, maxLength: 3, pattern: '^x'}\n",
			"type: object\nproperties:\n  a: {type: string, maxLength: 3, pattern: '^x'}\n"},
		{"a field named description stays",
			"properties:\n  description: {type: string, description: prose}\nrequired: [description]\n",
			"properties:\n  description: {type: string}\nrequired: [description]\n"},
		{"rules and their messages stay; vendor hints go",
			"x-kubernetes-validations:\n- {rule: self > 0, message: must be positive}\nx-stainless-naming: n\nx-kubernetes-list-type: map\n",
			"x-kubernetes-validations:\n- {rule: self > 0, message: must be positive}\nx-kubernetes-list-type: map\n"},
		{"subschemas of every keyword",
			"anyOf: [{description: a, type: string}]\nitems: {description: i, enum: [a, b]}\nadditionalProperties: {description: x, default: 1}\nnot: {title: n, const: 2}\n",
			"anyOf: [{type: string}]\nitems: {enum: [a, b]}\nadditionalProperties: {default: 1}\nnot: {const: 2}\n"},
		{"values are not schemas",
			"enum: [{description: kept}]\ndefault: {description: kept}\n",
			"enum: [{description: kept}]\ndefault: {description: kept}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in, want yaml.Node
			if err := yaml.Unmarshal([]byte(tc.in), &in); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			derivation.StripSchemaNode(in.Content[0])
			if p := derivation.Differ(in.Content[0], want.Content[0], ""); p != "" {
				out, _ := yaml.Marshal(in.Content[0])
				t.Errorf("differs at %s:\n%s", p, out)
			}
			// The walker of decoded JSON drops the same keys.
			var orig, w any
			_ = yaml.Unmarshal([]byte(tc.in), &orig)
			_ = want.Content[0].Decode(&w)
			if a, b := yamlString(t, derivation.StripSchema(orig)), yamlString(t, w); a != b {
				t.Errorf("JSON walker:\n%s\nwant\n%s", a, b)
			}
		})
	}
}

func yamlString(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
