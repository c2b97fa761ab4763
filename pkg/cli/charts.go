package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/render"
)

type chartsPullOptions struct {
	*globalOptions
	check          bool
	plainHTTP      bool
	registryConfig string
	timeout        time.Duration
	kustomizations []string
}

func newCharts(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "charts",
		Short: "Fetch the remote Helm charts the catalog uses into the chart cache, with a lock file",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newChartsPull(g))
	return c
}

func newChartsPull(g *globalOptions) *cobra.Command {
	o := &chartsPullOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "pull",
		Short: "Fetch every remote chart into the cache and write the lock file",
		Long: `Fetches every remote chart the catalog can render (each group's repo/chart/version charts and
the helmCharts of the kustomizations the groups build, enabled or not: one lock serves every
environment) through the Helm SDK, from Helm repositories (index.yaml) and OCI registries. Each
archive is checked (the repository's digest, the chart's name and version in Chart.yaml) and
stored in the cache (.gwctl/charts/ at the platform repo's root, --charts-dir), and the lock file
(gwctl.lock, --lock) lists each chart's repo, name, version and sha256 digest, sorted, written
atomically and only when it changes.

A chart already cached with its locked digest is not fetched again: pulling twice is a no-op. A
locked version whose archive changed upstream is an error, not an update.

gwctl render reads remote charts from the cache only: it never reaches the network, and a chart
missing from the cache or the lock, or whose archive differs from the lock, is an error naming
the group and chart.

-k DIR adds the helmCharts of a kustomization outside the catalog (a repo's own overlays) and
of every base it reaches, within the platform repo's root.

--check compares the lock file with the charts the catalog uses, offline, and exits 1 listing
what differs (a chart used but not locked, a locked chart nothing uses).

The platform repo's root is catalog.yaml's repoRoot when it names one, else the nearest folder,
from the catalog folder up, holding gwctl.lock, .gwctl/ or .git (the catalog folder when none
does).`,
		Example: `  gwctl charts pull -c environments/dev/config.yaml
  gwctl charts pull -c environments/dev/config.yaml --check     # in CI: exit 1 when gwctl.lock is stale
  gwctl charts pull --catalog catalog/ --plain-http              # a registry on localhost`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.run(c) },
	}
	c.Flags().BoolVar(&o.check, "check", false, "exit 1 listing the differences if the lock file is not what the catalog uses (offline)")
	c.Flags().BoolVar(&o.plainHTTP, "plain-http", false, "talk to OCI registries over http:// (as helm's --plain-http)")
	c.Flags().StringVar(&o.registryConfig, "registry-config", "", "OCI registry credentials file (default: Helm's, as written by helm registry login)")
	c.Flags().DurationVar(&o.timeout, "timeout", 2*time.Minute, "time limit of each request")
	c.Flags().StringArrayVarP(&o.kustomizations, "kustomization", "k", nil, "also the helmCharts of this kustomization folder and the ones it reaches (repeatable; as gwctl validate -k builds them)")
	return c
}

func (o *chartsPullOptions) run(c *cobra.Command) error {
	cat, err := o.loadCatalog()
	if err != nil {
		return err
	}
	uses, err := render.RemoteCharts(cat)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	for _, dir := range o.kustomizations {
		k, err := repoKustomization(dir)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		more, err := k.RemoteCharts()
		if err != nil {
			return withCode(ExitUsage, err)
		}
		uses = append(uses, more...)
	}
	store := o.chartStore(cat)
	refs := make([]charts.Ref, len(uses))
	for i, u := range uses {
		refs[i] = u.Ref
	}
	if o.check {
		diff, err := charts.Check(refs, store)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		if len(diff) == 0 {
			fmt.Fprintf(o.streams.Err, "%s is up to date\n", store.LockFile)
			return nil
		}
		fmt.Fprintf(o.streams.Out, "%s\n", strings.Join(diff, "\n"))
		return withCode(ExitFindings, fmt.Errorf("%s is stale: run gwctl charts pull and commit it", store.LockFile))
	}
	res, err := charts.Pull(c.Context(), refs, charts.PullOptions{
		Store: store, PlainHTTP: o.plainHTTP, RegistryConfig: o.registryConfig, Timeout: o.timeout, Log: o.streams.Err,
	})
	if err != nil {
		return withCode(ExitUsage, err)
	}
	switch {
	case len(refs) == 0 && !res.Wrote:
		fmt.Fprintf(o.streams.Err, "no remote charts\n")
	case res.Wrote:
		fmt.Fprintf(o.streams.Err, "wrote %s (%d charts)\n", store.LockFile, len(res.Lock.Charts))
	default:
		fmt.Fprintf(o.streams.Err, "%s is up to date (%d charts)\n", store.LockFile, len(res.Lock.Charts))
	}
	return nil
}

// repoKustomization is the kustomization in dir, bounded by the platform repo's root
// (charts.Root): its bases may be anywhere in the repo.
func repoKustomization(dir string) (render.Kustomization, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return render.Kustomization{}, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return render.Kustomization{}, &os.PathError{Op: "kustomization", Path: dir, Err: os.ErrNotExist}
	}
	root := charts.Root(abs)
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return render.Kustomization{}, err
	}
	return render.Kustomization{
		FS: os.DirFS(root), Root: ".", Dir: filepath.ToSlash(rel),
		Display: func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) },
	}, nil
}
