package cli

import (
	"strconv"

	"github.com/infergw/gwctl/pkg/validate"
)

// writeSchemaList prints the embedded schemas and which of them the options use.
func (o *validateOptions) writeSchemaList() error {
	list, err := validate.ListSchemas(o.opts)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	rows := make([][]string, len(list))
	for i, s := range list {
		use := s.Use
		if use == "" {
			use = "-"
		}
		rows[i] = []string{s.Group + "/" + s.Version, s.Kind, s.Upstream, s.Release, use, strconv.Itoa(s.Constraints)}
	}
	return o.writeListing("--list-schemas", list, []string{"GROUP/VERSION", "KIND", "UPSTREAM", "RELEASE", "USED", "CONSTRAINTS"}, rows)
}
