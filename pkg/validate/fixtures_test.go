package validate

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

// fixture is one upstream document: must it fail, and with what text.
type fixture struct {
	obj     *manifest.Object
	wantErr string // the _err substring; empty for documents that must pass
	invalid bool
}

func (f fixture) name() string { return f.obj.File + ":" + f.obj.Kind + "/" + f.obj.Name }

// loadFixtures reads every document of the files, taking out the _err key.
func loadFixtures(t *testing.T, files []string, invalid func(file string) bool) []fixture {
	t.Helper()
	var out []fixture
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := manifest.Parse(filepath.Base(f), data, manifest.DefaultLimits)
		if err != nil {
			t.Fatalf("parsing fixture: %v", err)
		}
		for _, o := range objs {
			fx := fixture{obj: o, invalid: invalid(f)}
			if e, ok := o.Content["_err"].(string); ok {
				fx.wantErr, fx.invalid = e, true
				delete(o.Content, "_err")
			}
			out = append(out, fx)
		}
	}
	return out
}

// errorTexts renders findings the ways upstream's messages are written: "field: message",
// "Kind/name/: field: message", and the message alone.
func errorTexts(o *manifest.Object, fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Severity != finding.Error {
			continue
		}
		full := f.Message
		if f.Field != "" {
			full = f.Field + ": " + f.Message
		}
		out = append(out, full, o.Kind+"/"+o.Name+"/: "+full)
	}
	return out
}

// matches reports whether want is a substring of an error, allowing the wording differences of
// apiserver versions ("unknown field" vs "unknown fields").
func matches(want string, texts []string) bool {
	want = strings.TrimSpace(want)
	alt := strings.Replace(want, "unknown fields", "unknown field", 1)
	for _, t := range texts {
		if strings.Contains(t, want) || strings.Contains(t, alt) {
			return true
		}
	}
	return false
}

func runOne(t *testing.T, v *Validator, o *manifest.Object) []finding.Finding {
	t.Helper()
	return v.Validate(context.Background(), []*manifest.Object{o})
}

func hasError(fs []finding.Finding) bool { return finding.HasErrors(fs, false) }

func TestAgentgatewayFixtures(t *testing.T) {
	ref := filepath.Join(testenv.RepoRoot(t), "testdata", "agentgateway-v1.2.1")
	files, _ := filepath.Glob(filepath.Join(ref, "api-tests-testdata", "*.yaml"))
	sort.Strings(files)
	fixtures := loadFixtures(t, files, func(f string) bool { return strings.Contains(f, "_invalid") })
	if len(fixtures) < 100 {
		t.Fatalf("only %d fixtures found", len(fixtures))
	}
	upstream, err := New(Options{Schemas: os.DirFS(ref), SkipCrossResource: true, SkipCompile: true})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := New(Options{SkipCrossResource: true, SkipCompile: true})
	if err != nil {
		t.Fatal(err)
	}
	var rejected, withText, oursText, accepted, invalid, valid, agree int
	for _, fx := range fixtures {
		fs := runOne(t, upstream, fx.obj)
		texts := errorTexts(fx.obj, fs)
		if fx.invalid {
			invalid++
			if !hasError(fs) {
				t.Errorf("%s: must fail (%q) but passed", fx.name(), fx.wantErr)
			} else {
				rejected++
				if fx.wantErr == "" || matches(fx.wantErr, texts) {
					withText++
				} else {
					t.Errorf("%s: want error containing %q, got:\n  %s", fx.name(), fx.wantErr, strings.Join(texts, "\n  "))
				}
			}
		} else {
			valid++
			if hasError(fs) {
				t.Errorf("%s: must pass, got:\n  %s", fx.name(), strings.Join(texts, "\n  "))
			} else {
				accepted++
			}
		}
		// The embedded schemas are derived from the same CRDs: same verdict, same words.
		vfs := runOne(t, ours, fx.obj)
		if fx.wantErr != "" && matches(fx.wantErr, errorTexts(fx.obj, vfs)) {
			oursText++
		} else if fx.wantErr != "" {
			t.Errorf("%s: embedded schemas reject it with other words than %q: %s", fx.name(), fx.wantErr, strings.Join(errorTexts(fx.obj, vfs), "; "))
		}
		if hasError(vfs) == hasError(fs) {
			agree++
			continue
		}
		t.Errorf("%s: upstream CRDs say error=%v, embedded schemas say error=%v:\n upstream: %s\n embedded: %s",
			fx.name(), hasError(fs), hasError(vfs), strings.Join(errorTexts(fx.obj, fs), "; "), strings.Join(errorTexts(fx.obj, vfs), "; "))
	}
	t.Logf("upstream CRDs: %d/%d must-fail rejected (%d with the expected text), %d/%d valid accepted", rejected, invalid, withText, accepted, valid)
	t.Logf("embedded schemas vs upstream CRDs: same verdict on %d/%d documents; %d/%d must-fail with the expected text", agree, len(fixtures), oursText, invalid)
}

func TestGatewayAPIInvalidExamples(t *testing.T) {
	ref := filepath.Join(testenv.RepoRoot(t), "testdata", "gateway-api")
	var files []string
	filepath.WalkDir(filepath.Join(ref, "invalid-examples"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	fixtures := loadFixtures(t, files, func(string) bool { return true })
	if len(fixtures) < 30 {
		t.Fatalf("only %d fixtures", len(fixtures))
	}
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"embedded", Options{SkipCrossResource: true, SkipCompile: true}},
		{"reference-crds", Options{SkipCrossResource: true, CRDDirs: []string{filepath.Join(ref, "crd", "standard")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			rejectedFiles := map[string]bool{}
			all := map[string]bool{}
			for _, fx := range fixtures {
				all[fx.obj.File] = true
				fs := runOne(t, v, fx.obj)
				for _, f := range fs {
					if f.Severity == finding.Error && f.Rule == schema.RuleMissingSchema {
						t.Errorf("%s: %s", fx.name(), f.Message)
					}
				}
				if hasError(fs) {
					rejectedFiles[fx.obj.File] = true
				}
			}
			for f := range all {
				if !rejectedFiles[f] {
					t.Errorf("%s: must fail but every document passed", f)
				}
			}
			t.Logf("%d/%d must-fail files rejected", len(rejectedFiles), len(all))
		})
	}
}
