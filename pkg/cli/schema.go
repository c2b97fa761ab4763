package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/platform"
)

func newSchema(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "schema platform|group|catalog|lock",
		Short: "Print the JSON Schema of the platform config, a group.yaml, catalog.yaml or gwctl.lock",
		Example: `  gwctl schema platform > platform.schema.json   # for editor completion
  gwctl schema group`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"platform", "group", "catalog", "lock"},
		RunE: func(c *cobra.Command, args []string) error {
			switch args[0] {
			case "platform":
				l, err := g.load()
				if err != nil {
					return err
				}
				var features []string
				for _, gr := range l.catalog.Optional() {
					features = append(features, gr.Feature)
				}
				fmt.Fprintln(g.streams.Out, platform.SchemaJSON(features))
			case "group":
				fmt.Fprintln(g.streams.Out, catalog.GroupSchemaJSON)
			case "catalog":
				fmt.Fprintln(g.streams.Out, catalog.CatalogSchemaJSON)
			case "lock":
				fmt.Fprintln(g.streams.Out, charts.LockSchemaJSON)
			default:
				return withCode(ExitUsage, fmt.Errorf("unknown schema %q: want platform, group, catalog or lock", args[0]))
			}
			return nil
		},
	}
}
