package docschema

import (
	"errors"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

const schema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "features": {"type": "object", "additionalProperties": false,
      "properties": {"egress": {"type": "boolean"}, "mcp": {"type": "boolean"}}},
    "replicas": {"type": "integer", "minimum": 1},
    "list": {"type": "array", "items": {"type": "string"}}
  }
}`

func TestValidatePositions(t *testing.T) {
	s := MustCompile("test.json", schema)
	src := "features:\n  egress: yes\n  bogus: true\nreplicas: 0\nlist: [a, 3]\nextra: 1\n"
	doc, err := manifest.ParseMapping("p.yaml", []byte(src), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate(doc)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v", err)
	}
	got := es.Error()
	for _, want := range []string{
		"p.yaml:3:10: features.bogus: unknown key 'bogus'",
		"p.yaml:4:11: replicas:",
		"p.yaml:5:11: list[1]:",
		"p.yaml:6:8: extra: unknown key 'extra'",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	ok, _ := manifest.ParseMapping("ok.yaml", []byte("features: {mcp: true}\nreplicas: 2\n"), manifest.DefaultLimits)
	if err := s.Validate(ok); err != nil {
		t.Fatalf("valid document rejected: %v", err)
	}
}

// The library names unknown keys in map order; each is its own violation, in a stable order.
func TestUnknownKeysDeterministic(t *testing.T) {
	s := MustCompile("test.json", schema)
	src := "features:\n  zeta: true\n  alpha: true\n  mid: true\n  egress: true\n"
	doc, err := manifest.ParseMapping("p.yaml", []byte(src), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	first := s.Validate(doc).Error()
	for _, want := range []string{"features.zeta: unknown key 'zeta'", "features.alpha: unknown key 'alpha'", "features.mid: unknown key 'mid'"} {
		if !strings.Contains(first, want) {
			t.Fatalf("missing %q in:\n%s", want, first)
		}
	}
	for range 20 {
		if got := s.Validate(doc).Error(); got != first {
			t.Fatalf("run differs:\n%s\nvs\n%s", got, first)
		}
	}
}
