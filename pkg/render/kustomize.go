package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/infergw/gwctl/pkg/docschema"
	"github.com/infergw/gwctl/pkg/manifest"
)

// kustomization is one kustomization file a group builds: its root or one it reaches through
// resources, components or bases.
type kustomization struct {
	// dir is the kustomization's folder and file its file, both in the catalog FS.
	dir, file string
	doc       *manifest.Object
	k         types.Kustomization
}

// at is an error at a field of the kustomization, with file:line:column.
func (k *kustomization) at(key, msg string) error {
	return docschema.Errors{{File: k.doc.File, Pos: k.doc.FieldPos(key), Key: key, Msg: msg}}
}

// kustomizationFile is the kustomization file of a folder, under any name Kustomize accepts.
func kustomizationFile(fsys fs.FS, dir string) (string, bool) {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, n)
		if st, err := fs.Stat(fsys, p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	return "", false
}

// kustomizations reads the kustomization in start and every one it reaches through folders in
// resources, components and bases, each once, start first. display turns a path of fsys into
// the name messages use. An entry that leaves root (a folder holding start; "." for all of
// fsys), or that is not in fsys, is an error here, before krusty sees it: krusty would take it
// for a remote base and run git.
func kustomizations(fsys fs.FS, root, start string, display func(string) string) ([]*kustomization, error) {
	var out []*kustomization
	seen := map[string]bool{}
	var visit func(dir string) error
	visit = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		file, ok := kustomizationFile(fsys, dir)
		if !ok {
			return fmt.Errorf("%s: no kustomization file (kustomization.yaml)", display(dir))
		}
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return err
		}
		doc, err := manifest.ParseMapping(display(file), data, manifest.DefaultLimits)
		if err != nil {
			return err
		}
		k := &kustomization{dir: dir, file: file, doc: doc}
		b, err := json.Marshal(doc.Content)
		if err == nil {
			err = json.Unmarshal(b, &k.k)
		}
		if err != nil {
			return fmt.Errorf("%s: not a kustomization: %w", display(file), err)
		}
		out = append(out, k)
		for _, f := range []struct {
			key     string
			entries []string
		}{{"resources", k.k.Resources}, {"components", k.k.Components}, {"bases", k.k.Bases}} { //nolint:staticcheck // krusty still reads bases
			for i, e := range f.entries {
				key := fmt.Sprintf("%s[%d]", f.key, i)
				p, err := k.local(root, e, display)
				if err != nil {
					return k.at(key, err.Error())
				}
				st, err := fs.Stat(fsys, p)
				switch {
				case err != nil && remote(e):
					return k.at(key, fmt.Sprintf("remote resource %q: gwctl builds kustomizations offline (no git, no HTTP): copy it into this kustomization's folder and list the copy", e))
				case err != nil:
					return k.at(key, fmt.Sprintf("%q: no such file or folder in %s", e, display(root)))
				case st.IsDir():
					if err := visit(p); err != nil {
						return err
					}
				}
			}
		}
		return k.checkFiles()
	}
	if err := visit(start); err != nil {
		return nil, err
	}
	return out, nil
}

// local is a kustomization's relative entry as a path in the FS; it must stay inside root (the
// group's folder, which render builds alone, or the kustomization's own folder for the files
// it loads, as Kustomize's load restrictions require).
func (k *kustomization) local(root, entry string, display func(string) string) (string, error) {
	if path.IsAbs(entry) {
		return "", fmt.Errorf("%q: an absolute path; write it relative to the kustomization", entry)
	}
	p := path.Join(k.dir, entry)
	if !inside(root, p) {
		if remote(entry) {
			return "", fmt.Errorf("remote resource %q: gwctl builds kustomizations offline (no git, no HTTP): copy it into this kustomization's folder and list the copy", entry)
		}
		return "", fmt.Errorf("%q is outside %s, which gwctl builds alone", entry, display(root))
	}
	return p, nil
}

// inside reports whether the clean path p is root or under it ("." holds every relative path).
func inside(root, p string) bool {
	if root == "." {
		return p != ".." && !strings.HasPrefix(p, "../")
	}
	return p == root || strings.HasPrefix(p, root+"/")
}

// relTo is p relative to root, both clean paths with p inside root ("" for root itself).
func relTo(root, p string) string {
	if root == "." || root == p {
		if root == p {
			return ""
		}
		return p
	}
	return strings.TrimPrefix(p, root+"/")
}

// remote reports whether a kustomization entry names something Kustomize would fetch: a URL, a
// git remote (git@host:…, git::…) or host/org/repo with a dotted host.
func remote(e string) bool {
	if strings.Contains(e, "://") || strings.HasPrefix(e, "git@") || strings.HasPrefix(e, "git::") || strings.Contains(e, "?ref=") {
		return true
	}
	first, _, _ := strings.Cut(e, "/")
	return strings.Contains(first, ".") && first != "." && first != ".." && strings.Contains(e, "/")
}

// checkFiles refuses file fields that name an http(s) URL, which krusty's loader would fetch.
func (k *kustomization) checkFiles() error {
	var errs []error
	check := func(key, v string) {
		if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
			errs = append(errs, k.at(key, fmt.Sprintf("remote file %q: gwctl builds kustomizations offline (no HTTP): copy it into this kustomization's folder", v)))
		}
	}
	lists := []struct {
		key     string
		entries []string
	}{{"crds", k.k.Crds}, {"configurations", k.k.Configurations}, {"generators", k.k.Generators},
		{"transformers", k.k.Transformers}, {"validators", k.k.Validators}}
	for _, l := range lists {
		for i, e := range l.entries {
			check(fmt.Sprintf("%s[%d]", l.key, i), e)
		}
	}
	for i, p := range k.k.PatchesStrategicMerge { //nolint:staticcheck // krusty still reads it
		check(fmt.Sprintf("patchesStrategicMerge[%d]", i), string(p))
	}
	for i, p := range k.k.Patches {
		check(fmt.Sprintf("patches[%d].path", i), p.Path)
	}
	for i, p := range k.k.PatchesJson6902 { //nolint:staticcheck // krusty still reads it
		check(fmt.Sprintf("patchesJson6902[%d].path", i), p.Path)
	}
	for i, r := range k.k.Replacements {
		check(fmt.Sprintf("replacements[%d].path", i), r.Path)
	}
	check("openapi.path", k.k.OpenAPI["path"])
	gens := func(key string, i int, s types.KvPairSources) {
		for j, f := range s.FileSources {
			_, file, ok := strings.Cut(f, "=")
			if !ok {
				file = f
			}
			check(fmt.Sprintf("%s[%d].files[%d]", key, i, j), file)
		}
		for j, f := range s.EnvSources {
			check(fmt.Sprintf("%s[%d].envs[%d]", key, i, j), f)
		}
		check(fmt.Sprintf("%s[%d].env", key, i), s.EnvSource)
	}
	for i, g := range k.k.ConfigMapGenerator {
		gens("configMapGenerator", i, g.KvPairSources)
	}
	for i, g := range k.k.SecretGenerator {
		gens("secretGenerator", i, g.KvPairSources)
	}
	if len(k.k.HelmChartInflationGenerator) > 0 {
		errs = append(errs, k.at("helmChartInflationGenerator", "deprecated by Kustomize and not supported: write helmCharts"))
	}
	return errors.Join(errs...)
}
