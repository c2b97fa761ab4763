package cli

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/validate"
)

// defaultRulesConfig is read from the current directory when --rules-config is not given.
const defaultRulesConfig = ".gwctl.yaml"

// writeRuleList prints the rule registry.
func (o *validateOptions) writeRuleList() error {
	rules := finding.Rules()
	rows := make([][]string, len(rules))
	for i, r := range rules {
		rows[i] = []string{r.ID, r.Severity.String(), r.Description}
	}
	return o.writeListing("--list-rules", rules, []string{"RULE", "SEVERITY", "DESCRIPTION"}, rows)
}

// writeListing prints v as JSON, or header and rows as a text table, as --output says.
func (o *validateOptions) writeListing(flag string, v any, header []string, rows [][]string) error {
	switch o.output {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.streams.Out, "%s\n", b)
		return err
	case "text":
		w := tabwriter.NewWriter(o.streams.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, strings.Join(header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(w, strings.Join(r, "\t"))
		}
		return w.Flush()
	}
	return withCode(ExitUsage, fmt.Errorf("--output %q with %s: want text or json", o.output, flag))
}

// tuning is what changes the findings of a run: the rules config and the baseline.
type tuning struct {
	rules    validate.RulesConfig
	baseline validate.Baseline
}

// readTuning reads the rules config and --baseline; a bad file is a usage error, so a typo in
// a rule id fails rather than leaving the rule on. Rules are layered as linters layer them, rule
// by rule, the later winning: the platform config's validate: section (-c or GWCTL_CONFIG), then
// --rules-config (or ./.gwctl.yaml when present), then --rule flags.
func (o *validateOptions) readTuning() (tuning, error) {
	var t tuning
	if cfg := cmp.Or(o.configFile, o.env(platform.EnvConfig)); cfg != "" {
		data, err := os.ReadFile(cfg)
		if err != nil {
			return t, withCode(ExitUsage, fmt.Errorf("platform config: %w", err))
		}
		if t.rules, err = validate.ReadRulesSection(cfg, data, platform.RulesKey); err != nil {
			return t, withCode(ExitUsage, err)
		}
	}
	file := o.rulesConfig
	data, err := os.ReadFile(cmp.Or(file, defaultRulesConfig))
	switch {
	case file == "" && errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return t, withCode(ExitUsage, fmt.Errorf("--rules-config: %w", err))
	default:
		rules, err := validate.ReadRulesConfig(cmp.Or(file, defaultRulesConfig), data)
		if err != nil {
			return t, withCode(ExitUsage, fmt.Errorf("--rules-config: %w", err))
		}
		t.rules = t.rules.Over(rules)
	}
	for _, r := range o.ruleFlags {
		id, level, err := validate.ParseRuleFlag(r)
		if err != nil {
			return t, withCode(ExitUsage, fmt.Errorf("--rule %w", err))
		}
		t.rules = t.rules.Over(validate.RulesConfig{Rules: map[string]string{id: level}})
	}
	if o.baseline != "" {
		data, err := os.ReadFile(o.baseline)
		if err != nil {
			return t, withCode(ExitUsage, fmt.Errorf("--baseline: %w", err))
		}
		if t.baseline, err = validate.ReadBaseline(o.baseline, data); err != nil {
			return t, withCode(ExitUsage, fmt.Errorf("--baseline: %w", err))
		}
	}
	return t, nil
}

// applyTuning suppresses annotated findings (listed on stderr with --verbose), applies the
// rules config, drops what the baseline holds, and sorts.
func (o *validateOptions) applyTuning(t tuning, objs []*manifest.Object, fs []finding.Finding) []finding.Finding {
	fs, suppressed := validate.Tune(objs, fs, t.rules)
	if o.opts.Verbose {
		validate.SortSuppressed(suppressed)
		for _, s := range suppressed {
			fmt.Fprintln(o.streams.Err, "suppressed: "+s.String())
		}
	}
	if t.baseline != nil {
		var known int
		fs, known = t.baseline.New(fs)
		if known > 0 {
			fmt.Fprintf(o.streams.Err, "%d %s in the baseline %s not shown\n", known, plural(known, "finding", "findings"), o.baseline)
		}
	}
	finding.Sort(fs)
	return fs
}
