package apiserverdiff

import (
	"context"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

// serverRules are the rules of gwctl's checks of one object alone, the API server's job:
// schema (custom resources and built-ins' strict decoding), metadata, the built-in checks and
// agentgateway fields of another release (an unknown field to the server). Cross-resource,
// lint, duplicate and compiler findings are not the server's job and are counted apart.
var serverRules = []string{"schema/", "metadata/", "builtin/", validate.RuleVersion}

func serverJob(rule string) bool {
	for _, p := range serverRules {
		if strings.HasPrefix(rule, p) {
			return true
		}
	}
	return false
}

// gwctlJudge runs gwctl validate with its defaults (embedded schemas, agentgateway v1.2.1) on
// every document at once, each its own file, and splits the errors per document into the
// server's job and the rest.
func gwctlJudge(t *testing.T, docs []*doc) (verdicts []verdict, other [][]finding.Finding) {
	t.Helper()
	v, err := validate.New(validate.Options{SkipCompile: true})
	if err != nil {
		t.Fatal(err)
	}
	objs := make([]*manifest.Object, len(docs))
	byFile := map[string]int{}
	for i, d := range docs {
		objs[i] = d.object()
		byFile[d.ID] = i
	}
	verdicts = make([]verdict, len(docs))
	other = make([][]finding.Finding, len(docs))
	for _, f := range v.Validate(context.Background(), objs) {
		i, ok := byFile[f.File]
		if !ok {
			t.Fatalf("finding on no document: %s", f.String())
		}
		if f.Rule == schema.RuleCELSkipped {
			verdicts[i].Messages = append(verdicts[i].Messages, fieldError{Field: f.Field, Message: f.Message})
		}
		if f.Severity != finding.Error {
			continue
		}
		if !serverJob(f.Rule) {
			other[i] = append(other[i], f)
			continue
		}
		verdicts[i].Rejected = true
		verdicts[i].Errors = append(verdicts[i].Errors, fieldError{Field: f.Field, Message: f.Message})
		verdicts[i].Messages = append(verdicts[i].Messages, fieldError{Field: f.Field, Message: f.Message})
	}
	return verdicts, other
}
