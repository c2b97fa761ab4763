package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/pkg/version"
)

func newVersion(s Streams) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "version",
		Short:   "Print gwctl's version",
		Example: "  gwctl version\n  gwctl version -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			info := version.Get()
			switch output {
			case "text":
				fmt.Fprintf(s.Out, "gwctl %s\n", info)
			case "json":
				b, _ := json.MarshalIndent(info, "", "  ")
				fmt.Fprintf(s.Out, "%s\n", b)
			default:
				return withCode(ExitUsage, fmt.Errorf("--output %q: want text or json", output))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return c
}
