package render

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/kustomize/kyaml/yaml/merge2"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/render/helm"
)

// helmChart is one helmCharts entry of a kustomization, located: a chart folder in the catalog
// FS (Kustomize's chartHome) or a remote chart served from the chart cache.
type helmChart struct {
	k     *kustomization
	index int
	spec  types.HelmChart
	// dir is the local chart folder; remote is set instead when the chart is not in the repo.
	dir    string
	remote *charts.Ref
}

func (h *helmChart) key(field string) string {
	k := fmt.Sprintf("helmCharts[%d]", h.index)
	if field != "" {
		k += "." + field
	}
	return k
}

// helmCharts locates every helmCharts entry of k as Kustomize does: a chart at
// chartHome/name (chartHome/name-version/name when repo and version are set) is used as it is;
// otherwise a chart with a repo is remote and must pin its version.
func (k *kustomization) helmCharts(fsys fs.FS, display func(string) string) ([]*helmChart, error) {
	home := types.HelmDefaultHome
	if k.k.HelmGlobals != nil && k.k.HelmGlobals.ChartHome != "" {
		home = k.k.HelmGlobals.ChartHome
	}
	var out []*helmChart
	for i, spec := range k.k.HelmCharts {
		h := &helmChart{k: k, index: i, spec: spec}
		if spec.Name == "" {
			return nil, k.at(h.key(""), "a helmCharts entry needs name")
		}
		if spec.NameTemplate != "" && spec.ReleaseName == "" {
			return nil, k.at(h.key("nameTemplate"), "nameTemplate is not supported: set releaseName (gwctl renders with a fixed release name)")
		}
		dir := path.Join(home, spec.Name)
		if spec.Repo != "" && spec.Version != "" {
			dir = path.Join(home, spec.Name+"-"+spec.Version, spec.Name)
		}
		p, err := k.local(k.dir, dir, display)
		if err == nil {
			if _, serr := fs.Stat(fsys, path.Join(p, "Chart.yaml")); serr == nil {
				h.dir = p
				out = append(out, h)
				continue
			}
		}
		if spec.Repo == "" {
			return nil, k.at(h.key("name"), fmt.Sprintf("no repo and no chart at %s (Kustomize's chartHome)", path.Join(k.dir, dir)))
		}
		ref, err := charts.ParseRef(spec.Repo, spec.Name, spec.Version)
		if fe, ok := err.(*charts.FieldError); ok {
			field := map[string]string{"repo": "repo", "chart": "name", "version": "version"}[fe.Field]
			if field == "version" && spec.Version == "" {
				field = ""
			}
			return nil, k.at(h.key(field), fe.Msg)
		}
		if err != nil {
			return nil, k.at(h.key(""), err.Error())
		}
		h.remote = &ref
		out = append(out, h)
	}
	return out, nil
}

// kustomizeEnv is what expanding helmCharts needs from a render.
type kustomizeEnv struct {
	fsys        fs.FS
	charts      *charts.Store
	kubeVersion string
	apiVersions []string
	display     func(string) string
}

// expandHelmCharts renders the helmCharts of every kustomization in ks through the in-process
// Helm (krusty's own generator runs a helm binary) and rewrites each kustomization in dst (a
// copy of the catalog FS's root at to) to list the output as resources instead.
func expandHelmCharts(ctx context.Context, env kustomizeEnv, ks []*kustomization, root string, dst filesys.FileSystem, to string) ([]string, error) {
	var warnings []string
	for _, k := range ks {
		hs, err := k.helmCharts(env.fsys, env.display)
		if err != nil {
			return nil, err
		}
		if len(hs) == 0 && k.k.HelmGlobals == nil {
			continue
		}
		resources, _ := k.doc.Content["resources"].([]any)
		rel := relTo(root, k.dir)
		for _, h := range hs {
			out, warns, err := h.render(ctx, env)
			warnings = append(warnings, warns...)
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(stripComments(out)) == "" {
				continue
			}
			name := fmt.Sprintf("gwctl-helmchart-%d-%s.yaml", h.index, h.spec.Name)
			for dst.Exists(path.Join(to, rel, name)) {
				name = "_" + name
			}
			if err := dst.WriteFile(path.Join(to, rel, name), []byte(out)); err != nil {
				return nil, err
			}
			resources = append(resources, name)
		}
		content := map[string]any{}
		for key, v := range k.doc.Content {
			content[key] = v
		}
		delete(content, "helmCharts")
		delete(content, "helmGlobals")
		if len(resources) > 0 {
			content["resources"] = resources
		}
		b, err := yaml.Marshal(content)
		if err != nil {
			return nil, err
		}
		if err := dst.WriteFile(path.Join(to, rel, path.Base(k.file)), b); err != nil {
			return nil, err
		}
	}
	return warnings, nil
}

