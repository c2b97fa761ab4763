package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyntaxErrorPosition: a YAML syntax error is reported at the line and column of the token
// the parser could not take, not at yaml.v3's line (the line before the start of the enclosing
// collection: line 1 for a document after "---").
func TestSyntaxErrorPosition(t *testing.T) {
	const head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  x: y\n  z: w\n  q: r\n  s: t\n  u: v\n"
	cases := []struct {
		name, text, want string
	}{
		// yaml.v3 says line 1: the mapping starts on line 2.
		{"bad indentation after ---", "---\n" + head + "  a: b\n c: d\n", "f.yaml:13:2: YAML syntax: did not find expected key"},
		{"tab", head + "\tc: d\n", "f.yaml:11:1: YAML syntax: found a tab character that violates indentation"},
		{"sequence in a mapping", head + "a: b\n- c\n", "f.yaml:12:1: YAML syntax: did not find expected key"},
		{"key without colon", head + "a: b\nc\nd: e\n", "f.yaml:12:1: YAML syntax: could not find expected ':'"},
		{"unterminated quote", head + "a: \"open\nb: c\n", "f.yaml:11:4: YAML syntax: found unexpected end of stream"},
		{"bad character", head + "key: value\n@bad: x\n", "f.yaml:12:1: YAML syntax: found character that cannot start any token"},
		// JSON: yaml.v3 says line 4 (the line before the inner object); the missing comma is before "q".
		{"json missing comma", "# generated\n{\"apiVersion\": \"v1\",\n \"kind\": \"ConfigMap\",\n \"metadata\": {\"name\": \"s\"},\n \"data\": {\n  \"x\": \"y\",\n  \"z\": \"w\"\n  \"q\": \"r\"}}\n",
			"f.yaml:8:3: YAML syntax: did not find expected ',' or '}'"},
		// The error is the end of the input: the flow sequence left open.
		{"unclosed flow at the end", head + "  m: [open\n", "f.yaml:11:7: YAML syntax: did not find expected ',' or ']'"},
		// An error in a later document, after a good one.
		{"second document", head + "---\n" + head + "  a: b\n c: d\n", "f.yaml:23:2: YAML syntax: did not find expected key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.yaml")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path, nil, DefaultLimits)
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.TrimPrefix(err.Error(), filepath.Dir(path)+"/"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestSyntaxPosGivesUp: a document too large to search within maxSyntaxParse keeps yaml.v3's
// position rather than costing seconds of parsing; one within it gets the exact position.
func TestSyntaxPosGivesUp(t *testing.T) {
	doc := func(size int) []byte {
		var b strings.Builder
		b.WriteString("data:\n")
		for b.Len() < size {
			b.WriteString("  key: value value value value value value value value value value\n")
		}
		b.WriteString(" bad: indent\n")
		return []byte(b.String())
	}
	small := doc(64 << 10)
	if p, ok := syntaxPos(small, Pos{Line: 1}); !ok || p.Line != strings.Count(string(small), "\n") || p.Column != 2 {
		t.Fatalf("64 KiB document: %v %v", p, ok)
	}
	if p, ok := syntaxPos(doc(1<<20), Pos{Line: 1}); ok {
		t.Fatalf("searched a 1 MiB document: %v", p)
	}
}
