package platform

import (
	"testing"
)

// The validate: section belongs to gwctl validate: it loads with --strict-config, stays out of
// the knobs, and a wrong key or type in it is an error at the key (rule ids and levels are
// gwctl validate's to check: pkg/validate.ReadRulesSection).
func TestValidateSection(t *testing.T) {
	const cfg = "environment: dev\nvalidate:\n  rules:\n    refs/unresolved: off\n    gateway.duplicate: warning\n"
	c, err := Load(Options{File: write(t, cfg), Features: features, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Knobs[RulesKey]; ok {
		t.Fatalf("validate: is a knob: %v", c.Knobs)
	}
	for _, tc := range []struct{ body, want string }{
		{"validate:\n  rulez: {}\n", `:2:3: validate.rulez: unknown key (did you mean "rules"?) (validate takes: rules)`},
		{"validate:\n  rules:\n    refs/unresolved: [loud]\n", `:3:5: validate.rules.refs/unresolved: expected string or boolean, but got array`},
	} {
		file := write(t, tc.body)
		for range 20 {
			_, err := Load(Options{File: file, Features: features})
			if err == nil || err.Error() != file+tc.want {
				t.Fatalf("got  %v\nwant %s%s", err, file, tc.want)
			}
		}
	}
}
