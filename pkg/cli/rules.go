package cli

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate"
)

// defaultRulesConfig is read from the current directory when --rules-config is not given.
const defaultRulesConfig = ".gwctl.yaml"

// writeRuleList prints the rule registry.
func (o *validateOptions) writeRuleList() error {
	rules := finding.Rules()
	switch o.output {
	case "json":
		b, err := json.MarshalIndent(rules, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.streams.Out, "%s\n", b)
		return err
	case "text":
		w := tabwriter.NewWriter(o.streams.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "RULE\tSEVERITY\tDESCRIPTION")
		for _, r := range rules {
			fmt.Fprintf(w, "%s\t%s\t%s\n", r.ID, r.Severity, r.Description)
		}
		return w.Flush()
	}
	return withCode(ExitUsage, fmt.Errorf("--output %q with --list-rules: want text or json", o.output))
}

// tuning is what changes the findings of a run: the rules config and the baseline.
type tuning struct {
	rules    validate.RulesConfig
	baseline validate.Baseline
}

// readTuning reads --rules-config (or ./.gwctl.yaml when present) and --baseline; a bad file is
// a usage error, so a typo in a rule id fails rather than leaving the rule on.
func (o *validateOptions) readTuning() (tuning, error) {
	var t tuning
	file := o.rulesConfig
	data, err := os.ReadFile(cmp.Or(file, defaultRulesConfig))
	switch {
	case file == "" && errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return t, withCode(ExitUsage, fmt.Errorf("--rules-config: %w", err))
	default:
		if t.rules, err = validate.ReadRulesConfig(cmp.Or(file, defaultRulesConfig), data); err != nil {
			return t, withCode(ExitUsage, fmt.Errorf("--rules-config: %w", err))
		}
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
