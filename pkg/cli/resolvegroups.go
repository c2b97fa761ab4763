package cli

import (
	"bytes"
	"fmt"
	"os"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/pkg/atomicfile"
	"github.com/infergw/gwctl/pkg/platform"
)

type resolveGroupsOptions struct {
	*globalOptions
	out    string
	check  bool
	output string
}

func newResolveGroups(g *globalOptions) *cobra.Command {
	o := &resolveGroupsOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "resolve-groups",
		Short: "Resolve feature flags into the enabled groups and write groups.generated.yaml",
		Long: `Resolves the enabled set of feature groups: core groups, features.<name> flags and defaults, knob
tests (enabledBy, on any config key, gwctl's or another tool's), and the closure of each group's
requires, in dependency order. A cycle, an unknown group, a required group whose flag is
explicitly off, or an unmet condition (egress without a secret store) is an error that names the
chain (exit 2); an unmet condition of severity warning is printed to stderr (and listed under
warnings in -o json) and the run goes on.

With --out it writes the groups file atomically, in the shape Argo CD ApplicationSets read with
a git files generator: the catalog's header (groupsFile.header), then every group in table order,
one flow-style line each, enabled a quoted string. --check compares exactly what would be
written instead of writing and exits 1 with a diff when the file is stale. Without --out (and no
output: in the config) the result goes to stdout.`,
		Example: `  gwctl resolve-groups                                   # bundled platform, to stdout
  gwctl resolve-groups -c environments/dev/config.yaml --out clusters/dev/groups.generated.yaml
  gwctl resolve-groups -c environments/dev/config.yaml --out clusters/dev/groups.generated.yaml --check
  gwctl resolve-groups --enable mcp -o text              # why each group is on or off`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.run() },
	}
	c.Flags().StringVar(&o.out, "out", "", "groups file to write (or check); default: output: in the config, else stdout")
	c.Flags().BoolVar(&o.check, "check", false, "exit 1 with a diff if the groups file is not what would be written")
	c.Flags().StringVarP(&o.output, "output", "o", "yaml", "stdout format: yaml (the groups file), json or text")
	return c
}

func (o *resolveGroupsOptions) run() error {
	l, err := o.load()
	if err != nil {
		return err
	}
	out := o.out
	if out == "" && l.config.Source != "" {
		if p, err := platform.PeekString(l.config.Source, "output"); err != nil {
			return err
		} else {
			out = p
		}
	}
	file := l.result.GroupsFile()
	if o.check {
		if out == "" {
			return withCode(ExitUsage, fmt.Errorf("--check needs the groups file: --out PATH (or output: in the config)"))
		}
		have, err := os.ReadFile(out)
		if err != nil && !os.IsNotExist(err) {
			return withCode(ExitUsage, fmt.Errorf("read %s: %w", out, err))
		}
		if bytes.Equal(have, file) {
			fmt.Fprintf(o.streams.Err, "%s is up to date\n", out)
			return nil
		}
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(have)), B: difflib.SplitLines(string(file)),
			FromFile: out + " (committed)", ToFile: out + " (resolved)", Context: 2,
		})
		fmt.Fprint(o.streams.Out, diff)
		return withCode(ExitFindings, fmt.Errorf("%s is stale: run gwctl resolve-groups --out %s and commit it", out, out))
	}
	if out != "" {
		if err := atomicfile.Write(out, file, 0o644); err != nil {
			return withCode(ExitUsage, err)
		}
		fmt.Fprintf(o.streams.Err, "wrote %s\n", out)
		if o.output == "yaml" {
			return nil
		}
	}
	switch o.output {
	case "yaml":
		_, err = o.streams.Out.Write(file)
	case "json":
		var b []byte
		b, err = l.result.JSON()
		if err == nil {
			_, err = o.streams.Out.Write(b)
		}
	case "text":
		_, err = o.streams.Out.Write(l.result.Text())
	default:
		return withCode(ExitUsage, fmt.Errorf("--output %q: want yaml, json or text", o.output))
	}
	return err
}