// render renders one helmCharts entry as `kustomize build --enable-helm` would, with the
// release name defaulting to the chart's name (Kustomize's --generate-name is random).
func (h *helmChart) render(ctx context.Context, env kustomizeEnv) (string, []string, error) {
	where := fmt.Sprintf("%s: %s (%s)", env.display(h.k.file), h.key(""), h.spec.Name)
	c := helm.Chart{
		ReleaseName: h.spec.ReleaseName, Namespace: h.spec.Namespace,
		KubeVersion: env.kubeVersion, APIVersions: append(append([]string{}, env.apiVersions...), h.spec.ApiVersions...),
		NoCRDs: !h.spec.IncludeCRDs, NoHooks: h.spec.SkipHooks,
	}
	if c.ReleaseName == "" {
		c.ReleaseName = h.spec.Name
	}
	if h.spec.KubeVersion != "" {
		c.KubeVersion = h.spec.KubeVersion
	}
	if h.remote != nil {
		if env.charts == nil {
			return "", nil, fmt.Errorf("%s: chart %s: no chart cache (run from gwctl, which reads gwctl.lock)", where, h.remote)
		}
		data, err := env.charts.Archive(*h.remote)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", where, err)
		}
		c.Archive, c.Dir = data, h.remote.String()
	} else {
		c.FS, c.Dir = env.fsys, h.dir
	}
	valuesFile, err := h.read(env, "valuesFile", h.spec.ValuesFile)
	if err != nil {
		return "", nil, err
	}
	var additional [][]byte
	for i, f := range h.spec.AdditionalValuesFiles {
		b, err := h.read(env, fmt.Sprintf("additionalValuesFiles[%d]", i), f)
		if err != nil {
			return "", nil, err
		}
		additional = append(additional, b)
	}
	c.UserValues = func(defaults map[string]any) (map[string]any, error) {
		v, err := kustomizeValues(defaults, valuesFile, h.spec.ValuesInline, h.spec.ValuesMerge, additional)
		if err != nil {
			return nil, fmt.Errorf("%s: values: %w", where, err)
		}
		return v, nil
	}
	out, warns, err := helm.Render(ctx, c)
	if err != nil {
		return "", warns, fmt.Errorf("%s: %w", where, err)
	}
	return out, warns, nil
}

// read reads a values file named relative to the kustomization, which it must not leave (as
// Kustomize's root-only load restriction requires); "" reads nothing.
func (h *helmChart) read(env kustomizeEnv, field, name string) ([]byte, error) {
	if name == "" {
		return nil, nil
	}
	p, err := h.k.local(h.k.dir, name, env.display)
	if err != nil {
		return nil, h.k.at(h.key(field), err.Error())
	}
	b, err := fs.ReadFile(env.fsys, p)
	if err != nil {
		return nil, h.k.at(h.key(field), fmt.Sprintf("%q: %v", name, err))
	}
	return b, nil
}

// kustomizeValues computes a helmCharts entry's values as Kustomize and Helm do: the values
// file (default: the chart's values.yaml) and valuesInline combined by valuesMerge (override:
// inline wins; merge: the file wins; replace: inline alone), then each additional values file
// merged on top as helm -f does. The result goes through YAML→JSON as helm reads values files.
func kustomizeValues(defaults map[string]any, valuesFile []byte, inline map[string]any, mode string, additional [][]byte) (map[string]any, error) {
	base := deepCopy(defaults).(map[string]any)
	if valuesFile != nil {
		base = map[string]any{}
		if err := sigsyaml.Unmarshal(valuesFile, &base); err != nil {
			return nil, fmt.Errorf("valuesFile: %w", err)
		}
	}
	out := base
	switch mode {
	case "", "override", "merge":
		if len(inline) == 0 {
			break
		}
		file, err := kyaml.FromMap(base)
		if err != nil {
			return nil, err
		}
		in, err := kyaml.FromMap(inline)
		if err != nil {
			return nil, err
		}
		var merged *kyaml.RNode
		if mode == "merge" {
			merged, err = merge2.Merge(file, in.Copy(), kyaml.MergeOptions{})
		} else {
			merged, err = merge2.Merge(in, file.Copy(), kyaml.MergeOptions{})
		}
		if err != nil {
			return nil, err
		}
		if out, err = merged.Map(); err != nil {
			return nil, err
		}
	case "replace":
		if len(inline) > 0 {
			out = inline
		}
	default:
		return nil, fmt.Errorf("valuesMerge %q: want merge, override or replace", mode)
	}
	for i, b := range additional {
		var m map[string]any
		if err := sigsyaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("additionalValuesFiles[%d]: %w", i, err)
		}
		merge(out, m)
	}
	b, err := sigsyaml.Marshal(out)
	if err != nil {
		return nil, err
	}
	final := map[string]any{}
	return final, sigsyaml.Unmarshal(b, &final)
}
