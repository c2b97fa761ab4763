package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// Located is a kustomization built for validation (gwctl validate -k), its objects read back
// as manifests positioned where the fix is: an object the build left as a file of the tree
// wrote it is that file's object, with its lines; one a transformer or patch changed is named
// by the kustomization file, and Position moves a finding on a field the build kept into the
// source file; a generated one points at its generator's entry.
type Located struct {
	// File is the kustomization file, as messages name it.
	File    string
	Objects []*manifest.Object
	// changed maps an object the build changed to the document it came from.
	changed map[finding.Resource]changedObject
	k       Kustomization
	sources map[string][]*manifest.Object
}

type changedObject struct{ built, source *manifest.Object }

// Locate reads the objects of k's build (Build with Origins) as manifests, positioned in their
// source files; input labels them (manifest.Object.Input): one build is one closed unit for
// duplicates, as a render is.
func Locate(k Kustomization, objs []*Object, input string) (*Located, error) {
	display := k.display()
	file, _ := kustomizationFile(k.FS, path.Clean(k.Dir))
	l := &Located{File: display(file), changed: map[finding.Resource]changedObject{}, k: k, sources: map[string][]*manifest.Object{}}
	for _, o := range objs {
		y, err := o.YAML()
		if err != nil {
			return nil, err
		}
		built, err := manifest.Parse(l.File, y, manifest.DefaultLimits)
		if err != nil || len(built) != 1 {
			return nil, fmt.Errorf("%s: reading back %s %s: %v", l.File, o.Kind, o.Name, err)
		}
		m := l.place(built[0], o.origin)
		m.Input = input
		l.Objects = append(l.Objects, m)
	}
	return l, nil
}

// source reads and parses a file of the tree once (a path in k.FS).
func (l *Located) source(p string) (string, []*manifest.Object) {
	name := l.k.display()(p)
	docs, ok := l.sources[p]
	if !ok {
		if data, err := fs.ReadFile(l.k.FS, p); err == nil {
			docs, _ = manifest.Parse(name, data, manifest.DefaultLimits)
		}
		l.sources[p] = docs
	}
	return name, docs
}

// place returns the object findings about built should name: its source document when the
// build left it as written, else an object named by the kustomization (or its generator).
func (l *Located) place(built *manifest.Object, origin *resource.Origin) *manifest.Object {
	bare := &manifest.Object{APIVersion: built.APIVersion, Kind: built.Kind, Namespace: built.Namespace,
		Name: built.Name, Content: built.Content, File: l.File}
	dir := path.Clean(l.k.Dir)
	switch {
	case origin == nil || origin.Repo != "":
		return bare
	case origin.ConfiguredIn != "":
		// Generated: point at the generator's entry.
		bare.File, bare.Pos = l.generatorPos(path.Join(dir, origin.ConfiguredIn), origin.ConfiguredBy.Kind, built.Name)
		return bare
	}
	_, docs := l.source(path.Join(dir, origin.Path))
	var same []*manifest.Object
	for _, d := range docs {
		if d.APIVersion == built.APIVersion && d.Kind == built.Kind {
			if reflect.DeepEqual(d.Content, built.Content) {
				return d
			}
			same = append(same, d)
		}
	}
	if src := sourceOf(same, built.Name); src != nil {
		l.changed[bare.Resource()] = changedObject{built: bare, source: src}
	}
	return bare
}

// sourceOf picks the document a changed object came from: the only one of its kind in the
// file, else the one whose name the built name contains (a prefix or suffix was added).
func sourceOf(same []*manifest.Object, name string) *manifest.Object {
	if len(same) == 1 {
		return same[0]
	}
	var best *manifest.Object
	for _, d := range same {
		if d.Name != "" && strings.Contains(name, d.Name) && (best == nil || len(d.Name) > len(best.Name)) {
			best = d
		}
	}
	return best
}

// generatorPos is the kustomization file (a path in k.FS) that generated an object and where
// it names the generator's entry (its name, before the hash suffix), or the file's start.
func (l *Located) generatorPos(p, kind, name string) (string, manifest.Pos) {
	file := l.k.display()(p)
	data, err := fs.ReadFile(l.k.FS, p)
	if err != nil {
		return file, manifest.Pos{}
	}
	doc, err := manifest.ParseMapping(file, data, manifest.DefaultLimits)
	if err != nil {
		return file, manifest.Pos{}
	}
	key := map[string]string{"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}[kind]
	list, _ := doc.Content[key].([]any)
	for i, e := range list {
		m, _ := e.(map[string]any)
		if n, _ := m["name"].(string); n != "" && (n == name || strings.HasPrefix(name, n+"-")) {
			return file, doc.FieldPos(fmt.Sprintf("%s[%d].name", key, i))
		}
	}
	if key != "" {
		if pos := doc.FieldPos(key); pos.Line > 0 {
			return file, pos
		}
	}
	return file, manifest.Pos{}
}

// Position moves findings on changed objects whose field the build left as the source file
// wrote it to that file's line and column: the fix is there. Others stay on the kustomization.
func (l *Located) Position(fs []finding.Finding) {
	for i := range fs {
		f := &fs[i]
		c, ok := l.changed[f.Resource]
		if !ok || f.File != l.File || f.Field == "" {
			continue
		}
		got, inBuilt := manifest.ValueAt(c.built.Content, f.Field)
		was, inSource := manifest.ValueAt(c.source.Content, f.Field)
		if inBuilt != inSource || !reflect.DeepEqual(got, was) {
			continue
		}
		p := c.source.FieldPos(f.Field)
		f.File, f.Line, f.Column = c.source.File, p.Line, p.Column
	}
}

// trackOrigins adds buildMetadata: [originAnnotations] to a kustomization file, so the build
// records each resource's source file. A block mapping gets one line appended (so positions in
// the file stay as written); a file that already has buildMetadata is rewritten.
func trackOrigins(data []byte) ([]byte, bool, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, false, err // krusty would refuse it too; say it here
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return data, false, nil // krusty reports it
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "buildMetadata" {
			continue
		}
		list := m.Content[i+1]
		for _, e := range list.Content {
			if e.Value == "originAnnotations" {
				return data, false, nil
			}
		}
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "originAnnotations"})
		out, err := yaml.Marshal(&root)
		return out, true, err
	}
	if m.Style&yaml.FlowStyle != 0 || m.Column != 1 {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"},
			&yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "originAnnotations"}}})
		out, err := yaml.Marshal(&root)
		return out, true, err
	}
	out := bytes.TrimRight(data, "\n")
	out = append(out, "\nbuildMetadata: [originAnnotations]\n"...)
	return out, true, nil
}

// trackOriginsIn turns on origin tracking in the kustomization file of dir, in the in-memory
// copy krusty builds (the repo's file is not touched).
func trackOriginsIn(mem filesys.FileSystem, dir string) error {
	for _, n := range manifest.KustomizationFiles {
		p := path.Join(dir, n)
		if !mem.Exists(p) {
			continue
		}
		data, err := mem.ReadFile(p)
		if err != nil {
			return err
		}
		out, _, err := trackOrigins(data)
		if err != nil {
			return err
		}
		return mem.WriteFile(p, out)
	}
	return nil
}

// takeOrigin removes the origin annotation from r and returns what it said.
func takeOrigin(r *resource.Resource) (*resource.Origin, error) {
	origin, err := r.GetOrigin()
	if err != nil {
		return nil, err
	}
	return origin, r.SetOrigin(nil)
}
