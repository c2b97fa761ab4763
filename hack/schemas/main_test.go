package main

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/schemas"

	"github.com/infergw/gwctl/hack/derivation"
)

var refFlag = flag.String("ref", "", "reference folder to re-derive schemas/ from (default: the one schemas/SOURCE.yaml names, when present)")

// TestSchemasAreDerived fails when a file of schemas/ was edited by hand: its sha256 must be the
// one SOURCE.yaml records (checked everywhere), and every set whose source is on this machine
// (the reference folder; a module in the module cache, never downloaded here) must re-derive to
// exactly the committed files and record.
func TestSchemasAreDerived(t *testing.T) {
	root := testenv.RepoRoot(t)
	dir := filepath.Join(root, "schemas")
	data, err := os.ReadFile(filepath.Join(dir, schemas.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := schemas.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Sets, schemas.Sets()) {
		t.Error("schemas.Sets() differs from schemas/SOURCE.yaml")
	}
	listed := map[string]bool{}
	for _, s := range m.Sets {
		for _, f := range s.Files {
			listed[f.Path] = true
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if err != nil {
				t.Errorf("%v (run make schemas)", err)
				continue
			}
			if got := sum(data); got != f.SHA256 {
				t.Errorf("schemas/%s: sha256 %s, SOURCE.yaml records %s: edited by hand? Change hack/schemas and run make schemas instead", f.Path, got, f.SHA256)
			}
			if f.From.SHA256 == f.SHA256 {
				t.Errorf("schemas/%s is a byte-for-byte copy of %s", f.Path, f.From.Path)
			}
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasSuffix(rel, ".go") || rel == schemas.ManifestName {
			return nil
		}
		if !listed[rel] {
			t.Errorf("schemas/%s is not in SOURCE.yaml: derived files come from make schemas only", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	ref := *refFlag
	if ref == "" {
		ref = filepath.Join(root, filepath.FromSlash(m.Reference))
	}
	l := locator{ref: ref, offline: true}
	files := map[string][]byte{}
	var derived []schemas.Set
	complete := true
	for _, s := range sources {
		set, err := deriveSet(l, s, files)
		if errors.Is(err, errUnavailable) {
			t.Logf("%s %s not re-derived (%v): checked the recorded sha256 only", s.Name, s.Version, err)
			complete = false
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		derived = append(derived, set)
		var recorded *schemas.Set
		for i := range m.Sets {
			if m.Sets[i].Name == set.Name && m.Sets[i].Version == set.Version {
				recorded = &m.Sets[i]
			}
		}
		if recorded == nil || !reflect.DeepEqual(*recorded, set) {
			t.Errorf("%s: SOURCE.yaml does not record what make schemas derives (a new version of the source?): run make schemas", set.Dir)
			continue
		}
		for _, f := range set.Files {
			got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if !bytes.Equal(got, files[f.Path]) {
				t.Errorf("schemas/%s differs from what make schemas derives: run make schemas", f.Path)
			}
		}
		t.Logf("%s re-derived: %d files", set.Dir, len(set.Files))
	}
	if complete {
		want, err := encodeManifest(&schemas.Manifest{Kind: kind, Reference: m.Reference, Sets: derived})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, data) {
			t.Error("schemas/SOURCE.yaml differs from what make schemas writes: run make schemas")
		}
	}
}

func TestStripSchemaKeepsFacts(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"prose of a schema and its properties",
			"description: d\ntitle: T\nexample: e\ntype: object\nproperties:\n  a: {type: string, description: d, maxLength: 3, pattern: '^x'}\n",
			"type: object\nproperties:\n  a: {type: string, maxLength: 3, pattern: '^x'}\n"},
		{"a field named description stays",
			"properties:\n  description: {type: string, description: prose}\nrequired: [description]\n",
			"properties:\n  description: {type: string}\nrequired: [description]\n"},
		{"rules and their messages stay",
			"x-kubernetes-validations:\n- {rule: self > 0, message: must be positive}\nx-kubernetes-list-type: map\n",
			"x-kubernetes-validations:\n- {rule: self > 0, message: must be positive}\nx-kubernetes-list-type: map\n"},
		{"subschemas of every keyword",
			"anyOf: [{description: a, type: string}]\nitems: {description: i, enum: [a, b]}\nadditionalProperties: {description: x, default: 1}\nnot: {title: n, format: date}\n",
			"anyOf: [{type: string}]\nitems: {enum: [a, b]}\nadditionalProperties: {default: 1}\nnot: {format: date}\n"},
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
		})
	}
}

// TestCompactKeepsValues: one-line mappings and lists read back as the same values, whatever
// characters their scalars hold.
func TestCompactKeepsValues(t *testing.T) {
	in := "a: {pattern: '^(a|b),[c]: #d$', x: 'it''s', y: \"q\\\"\", z: '', n: '1', t: 'true'}\nb: [x, 'y: z', '- w', '{v}']\nc:\n  rule: |\n    self.a\n    && self.b\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(in), &doc); err != nil {
		t.Fatal(err)
	}
	out, err := writeDocument(&doc)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	_ = yaml.Unmarshal(out, &got)
	_ = yaml.Unmarshal([]byte(in), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reads back as %v, want %v:\n%s", got, want, out)
	}
	if !strings.Contains(string(out), "b: [") {
		t.Errorf("short list not on one line:\n%s", out)
	}
}
