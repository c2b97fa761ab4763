package celnative

import (
	"testing"

	"github.com/google/cel-go/cel"
	"google.golang.org/protobuf/proto"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	"k8s.io/apimachinery/pkg/util/version"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// envSetEnv is the environment as apiextensions-apiserver builds it: EnvSet.Extend, then the
// stored-expressions environment of the two it builds.
func envSetEnv(declType *apiservercel.DeclType) (*cel.Env, error) {
	scoped := declType.MaybeAssignTypeName("selfType")
	set, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).Extend(
		environment.VersionedOptions{
			IntroducedVersion: version.MajorMinor(1, 0),
			EnvOptions:        []cel.EnvOption{cel.Variable(selfVar, scoped.CelType())},
			DeclTypes:         []*apiservercel.DeclType{scoped},
		},
		environment.VersionedOptions{
			IntroducedVersion: version.MajorMinor(1, 24),
			EnvOptions:        []cel.EnvOption{cel.Variable(oldSelfVar, scoped.CelType())},
		},
	)
	if err != nil {
		return nil, err
	}
	return set.StoredExpressionsEnv(), nil
}

// TestEnvMatchesEnvSet: every rule of every CRD of the suite (gwctl's schemas and the upstream
// ones), plus rules that use keywords as field names and oldSelf, compiles in Env exactly as in the
// environment EnvSet.Extend builds: the same issues, or the same checked expression (types and
// references of every node).
func TestEnvMatchesEnvSet(t *testing.T) {
	st := loadSuite(t)
	extra := []string{"self.namespace == 'a'", "has(self.in) || self.all(x, x != '')", "oldSelf == self", "self.x.y.z", "size(self) >= 0", "self.metadata.name.startsWith('a')"}
	n := 0
	var walk func(crd string, s *structuralschema.Structural, isRoot bool, declType *apiservercel.DeclType)
	walk = func(crd string, s *structuralschema.Structural, isRoot bool, declType *apiservercel.DeclType) {
		if s == nil || declType == nil {
			return
		}
		if len(s.XValidations) > 0 || isRoot {
			ours, err := Env(declType)
			if err != nil {
				t.Fatalf("%s: %v", crd, err)
			}
			theirs, err := envSetEnv(declType)
			if err != nil {
				t.Fatalf("%s: %v", crd, err)
			}
			srcs := extra
			for _, xv := range s.XValidations {
				srcs = append(srcs, xv.Rule)
			}
			for _, src := range srcs {
				a, aIss := ours.Compile(src)
				b, bIss := theirs.Compile(src)
				if (aIss.Err() == nil) != (bIss.Err() == nil) || (aIss.Err() != nil && aIss.Err().Error() != bIss.Err().Error()) {
					t.Fatalf("%s: %q: issues differ:\n Env:           %v\n EnvSet.Extend: %v", crd, src, aIss.Err(), bIss.Err())
				}
				if aIss.Err() != nil {
					continue
				}
				ca, err := cel.AstToCheckedExpr(a)
				if err != nil {
					t.Fatal(err)
				}
				cb, err := cel.AstToCheckedExpr(b)
				if err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(ca, cb) {
					t.Fatalf("%s: %q: checked expressions differ", crd, src)
				}
				n++
			}
		}
		if s.Items != nil {
			walk(crd, s.Items, s.Items.XEmbeddedResource, declType.ElemType)
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
			ap := s.AdditionalProperties.Structural
			walk(crd, ap, ap.XEmbeddedResource, declType.ElemType)
		}
		for k := range s.Properties {
			p := s.Properties[k]
			if escaped, ok := apiservercel.Escape(k); ok {
				if f, ok := declType.Fields[escaped]; ok {
					walk(crd, &p, p.XEmbeddedResource, f.Type)
				}
			}
		}
	}
	for _, c := range st.list {
		walk(c.name, c.s, true, model.SchemaDeclType(c.s, true))
	}
	if n < 1000 {
		t.Fatalf("only %d compilations compared", n)
	}
	t.Logf("%d compilations compared", n)
}
