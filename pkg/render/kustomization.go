package render

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// Kustomization is a kustomization built in-process (gwctl validate -k), its objects read back
// as manifests positioned where the fix is: an object the build left as a file of the tree
// wrote it is that file's object, with its lines; one a transformer or patch changed is named
// by the kustomization file, and Position moves a finding on a field the build kept into the
// source file; a generated one points at its generator's entry.
type Kustomization struct {
	// Dir is the directory as given; File its kustomization file.
	Dir, File string
	Objects   []*manifest.Object
	// changed maps an object the build changed to the document it came from.
	changed map[finding.Resource]changedObject
}

type changedObject struct{ built, source *manifest.Object }

// NoKustomizationError is a directory that cannot be read or holds no kustomization file: an
// input error.
type NoKustomizationError struct{ Dir, Msg string }

func (e *NoKustomizationError) Error() string { return e.Dir + ": " + e.Msg }

// BuildKustomization builds the kustomization in dir as `kustomize build` would (files within
// each kustomization's root, no plugins, no Helm), without reaching the network: a remote base
// or URL is refused before the build, at its entry (*KustomizeError). input labels the objects
// (manifest.Object.Input): they are one closed unit for duplicates.
func BuildKustomization(dir, input string) (*Kustomization, error) {
	disk := filesys.MakeFsOnDisk()
	if st, err := os.Stat(dir); err != nil {
		return nil, &NoKustomizationError{Dir: dir, Msg: "cannot read: " + unwrapPath(err).Error()}
	} else if !st.IsDir() {
		return nil, &NoKustomizationError{Dir: dir, Msg: "not a directory (-k takes the directory of a kustomization)"}
	}
	file := ""
	for _, n := range manifest.KustomizationFiles {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			file = p
			break
		}
	}
	if file == "" {
		return nil, &NoKustomizationError{Dir: dir, Msg: "no kustomization.yaml, kustomization.yml or Kustomization in the directory"}
	}
	k := &Kustomization{Dir: dir, File: file, changed: map[finding.Resource]changedObject{}}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	withOrigins, injected, err := trackOrigins(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	over := overlay{FileSystem: disk, files: map[string][]byte{filepath.Join(abs, filepath.Base(file)): withOrigins}}
	if real, err := filepath.EvalSymlinks(filepath.Join(abs, filepath.Base(file))); err == nil {
		over.files[real] = withOrigins
	}
	rm, err := runKrusty(over, abs)
	if err != nil {
		return nil, k.relative(abs, err)
	}
	sources := map[string][]*manifest.Object{}
	for _, r := range rm.Resources() {
		origin, err := r.GetOrigin()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if injected {
			if err := r.SetOrigin(nil); err != nil {
				return nil, err
			}
		}
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		objs, err := manifest.Parse(file, y, manifest.DefaultLimits)
		if err != nil || len(objs) != 1 {
			return nil, fmt.Errorf("%s: reading back %s %s: %v", file, r.GetKind(), r.GetName(), err)
		}
		built := objs[0]
		o := k.place(built, origin, sources)
		o.Input = input
		k.Objects = append(k.Objects, o)
	}
	return k, nil
}

// place returns the object findings about built should name: its source document when the
// build left it as written, else an object named by the kustomization (or its generator).
func (k *Kustomization) place(built *manifest.Object, origin *resource.Origin, sources map[string][]*manifest.Object) *manifest.Object {
	bare := &manifest.Object{APIVersion: built.APIVersion, Kind: built.Kind, Namespace: built.Namespace,
		Name: built.Name, Content: built.Content, File: k.File}
	switch {
	case origin == nil || origin.Repo != "":
		return bare
	case origin.ConfiguredIn != "":
		// Generated: point at the generator's entry.
		bare.File = filepath.Join(k.Dir, filepath.FromSlash(origin.ConfiguredIn))
		bare.Pos = generatorPos(bare.File, origin.ConfiguredBy.Kind, built.Name)
		return bare
	}
	file := filepath.Join(k.Dir, filepath.FromSlash(origin.Path))
	docs, ok := sources[file]
	if !ok {
		if data, err := os.ReadFile(file); err == nil {
			docs, _ = manifest.Parse(file, data, manifest.DefaultLimits)
		}
		sources[file] = docs
	}
	var same []*manifest.Object
	for _, d := range docs {
		if d.APIVersion == built.APIVersion && d.Kind == built.Kind {
			if equal(d.Content, built.Content) {
				return d
			}
			same = append(same, d)
		}
	}
	if src := sourceOf(same, built.Name); src != nil {
		k.changed[bare.Resource()] = changedObject{built: bare, source: src}
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

// generatorPos is where the kustomization file names the generator entry of a generated object
// (its name, before the hash suffix), or the file's start.
func generatorPos(file, kind, name string) manifest.Pos {
	data, err := os.ReadFile(file)
	if err != nil {
		return manifest.Pos{}
	}
	doc, err := manifest.ParseMapping(file, data, manifest.DefaultLimits)
	if err != nil {
		return manifest.Pos{}
	}
	key := map[string]string{"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}[kind]
	l, _ := doc.Content[key].([]any)
	for i, e := range l {
		m, _ := e.(map[string]any)
		if n, _ := m["name"].(string); n != "" && (n == name || strings.HasPrefix(name, n+"-")) {
			return doc.FieldPos(fmt.Sprintf("%s[%d].name", key, i))
		}
	}
	if key != "" {
		if p := doc.FieldPos(key); p.Line > 0 {
			return p
		}
	}
	return manifest.Pos{}
}

// Position moves findings on changed objects whose field the build left as the source file
// wrote it to that file's line and column: the fix is there. Others stay on the kustomization.
func (k *Kustomization) Position(fs []finding.Finding) {
	for i := range fs {
		f := &fs[i]
		c, ok := k.changed[f.Resource]
		if !ok || f.File != k.File || f.Field == "" {
			continue
		}
		got, inBuilt := valueAt(c.built.Content, f.Field)
		was, inSource := valueAt(c.source.Content, f.Field)
		if inBuilt != inSource || !equal(got, was) {
			continue
		}
		p := c.source.FieldPos(f.Field)
		f.File, f.Line, f.Column = c.source.File, p.Line, p.Column
	}
}

// relative names files in a build error as the user wrote the directory, not absolutely.
func (k *Kustomization) relative(abs string, err error) error {
	var ke *KustomizeError
	if errors.As(err, &ke) {
		e := *ke
		if rel, rerr := filepath.Rel(abs, e.File); rerr == nil {
			e.File = filepath.Join(k.Dir, rel)
		}
		return &e
	}
	msg := strings.ReplaceAll(err.Error(), abs+string(filepath.Separator), k.Dir+string(filepath.Separator))
	if wd, werr := os.Getwd(); werr == nil {
		msg = strings.ReplaceAll(msg, wd+string(filepath.Separator), "")
	}
	return &BuildError{File: k.File, Msg: msg}
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// BuildError is kustomize's own refusal of a kustomization.
type BuildError struct{ File, Msg string }

func (e *BuildError) Error() string { return e.File + ": kustomize: " + e.Msg }

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

// overlay is a filesystem that answers some files from memory: the kustomization file with
// origin tracking added.
type overlay struct {
	filesys.FileSystem
	files map[string][]byte
}

func (o overlay) ReadFile(p string) ([]byte, error) {
	if d, ok := o.files[p]; ok {
		return d, nil
	}
	return o.FileSystem.ReadFile(p)
}
