package celnative

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/version"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// Variable names of a CRD rule's environment (apiextensions-apiserver's ScopedVarName and OldScopedVarName).
const (
	selfVar    = "self"
	oldSelfVar = "oldSelf"
)

// Env returns the CEL environment kube-apiserver compiles a CRD rule in for a node of declared type
// declType: the base environment at environment.DefaultCompatibilityVersion(), extended with `self` and
// `oldSelf` of declType's CEL type, then its StoredExpressionsEnv (as apiextensions-apiserver's
// cel.Compile with StoredExpressionsEnvLoader builds it).
func Env(declType *apiservercel.DeclType) (*cel.Env, error) {
	if declType == nil {
		return nil, fmt.Errorf("celnative: no CEL type for the schema node")
	}
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
		return nil, fmt.Errorf("celnative: extend the base CEL environment with self: %w", err)
	}
	return set.StoredExpressionsEnv(), nil
}
