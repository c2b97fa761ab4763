package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/infergw/gwctl/pkg/validate"
)

// writeSchemaList prints the embedded schemas and which of them the options use.
func (o *validateOptions) writeSchemaList() error {
	list, err := validate.ListSchemas(o.opts)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	switch o.output {
	case "json":
		b, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.streams.Out, "%s\n", b)
		return err
	case "text":
		w := tabwriter.NewWriter(o.streams.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "GROUP/VERSION\tKIND\tUPSTREAM\tRELEASE\tUSED\tCONSTRAINTS")
		for _, s := range list {
			use := s.Use
			if use == "" {
				use = "-"
			}
			fmt.Fprintf(w, "%s/%s\t%s\t%s\t%s\t%s\t%d\n", s.Group, s.Version, s.Kind, s.Upstream, s.Release, use, s.Constraints)
		}
		return w.Flush()
	}
	return withCode(ExitUsage, fmt.Errorf("--output %q with --list-schemas: want text or json", o.output))
}
