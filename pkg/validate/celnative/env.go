package celnative

import (
	"fmt"

	"github.com/google/cel-go/cel"
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
//
// It builds that stored-expressions environment alone, as EnvSet.Extend builds it (every
// versioned option applies to stored expressions, and with them the type provider that reads
// keywords as field names), without the new-expressions environment Extend builds beside it and
// the rules never use: building an environment is most of what compiling a node's rules costs.
// TestEnvMatchesEnvSet compares the two.
func Env(declType *apiservercel.DeclType) (*cel.Env, error) {
	if declType == nil {
		return nil, fmt.Errorf("celnative: no CEL type for the schema node")
	}
	scoped := declType.MaybeAssignTypeName("selfType")
	base := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).StoredExpressionsEnv()
	provider := apiservercel.NewDeclTypeProvider(scoped)
	provider.SetRecognizeKeywordAsFieldName(true)
	providerOpts, err := provider.EnvOptions(base.CELTypeProvider())
	if err != nil {
		return nil, fmt.Errorf("celnative: extend the base CEL environment with self: %w", err)
	}
	opts := append([]cel.EnvOption{cel.Variable(selfVar, scoped.CelType()), cel.Variable(oldSelfVar, scoped.CelType())}, providerOpts...)
	env, err := base.Extend(cel.Lib(envLib(opts)))
	if err != nil {
		return nil, fmt.Errorf("celnative: extend the base CEL environment with self: %w", err)
	}
	return env, nil
}

// envLib is environment's envLoader: the options as one library.
type envLib []cel.EnvOption

func (l envLib) CompileOptions() []cel.EnvOption     { return l }
func (l envLib) ProgramOptions() []cel.ProgramOption { return nil }
