package resolve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/infergw/gwctl/pkg/platform"
)

// GroupsFile renders the committed groups file: the catalog's header, then a flat YAML list,
// every group in table order, one flow-style entry each, enabled as a quoted string,
// byte-for-byte deterministic.
func (r *Result) GroupsFile() []byte {
	var b bytes.Buffer
	b.WriteString(r.header)
	for _, e := range r.All {
		fmt.Fprintf(&b, "- { name: %s, layer: %s, enabled: %q, catalogPath: %s }\n",
			e.Name, e.Layer, strconv.FormatBool(e.Enabled), e.CatalogPath)
	}
	return b.Bytes()
}

// JSON renders the resolution for scripts.
func (r *Result) JSON() ([]byte, error) {
	order := make([]string, len(r.Order))
	for i, g := range r.Order {
		order[i] = g.Name
	}
	warnings := r.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	b, err := json.MarshalIndent(struct {
		Groups   []Entry  `json:"groups"`
		Order    []string `json:"order"`
		Warnings []string `json:"warnings"`
	}{r.All, order, warnings}, "", "  ")
	return append(b, '\n'), err
}

// Text renders the resolution for people: a table with each group's state and reason.
func (r *Result) Text() []byte {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "GROUP\tLAYER\tENABLED\tWHY")
	for _, e := range r.All {
		fmt.Fprintf(w, "%s\t%s\t%t\t%s\n", e.Name, e.Layer, e.Enabled, e.Reason)
	}
	w.Flush()
	order := make([]string, len(r.Order))
	for i, g := range r.Order {
		order[i] = g.Name
	}
	fmt.Fprintf(&b, "\nrender order: %s\n", strings.Join(order, ", "))
	return b.Bytes()
}

func catalogPath(cfg *platform.Config, group string) (string, error) {
	t, err := template.New("catalogPath").Option("missingkey=error").Parse(cfg.CatalogPath)
	if err != nil {
		return "", &Error{Msg: fmt.Sprintf("catalogPath %q: %v", cfg.CatalogPath, err)}
	}
	var b strings.Builder
	if err := t.Execute(&b, map[string]string{"Environment": cfg.Environment, "Group": group}); err != nil {
		return "", &Error{Msg: fmt.Sprintf("catalogPath %q: %v", cfg.CatalogPath, err)}
	}
	return b.String(), nil
}
