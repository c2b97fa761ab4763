package validate

import (
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/docschema"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// ruleLevels are what a rule may be set to.
var ruleLevels = []string{"off", "info", "warning", "error"}

// readRules reads a rules config: the whole file (section "") or the mapping under section.
// Every problem is reported at once, at its key's (or value's) line and column, in position
// order, with the nearest known key or rule id suggested.
func readRules(file string, data []byte, section string) (RulesConfig, error) {
	c := RulesConfig{Rules: map[string]string{}}
	// ParseMapping bounds the document and refuses duplicate keys; the node tree gives the
	// positions of keys, which is where a wrong key is.
	if _, err := manifest.ParseMapping(file, data, manifest.DefaultLimits); err != nil {
		return c, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil || len(root.Content) == 0 {
		return c, err
	}
	m := root.Content[0]
	prefix := ""
	if section != "" {
		var sec *yaml.Node
		for i := 0; m.Kind == yaml.MappingNode && i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == section {
				sec = m.Content[i+1]
			}
		}
		if m = sec; m == nil {
			return c, nil
		}
		prefix = section + "."
	}
	var errs docschema.Errors
	bad := func(n *yaml.Node, key, msg string) {
		errs = append(errs, docschema.Violation{File: file, Pos: manifest.Pos{Line: n.Line, Column: n.Column}, Key: key, Msg: msg})
	}
	if m.Kind != yaml.MappingNode {
		bad(m, strings.TrimSuffix(prefix, "."), "want a mapping: rules: {<rule-id>: off|info|warning|error}")
		return c, errs
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value != "rules" {
			bad(k, prefix+k.Value, "unknown key"+docschema.DidYouMean(k.Value, []string{"rules"})+"; a rules config holds rules: {<rule-id>: off|info|warning|error}")
			continue
		}
		if v.Kind != yaml.MappingNode {
			if v.Tag != "!!null" {
				bad(v, prefix+"rules", "want a mapping of rule id to off, info, warning or error")
			}
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			id, lv := v.Content[j], v.Content[j+1]
			key := prefix + "rules." + id.Value
			if _, ok := finding.LookupRule(id.Value); !ok {
				bad(id, key, unknownRule(id.Value))
				continue
			}
			if lv.Kind != yaml.ScalarNode || !slices.Contains(ruleLevels, lv.Value) {
				bad(lv, key, badLevel(lv))
				continue
			}
			c.Rules[id.Value] = lv.Value
		}
	}
	if len(errs) > 0 {
		docschema.SortViolations(errs)
		return c, errs
	}
	return c, nil
}

func unknownRule(id string) string {
	ids := make([]string, 0, len(finding.Rules()))
	for _, r := range finding.Rules() {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return "unknown rule id" + docschema.DidYouMean(id, ids) + "; gwctl validate --list-rules lists them"
}

func badLevel(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return "want off, info, warning or error"
	}
	return fmt.Sprintf("level %q: want off, info, warning or error", n.Value)
}

// ReadRulesSection reads the rules config under a top-level key of a file: the platform
// config's validate: (platform.RulesKey).
func ReadRulesSection(file string, data []byte, key string) (RulesConfig, error) {
	return readRules(file, data, key)
}

// ParseRuleFlag reads one --rule <rule-id>=<level>.
func ParseRuleFlag(s string) (id, level string, err error) {
	id, level, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fmt.Errorf("%q: want <rule-id>=off|info|warning|error", s)
	}
	if _, known := finding.LookupRule(id); !known {
		return "", "", fmt.Errorf("%s: %s", id, unknownRule(id))
	}
	if !slices.Contains(ruleLevels, level) {
		return "", "", fmt.Errorf("%s: %s", id, badLevel(&yaml.Node{Kind: yaml.ScalarNode, Value: level}))
	}
	return id, level, nil
}

// Over returns c with the rules upper sets replacing c's, rule by rule: a later layer changes
// only the rules it names.
func (c RulesConfig) Over(upper RulesConfig) RulesConfig {
	out := RulesConfig{Rules: map[string]string{}}
	for id, lv := range c.Rules {
		out.Rules[id] = lv
	}
	for id, lv := range upper.Rules {
		out.Rules[id] = lv
	}
	return out
}
