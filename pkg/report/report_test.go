package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"github.com/infergw/gwctl/internal/testenv"
	"os"
	"path/filepath"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

var update = testenv.Update

func sample() ([]finding.Finding, Summary) {
	fs := []finding.Finding{
		{File: "groups/mcp/policy.yaml", Line: 12, Column: 9, Resource: finding.Resource{APIVersion: "agentgateway.dev/v1alpha1", Kind: "AgentgatewayPolicy", Namespace: "mcp", Name: "mcp-authn"},
			Field: "spec.traffic.jwtAuthentication.providers[0].jwks", Rule: "schema/cel", Severity: finding.Error, Message: "Invalid value: exactly one of the fields in [remote inline] must be set"},
		{File: "groups/mcp/policy.yaml", Line: 30, Column: 9, Resource: finding.Resource{Kind: "AgentgatewayPolicy", Namespace: "mcp", Name: "mcp-rate-limit"},
			Field: "spec.traffic.rateLimit.local[0]", Rule: "lint/ratelimit-bucket", Severity: finding.Info, Message: "bucket 15 requests, +5/s <shared>"},
		{File: "groups/egress/route.yaml", Line: 4, Column: 3, Resource: finding.Resource{Kind: "HTTPRoute", Namespace: "agentgateway-system", Name: "egress"},
			Field: "spec.rules[0].matches[0].headers[1].name", Rule: "refs/header-case", Severity: finding.Warning, Message: `header "x-tenant" repeats "X-Tenant" in another case`},
		{Rule: "set/whole", Severity: finding.Error, Message: "input-wide problem & more"},
	}
	objects := []Object{
		{File: "groups/mcp/policy.yaml", Resource: fs[0].Resource},
		{File: "groups/mcp/policy.yaml", Resource: fs[1].Resource},
		{File: "groups/egress/route.yaml", Resource: fs[2].Resource},
		{File: "groups/egress/route.yaml", Resource: finding.Resource{Kind: "Service", Namespace: "agentgateway-system", Name: "clean"}},
	}
	return fs, Summarize(objects, fs, false)
}

func TestFormatsGolden(t *testing.T) {
	fs, sum := sample()
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			w, err := New(format, Options{ToolVersion: "test"})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := w.Write(&buf, fs, sum); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "sample."+format)
			if *update {
				os.WriteFile(golden, buf.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("%s output differs from %s:\n%s", format, golden, buf.String())
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := New("yaml-ish", Options{}); err == nil {
		t.Fatal("want an error for an unknown format")
	}
}

func TestSummaryLine(t *testing.T) {
	_, sum := sample()
	if got, want := sum.Line(), "4 resources in 2 files: 2 errors, 1 warning, 1 info — failed"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	sum.Errors = 0
	if sum.Failed() {
		t.Error("warnings alone must not fail without strict")
	}
	sum.Strict = true
	if !sum.Failed() {
		t.Error("warnings must fail with strict")
	}
}

// SARIF as GitHub code scanning needs it: version, one run, driver rules, results pointing
// at a rule index with a 1-based region and a relative URI.
func TestSARIFShape(t *testing.T) {
	fs, sum := sample()
	var buf bytes.Buffer
	if err := (SARIF{}).Write(&buf, fs, sum); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Results) != len(fs) {
		t.Fatalf("%d results, want %d", len(run.Results), len(fs))
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d (%s)", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
		}
		loc := r.Locations[0].PhysicalLocation
		if loc.Region.StartLine < 1 || loc.ArtifactLocation.URI == "" || filepath.IsAbs(loc.ArtifactLocation.URI) {
			t.Errorf("bad location %+v", loc)
		}
		if r.Level != "error" && r.Level != "warning" && r.Level != "note" {
			t.Errorf("bad level %q", r.Level)
		}
	}
}

func TestJUnitWellFormed(t *testing.T) {
	fs, sum := sample()
	var buf bytes.Buffer
	if err := (JUnit{}).Write(&buf, fs, sum); err != nil {
		t.Fatal(err)
	}
	var s junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	// 4 resources plus the input-wide finding; 2 of them carry errors.
	if s.Tests != 5 || s.Failures != 2 {
		t.Errorf("tests %d failures %d, want 5 and 2", s.Tests, s.Failures)
	}
}

// TestJSONMatchesEncodingJSON: the hand-written JSON report is what encoding/json's indenting
// Encoder prints for the same value.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	full := finding.Finding{File: "a <b>.yaml", Line: 3, Column: 7, Resource: finding.Resource{APIVersion: "v1", Kind: "Service", Namespace: "ns", Name: "n\"\\\u2028"},
		Field: "spec.ports[0]", Rule: "x/y", Severity: finding.Warning, Message: "bad & worse\n\t\x01 \xff"}
	for _, c := range []struct {
		fs  []finding.Finding
		sum Summary
	}{
		{nil, Summary{}},
		{[]finding.Finding{{}}, Summary{Resources: 1, Strict: true}},
		{[]finding.Finding{full, {Rule: "r", Severity: finding.Info, Resource: finding.Resource{Name: "only"}}, {File: "f", Column: 2, Message: "m"}},
			Summary{Resources: 3, Files: 2, Errors: 1, Warnings: 1, Infos: 1, Skipped: 4}},
	} {
		var want bytes.Buffer
		fs := c.fs
		if fs == nil {
			fs = []finding.Finding{}
		}
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Findings []finding.Finding `json:"findings"`
			Summary  Summary           `json:"summary"`
		}{fs, c.sum}); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := writeJSON(&got, c.fs, c.sum); err != nil { // the fast path, whatever GWCTL_NOFAST says
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("got:\n%s\nwant:\n%s", got.String(), want.String())
		}
	}
}
