package validate

import (
	"context"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

func parse(t *testing.T, doc string) []*manifest.Object {
	t.Helper()
	objs, err := manifest.Parse("in.yaml", []byte(doc), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func rules(fs []finding.Finding) map[string]finding.Finding {
	out := map[string]finding.Finding{}
	for _, f := range fs {
		out[f.Rule] = f
	}
	return out
}

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: agentgatewaypolicies.agentgateway.dev}
spec:
  group: agentgateway.dev
  names: {kind: AgentgatewayPolicy, plural: agentgatewaypolicies}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [owner]
            properties:
              owner: {type: string}
`

// A CRD in the input replaces the embedded schema of its kind.
func TestInputCRDTakesPrecedence(t *testing.T) {
	v, err := New(Options{SkipCrossResource: true, SkipCompile: true})
	if err != nil {
		t.Fatal(err)
	}
	objs := parse(t, widgetCRD+"---\napiVersion: agentgateway.dev/v1alpha1\nkind: AgentgatewayPolicy\nmetadata: {name: p}\nspec: {owner: me}\n")
	if fs := v.Validate(context.Background(), objs); finding.HasErrors(fs, false) {
		t.Fatalf("the input CRD should accept spec.owner: %v", fs)
	}
	// Without it, the embedded schema applies: owner is unknown and targetRefs missing.
	fs := v.Validate(context.Background(), objs[1:])
	if _, ok := rules(fs)[schema.RuleUnknownField]; !ok {
		t.Fatalf("want the embedded schema to report spec.owner, got %v", fs)
	}
}

func TestMissingSchemas(t *testing.T) {
	doc := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
	for _, tc := range []struct {
		ignore bool
		want   finding.Severity
	}{{false, finding.Error}, {true, finding.Info}} {
		v, err := New(Options{IgnoreMissingSchemas: tc.ignore, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		fs := v.Validate(context.Background(), parse(t, doc))
		f, ok := rules(fs)[schema.RuleMissingSchema]
		if !ok || f.Severity != tc.want {
			t.Errorf("ignore=%v: got %v, want %s", tc.ignore, fs, tc.want)
		}
		sum := Summarize(parse(t, doc), fs, false)
		if tc.ignore && sum.Skipped != 1 {
			t.Errorf("skipped = %d, want 1", sum.Skipped)
		}
	}
}

func TestBadVersion(t *testing.T) {
	if _, err := New(Options{AgentgatewayVersion: "latest"}); err == nil || !strings.Contains(err.Error(), "latest") {
		t.Fatalf("want an error naming the version, got %v", err)
	}
}

// Findings do not depend on how many workers validate.
func TestParallelDeterministic(t *testing.T) {
	objs := loadDir(t, "testdata/cases")
	var outs []string
	for _, w := range []int{1, 4} {
		v, _ := New(Options{Workers: w})
		var b strings.Builder
		for _, f := range v.Validate(context.Background(), objs) {
			b.WriteString(f.String() + "\n")
		}
		outs = append(outs, b.String())
	}
	if outs[0] != outs[1] {
		t.Fatal("findings differ between 1 and 4 workers")
	}
}

// The compiler stage's findings are added, minus those restating an earlier finding.
func TestCompileHook(t *testing.T) {
	objs := parse(t, "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\nspec: {ports: [{port: 80}]}\n")
	v, _ := New(Options{Compile: func(o []*manifest.Object) []finding.Finding {
		return []finding.Finding{
			o[0].Finding("spec.ports[0]", "gateway.test", finding.Warning, "compiler says so"),
		}
	}})
	if _, ok := rules(v.Validate(context.Background(), objs))["gateway.test"]; !ok {
		t.Fatal("compiler finding missing")
	}
}

// TestCancelled: a cancelled context stops the workers and says so, rather than reporting a
// partial set of findings as the result.
func TestCancelled(t *testing.T) {
	v, err := New(Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fs := v.Validate(ctx, loadDir(t, "testdata/cases"))
	if len(fs) != 1 || fs[0].Rule != "validate/cancelled" || fs[0].Severity != finding.Error {
		t.Fatalf("findings on a cancelled context: %v", fs)
	}
}
