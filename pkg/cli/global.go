package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/resolve"
)

// globalOptions are the flags every command shares: where the platform config and catalog are,
// and overrides.
type globalOptions struct {
	streams Streams
	environ []string

	configFile  string
	catalogDir  string
	set         []string
	enable      []string
	disable     []string
	kubeVersion string
	// strictConfig refuses config keys gwctl does not own.
	strictConfig bool
	// chartsDir and lockFile locate the remote chart cache and its lock ("" for the defaults
	// at the platform repo's root).
	chartsDir, lockFile string
}

func (g *globalOptions) addFlags(c *cobra.Command) {
	f := c.PersistentFlags()
	f.StringVarP(&g.configFile, "config", "c", "", "platform config file (env GWCTL_CONFIG); none: the bundled example platform's defaults")
	f.StringVar(&g.catalogDir, "catalog", "", "catalog directory replacing the bundled one (env GWCTL_CATALOG, or catalog: in the config)")
	f.StringArrayVar(&g.set, "set", nil, "override a config key, key=value (repeatable; beats env and file)")
	f.StringSliceVar(&g.enable, "enable", nil, "turn features on (comma-separated or repeated)")
	f.StringSliceVar(&g.disable, "disable", nil, "turn features off (comma-separated or repeated)")
	f.StringVar(&g.kubeVersion, "kube-version", "", "Kubernetes version charts see (default from kubernetesVersion in the config, v1.34.0)")
	f.BoolVar(&g.strictConfig, "strict-config", false, "refuse config keys gwctl does not own (by default they pass through as knobs for catalogs and other tools)")
	f.StringVar(&g.chartsDir, "charts-dir", "", "remote chart cache (env GWCTL_CHARTS_DIR; default .gwctl/charts at the platform repo's root)")
	f.StringVar(&g.lockFile, "lock", "", "lock file of remote charts (env GWCTL_LOCK; default gwctl.lock at the platform repo's root)")
}

func (g *globalOptions) env(name string) string {
	for _, kv := range g.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// loaded is the catalog, platform config and resolution every command starts from.
type loaded struct {
	catalog *catalog.Catalog
	config  *platform.Config
	result  *resolve.Result
	// unmet are enabled groups whose conditions do not hold, with why (loadFor only): they
	// cannot render.
	unmet map[string]string
	// charts is where remote charts are read from.
	charts *charts.Store
}

func (g *globalOptions) load() (*loaded, error) { return g.loadFor(nil) }

// configPath is the platform config file: --config, else GWCTL_CONFIG.
func (g *globalOptions) configPath() string {
	if g.configFile != "" {
		return g.configFile
	}
	return g.env(platform.EnvConfig)
}

// chartStore is the remote chart cache and lock: the flags, else the environment, else
// .gwctl/charts and gwctl.lock at the platform repo's root: catalog.yaml's repoRoot when it
// names one (a platform in a folder of a larger repository keeps its own lock), else
// charts.Root of the catalog folder (the working directory's for the bundled catalog).
func (g *globalOptions) chartStore(cat *catalog.Catalog) *charts.Store {
	dir, lock := g.chartsDir, g.lockFile
	if dir == "" {
		dir = g.env("GWCTL_CHARTS_DIR")
	}
	if lock == "" {
		lock = g.env("GWCTL_LOCK")
	}
	if dir == "" || lock == "" {
		var root string
		switch {
		case cat.Source == "bundled":
			root = charts.Root(".")
		case filepath.Clean(cat.RootSource) != filepath.Clean(cat.Source): // catalog.yaml's repoRoot
			if root, _ = filepath.Abs(cat.RootSource); root == "" {
				root = cat.RootSource
			}
		default:
			root = charts.Root(cat.Source)
		}
		if dir == "" {
			dir = filepath.Join(root, filepath.FromSlash(charts.CacheDir))
		}
		if lock == "" {
			lock = filepath.Join(root, charts.LockFileName)
		}
	}
	return charts.NewStore(dir, lock)
}

// loadCatalog reads the catalog: --catalog, else GWCTL_CATALOG, else catalog: in the config
// (relative to the file), else the bundled one.
func (g *globalOptions) loadCatalog() (*catalog.Catalog, error) {
	configFile := g.configPath()
	catDir := g.catalogDir
	if catDir == "" {
		catDir = g.env("GWCTL_CATALOG")
	}
	if catDir == "" && configFile != "" {
		// catalog: in the config file, relative to the file.
		if doc, err := platform.PeekString(configFile, "catalog"); err != nil {
			return nil, err
		} else if doc != "" {
			catDir = doc
			if !filepath.IsAbs(catDir) {
				catDir = filepath.Join(filepath.Dir(configFile), catDir)
			}
		}
	}
	var cat *catalog.Catalog
	var err error
	if catDir == "" {
		cat, err = catalog.Load(groups.FS, "bundled")
	} else {
		if st, serr := os.Stat(catDir); serr != nil || !st.IsDir() {
			return nil, withCode(ExitUsage, &os.PathError{Op: "catalog", Path: catDir, Err: os.ErrNotExist})
		}
		cat, err = catalog.LoadDir(catDir)
	}
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	return cat, nil
}

// loadFor is load for a command that works on the groups only (and what they require): an
// enabled group whose conditions do not hold is reported in loaded.unmet instead of failing.
func (g *globalOptions) loadFor(only []string) (*loaded, error) {
	cat, err := g.loadCatalog()
	if err != nil {
		return nil, err
	}
	configFile := g.configPath()
	set := g.set
	if g.kubeVersion != "" {
		set = append(append([]string{}, set...), "kubernetesVersion="+g.kubeVersion)
	}
	cfg, res, err := resolve.Platform(cat, platform.Options{
		File: configFile, Environ: g.environ,
		Set: set, Enable: g.enable, Disable: g.disable, Strict: g.strictConfig,
	})
	if cfg == nil {
		return nil, err
	}
	var re *resolve.Error
	if len(only) > 0 && errors.As(err, &re) && re.Partial != nil {
		// Only the conditions of the asked groups and of what they require must hold.
		need := resolve.Closure(cat, only)
		for name := range re.Unmet {
			if need[name] {
				return nil, err
			}
		}
		g.warn(re.Partial.Warnings)
		return &loaded{catalog: cat, config: cfg, result: re.Partial, unmet: re.Unmet, charts: g.chartStore(cat)}, nil
	}
	if err != nil {
		// A likely typo in the config may be why the resolution failed: say it first.
		g.warn(cfg.Warnings)
		return nil, err
	}
	g.warn(res.Warnings)
	return &loaded{catalog: cat, config: cfg, result: res, charts: g.chartStore(cat)}, nil
}

// warn prints warnings to stderr; they never change the exit code.
func (g *globalOptions) warn(warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(g.streams.Err, "warning: %s\n", w)
	}
}
