package finding

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every rule id any package declares (a Rule… or rule… constant, or a Rule: literal) is in the
// registry, and every registered rule is declared somewhere: --list-rules and the rules config
// cannot drift from what validate emits.
func TestEveryRuleIsRegistered(t *testing.T) {
	decl := regexp.MustCompile(`(?m)^\s*(?:const\s+)?[Rr]ule[A-Z]\w*\s*=\s*"([^"]+)"|Rule:\s*"([^"]+)"`)
	declared := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(data), -1) {
			declared[m[1]+m[2]] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) < 50 {
		t.Fatalf("found only %d rule declarations: the scan is broken", len(declared))
	}
	for id, file := range declared {
		if _, ok := LookupRule(id); !ok {
			t.Errorf("%s declares rule %q, which is not in the registry (pkg/finding/rules.go)", file, id)
		}
	}
	for _, r := range Rules() {
		if _, ok := declared[r.ID]; !ok {
			t.Errorf("registered rule %q is declared nowhere", r.ID)
		}
		if r.Description == "" || strings.Contains(r.Description, "\n") {
			t.Errorf("rule %q needs a one-line description", r.ID)
		}
	}
}
