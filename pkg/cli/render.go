package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/resolve"
)

type renderOptions struct {
	*globalOptions
	only, skip string
	groups     []string
	outputDir  string
}

func newRender(g *globalOptions) *cobra.Command {
	o := &renderOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "render",
		Short: "Render the enabled groups into one ordered YAML stream",
		Long: `Renders every enabled group in-process (Helm charts through the Helm SDK, client-only, with the
Kubernetes version and API versions set; Kustomize through krusty), then orders the objects for
kubectl apply: CRDs, Namespaces, built-in kinds in Helm's install order, custom resources by
group and kind, admission webhooks and policies last. Output is byte-for-byte identical across
runs. No helm or kustomize binary is needed.

The dataplane's ConfigMap (dataplane-resources) carries the gateway resources of the same render,
so what is applied and what the dataplane serves cannot drift.`,
		Example: `  gwctl render | kubectl apply -f -
  gwctl render --only crds | kubectl apply --server-side -f - && \
    kubectl wait --for=condition=Established crd --all && \
    gwctl render --skip crds | kubectl apply -f -
  gwctl render --enable egress,mcp --set secretStore.name=vault --group egress
  gwctl render -c environments/dev/config.yaml --output-dir rendered/`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.run(c) },
	}
	c.Flags().StringVar(&o.only, "only", "", "only this kind of object: crds")
	c.Flags().StringVar(&o.skip, "skip", "", "leave out this kind of object: crds")
	c.Flags().StringSliceVar(&o.groups, "group", nil, "only these groups' objects (the dataplane ConfigMap still reflects every enabled group)")
	c.Flags().StringVar(&o.outputDir, "output-dir", "", "write one file per group into this directory (atomically) instead of stdout")
	return c
}

func (o *renderOptions) run(c *cobra.Command) error {
	f := render.Filter{Groups: o.groups}
	for flag, v := range map[string]string{"--only": o.only, "--skip": o.skip} {
		if v != "" && v != "crds" {
			return withCode(ExitUsage, fmt.Errorf("%s %q: the only value is crds", flag, v))
		}
	}
	f.OnlyCRDs, f.SkipCRDs = o.only == "crds", o.skip == "crds"
	if f.OnlyCRDs && f.SkipCRDs {
		return withCode(ExitUsage, fmt.Errorf("--only crds and --skip crds exclude each other"))
	}
	l, err := o.loadFor(o.groups)
	if err != nil {
		return err
	}
	enabled := map[string]bool{}
	for _, g := range l.result.Order {
		enabled[g.Name] = true
	}
	for _, g := range o.groups {
		if _, ok := l.catalog.Group(g); !ok {
			return withCode(ExitUsage, fmt.Errorf("--group %s: no such group", g))
		}
		if !enabled[g] {
			return withCode(ExitUsage, fmt.Errorf("--group %s: the group is not enabled (gwctl resolve-groups -o text says why)", g))
		}
	}
	skip := map[string]bool{}
	for name := range l.unmet {
		skip[name] = true
	}
	res, err := render.Render(c.Context(), render.Options{Catalog: l.catalog, Config: l.config, Groups: l.result.Order,
		KeepGoing: len(o.groups) > 0, Skip: skip, Charts: l.charts})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.streams.Err, "warning: %s\n", w)
	}
	// Groups that cannot render block only the asked groups that are or require them.
	left := map[string]string{}
	for name, why := range l.unmet {
		left[name] = why
	}
	need := resolve.Closure(l.catalog, o.groups)
	for _, fe := range res.Failed {
		if need[fe.Group] {
			return fe
		}
		left[fe.Group] = fe.Error()
	}
	objs := res.Select(f)
	if len(left) > 0 {
		names := make([]string, 0, len(left))
		for name := range left {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, obj := range objs {
			if obj.IsGatewayResources() {
				why := make([]string, len(names))
				for i, name := range names {
					why[i] = left[name]
				}
				return withCode(ExitUsage, fmt.Errorf("group %q: its ConfigMap %s/%s carries the gateway resources of every enabled group, and not all can render: %s",
					obj.Group, obj.Namespace, obj.Name, strings.Join(why, "; ")))
			}
		}
		for _, name := range names {
			fmt.Fprintf(o.streams.Err, "warning: left out (--group %s does not need it): %s\n", strings.Join(o.groups, ","), left[name])
		}
	}
	if o.outputDir != "" {
		files, err := render.WriteDir(o.outputDir, objs)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		fmt.Fprintf(o.streams.Err, "wrote %s\n", strings.Join(files, ", "))
		return nil
	}
	out, err := render.Stream(objs)
	if err != nil {
		return err
	}
	_, err = o.streams.Out.Write(out)
	return err
}
