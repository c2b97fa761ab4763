package fastpath

import (
	"maps"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want []string // the names turned off
	}{
		{"", nil},
		{"0", nil},
		{"false", nil},
		{"1", Names},
		{"all", Names},
		{"TRUE", Names},
		{"yaml", []string{YAML}},
		{" yaml , CEL ,", []string{CEL, YAML}},
		{"cel,celadaptor", []string{CEL, CELAdaptor}},
		{"anthropic,jsonreport,jsonvalue", []string{Anthropic, JSONReport, JSONValue}},
		{"yaml,ymal", Names}, // a typo turns everything off rather than nothing
	} {
		got := slices.Sorted(maps.Keys(parse(tc.env)))
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s=%q: off %v, want %v", Env, tc.env, got, want)
		}
	}
}
