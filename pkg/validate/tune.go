package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// IgnoreAnnotation suppresses findings of the listed rules on the annotated object:
// "<rule-id>[,<rule-id>] -- <reason>". The reason is required.
const IgnoreAnnotation = "gwctl.infergw.dev/ignore"

// RulesConfig turns rules off or changes their severity: rule id -> off, info, warning or error.
type RulesConfig struct {
	Rules map[string]string `json:"rules" yaml:"rules"`
}

// ReadRulesConfig reads a .gwctl.yaml (or any file with a rules: map); unknown keys, rule ids
// and levels are errors at their line and column, so a typo does not silently keep a rule on.
func ReadRulesConfig(file string, data []byte) (RulesConfig, error) { return readRules(file, data, "") }

// Suppressed is a finding an ignore annotation removed, with the annotation's reason.
type Suppressed struct {
	finding.Finding
	Reason string
}

func (s Suppressed) String() string { return s.Finding.String() + " (ignored: " + s.Reason + ")" }

// Tune applies the ignore annotations of objs and then the rules config to fs: findings an
// annotation names are suppressed (returned apart, with the reason), rules set off are dropped
// and the others take their configured severity. The annotations' own findings are added.
func Tune(objs []*manifest.Object, fs []finding.Finding, cfg RulesConfig) ([]finding.Finding, []Suppressed) {
	type ignore struct {
		rules  map[string]bool
		reason string
	}
	ignores := map[finding.Resource]ignore{}
	for _, i := range annotated(objs, IgnoreAnnotation) {
		o := objs[i]
		v, _ := annotation(o, IgnoreAnnotation)
		path := "metadata.annotations[" + IgnoreAnnotation + "]"
		ids, reason, found := strings.Cut(v, " -- ")
		reason = strings.TrimSpace(reason)
		if !found || reason == "" {
			fs = append(fs, o.Finding(path, finding.RuleIgnoreWithoutReason, finding.Warning,
				fmt.Sprintf("%s needs a reason: %q -- <why>; nothing is suppressed", IgnoreAnnotation, strings.TrimSpace(ids))))
			continue
		}
		ig := ignore{rules: map[string]bool{}, reason: reason}
		for id := range strings.SplitSeq(ids, ",") {
			id = strings.TrimSpace(id)
			if _, known := finding.LookupRule(id); !known {
				fs = append(fs, o.Finding(path, finding.RuleIgnoreUnknownRule, finding.Warning,
					fmt.Sprintf("%s names %q, which is no rule id (gwctl validate --list-rules lists them)", IgnoreAnnotation, id)))
				continue
			}
			ig.rules[id] = true
		}
		ignores[o.Resource()] = ig
	}
	kept := make([]finding.Finding, 0, len(fs))
	var suppressed []Suppressed
	for _, f := range fs {
		if ig, ok := ignores[f.Resource]; ok && ig.rules[f.Rule] {
			suppressed = append(suppressed, Suppressed{f, ig.reason})
			continue
		}
		switch lv := cfg.Rules[f.Rule]; lv {
		case "":
		case "off":
			continue
		default:
			f.Severity, _ = finding.ParseSeverity(lv)
		}
		kept = append(kept, f)
	}
	if len(kept) == 0 {
		kept = nil
	}
	return kept, suppressed
}

// annotated lists the objects annotated with key, in order. Every object is looked at (a
// cache miss or two each, as the run's last step): in GOMAXPROCS stripes side by side.
func annotated(objs []*manifest.Object, key string) []int {
	workers := min(runtime.GOMAXPROCS(0), 1+len(objs)/2048)
	found := make([][]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(objs); i += workers {
				if _, ok := annotation(objs[i], key); ok {
					found[w] = append(found[w], i)
				}
			}
		})
	}
	wg.Wait()
	out := slices.Concat(found...)
	slices.Sort(out)
	return out
}

// annotation is o.Annotations()[key] without building the map for every object.
func annotation(o *manifest.Object, key string) (string, bool) {
	anns, _ := o.Get("metadata", "annotations")
	m, _ := anns.(map[string]any)
	v, ok := m[key].(string)
	return v, ok
}

// Baseline holds the findings of an earlier run (its -o json output), keyed by rule, resource
// and field path: line numbers move with unrelated edits, these do not.
type Baseline map[string]bool

func baselineKey(f finding.Finding) string {
	where := f.Resource.String()
	if where == "" {
		where = f.File // findings about files (input/*) have no resource
	}
	return f.Rule + "\x00" + f.Resource.APIVersion + "\x00" + where + "\x00" + f.Field
}

// ReadBaseline reads `gwctl validate -o json` output.
func ReadBaseline(file string, data []byte) (Baseline, error) {
	var doc struct {
		Findings *[]struct {
			File     string           `json:"file"`
			Resource finding.Resource `json:"resource"`
			Field    string           `json:"field"`
			Rule     string           `json:"rule"`
		} `json:"findings"`
	}
	var syntax *json.SyntaxError
	if err := json.Unmarshal(data, &doc); errors.As(err, &syntax) {
		return nil, fmt.Errorf("%s: JSON syntax at byte %d: %w", file, syntax.Offset, err)
	} else if err != nil || doc.Findings == nil {
		return nil, fmt.Errorf(`%s: not gwctl validate -o json output (want {"findings": [...]})`, file)
	}
	b := Baseline{}
	for _, f := range *doc.Findings {
		b[baselineKey(finding.Finding{File: f.File, Resource: f.Resource, Field: f.Field, Rule: f.Rule})] = true
	}
	return b, nil
}

// New returns the findings not in the baseline, and how many were.
func (b Baseline) New(fs []finding.Finding) ([]finding.Finding, int) {
	var out []finding.Finding
	for _, f := range fs {
		if !b[baselineKey(f)] {
			out = append(out, f)
		}
	}
	return out, len(fs) - len(out)
}

// SortSuppressed orders suppressed findings by position, then rule and message.
func SortSuppressed(s []Suppressed) {
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i].Finding, s[j].Finding
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}
