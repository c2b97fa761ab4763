// Package helm renders Helm charts in-process, client-only, as `helm template` would, with the
// Kubernetes version and API versions always set. It is the only package that imports Helm.
package helm

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
)

// Chart is one chart to render.
type Chart struct {
	// FS and Dir locate the chart's folder (Chart.yaml, values.yaml, templates/, charts/, crds/);
	// or Archive holds the chart as a .tgz (a remote chart from the cache), and Dir names it.
	FS      fs.FS
	Dir     string
	Archive []byte
	// ReleaseName and Namespace are the release's; Helm adds no namespace to templates that omit it.
	ReleaseName string
	Namespace   string
	Values      map[string]any
	// KubeVersion is the cluster version charts see (Helm's library default is v1.20, which fails
	// charts with a kubeVersion constraint).
	KubeVersion string
	// APIVersions are extra group/versions (and group/version/Kind) for .Capabilities.APIVersions,
	// so charts do not silently drop templates for CRDs the platform installs.
	APIVersions []string
	// NoCRDs leaves out crds/ and NoHooks the hook manifests (Kustomize's helmCharts default
	// to no CRDs; skipHooks drops hooks).
	NoCRDs, NoHooks bool
	// UserValues, when set, computes the values from the chart's own defaults (values.yaml),
	// for callers whose merge depends on them (Kustomize's valuesMerge); it replaces Values.
	UserValues func(defaults map[string]any) (map[string]any, error)
}

// NonDeterministic lists template functions whose output changes between renders or differs
// from a live install (lookup returns nothing client-side).
var NonDeterministic = []string{"randAlphaNum", "randAlpha", "randNumeric", "randAscii", "uuidv4", "genCA", "genSelfSignedCert", "genSignedCert", "genPrivateKey", "now", "lookup"}

// Render returns the chart's manifest: CRDs from crds/ first, then templates in Helm's install
// order, then hook manifests (except test hooks), as `helm template --include-crds` prints them.
// warnings lists non-deterministic template functions the chart uses.
func Render(ctx context.Context, c Chart) (manifest string, warnings []string, err error) {
	var ch *chart.Chart
	if c.Archive != nil {
		ch, err = loader.LoadArchive(bytes.NewReader(c.Archive))
	} else {
		var files []*loader.BufferedFile
		if files, err = readChart(c.FS, c.Dir); err != nil {
			return "", nil, err
		}
		ch, err = loader.LoadFiles(files)
	}
	if err != nil {
		return "", nil, fmt.Errorf("load chart %s: %w", c.Dir, err)
	}
	warnings = scan(ch)
	values := c.Values
	if c.UserValues != nil {
		if values, err = c.UserValues(ch.Values); err != nil {
			return "", warnings, err
		}
	}

	kv, err := chartutil.ParseKubeVersion(c.KubeVersion)
	if err != nil {
		return "", nil, fmt.Errorf("kubernetes version %q: %w", c.KubeVersion, err)
	}
	cfg := &action.Configuration{Log: func(string, ...interface{}) {}}
	inst := action.NewInstall(cfg)
	inst.DryRun, inst.DryRunOption, inst.ClientOnly = true, "client", true
	inst.IncludeCRDs, inst.Replace, inst.DisableHooks = !c.NoCRDs, true, c.NoHooks
	inst.ReleaseName, inst.Namespace = c.ReleaseName, c.Namespace
	inst.KubeVersion = kv
	inst.APIVersions = append(chartutil.VersionSet{}, c.APIVersions...)
	rel, err := inst.RunWithContext(ctx, ch, values)
	if err != nil {
		return "", warnings, fmt.Errorf("chart %s: %w", c.Dir, err)
	}
	var b strings.Builder
	b.WriteString(rel.Manifest)
	hooks := append([]*release.Hook(nil), rel.Hooks...)
	sort.SliceStable(hooks, func(i, j int) bool {
		if hooks[i].Weight != hooks[j].Weight {
			return hooks[i].Weight < hooks[j].Weight
		}
		return hooks[i].Path < hooks[j].Path
	})
	for _, h := range hooks {
		if c.NoHooks || isTestHook(h) {
			continue
		}
		fmt.Fprintf(&b, "\n---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return b.String(), warnings, nil
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

// readChart loads every file of the chart folder from fsys, with names relative to the chart.
func readChart(fsys fs.FS, dir string) ([]*loader.BufferedFile, error) {
	var files []*loader.BufferedFile
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		files = append(files, &loader.BufferedFile{Name: path.Clean(rel), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read chart %s: %w", dir, err)
	}
	return files, nil
}

// scan finds non-deterministic functions in the chart's templates and its subcharts'.
func scan(ch *chart.Chart) []string {
	var out []string
	var walk func(*chart.Chart)
	walk = func(c *chart.Chart) {
		for _, t := range c.Templates {
			text := string(t.Data)
			for _, fn := range NonDeterministic {
				if containsCall(text, fn) {
					out = append(out, fmt.Sprintf("%s/%s uses %s: output differs between renders or from a live install", c.Name(), t.Name, fn))
				}
			}
		}
		for _, d := range c.Dependencies() {
			walk(d)
		}
	}
	walk(ch)
	return out
}

// containsCall reports whether fn appears as a word inside a template action.
func containsCall(text, fn string) bool {
	for rest := text; ; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return false
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return false
		}
		action := rest[i+2 : i+j]
		for _, w := range strings.FieldsFunc(action, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			if w == fn {
				return true
			}
		}
		rest = rest[i+j+2:]
	}
}
