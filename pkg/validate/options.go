package validate

import (
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/report"
	"github.com/infergw/gwctl/pkg/validate/builtin"
	"github.com/infergw/gwctl/pkg/validate/objects"
	"github.com/infergw/gwctl/pkg/validate/registry"
	"github.com/infergw/gwctl/schemas"
)

// Options configure a Validator. The zero value validates against the embedded schemas for
// agentgateway v1.2.1 with every check on.
type Options struct {
	// AgentgatewayVersion is the agentgateway release the manifests target ("v1.2.1" when empty):
	// its schemas are those of the embedded release of the same minor version (v1.2.1, v1.3.1,
	// v1.4.1). Fields and enum values of other releases are reported with the release that has them.
	AgentgatewayVersion string
	// InferenceExtensionVersion is the Gateway API Inference Extension release whose InferencePool
	// CRD the cluster runs (v1.5 or v1.6). Empty means the newest embedded one, with a warning on
	// each pool that an older release's CRD rejects.
	InferenceExtensionVersion string
	// CRDDirs are directories (or files) of CRDs whose schemas replace the embedded ones for their kinds.
	CRDDirs []string
	// IgnoreMissingSchemas reports resources without a schema as info instead of errors.
	IgnoreMissingSchemas bool
	// Strict makes warnings fail the run (it sets report.Summary.Strict in Summarize).
	Strict bool
	// Verbose adds info findings about resources skipped.
	Verbose bool
	// SkipCrossResource turns off the checks that need the whole set of objects (references,
	// grants, secrets): use it when validating a fragment of a platform.
	SkipCrossResource bool
	// OpenWorld says the input is part of what exists, as files and directories of a repository
	// are (other charts and operators create the rest): a reference to an object not in the
	// input is a warning (refs/unresolved), objects are duplicates only within one input
	// (manifest.Object.Input), and the compiler assumes Services it does not see. Off, the input
	// is the whole world, as a render is: all of those are errors.
	OpenWorld bool
	// Known are objects that exist outside the input (gwctl validate --known-objects):
	// references to them resolve, in either world.
	Known []objects.Known
	// Workers bounds the documents validated in parallel (GOMAXPROCS when 0).
	Workers int
	// ControllerName is the GatewayClass controllerName of the dataplane that will serve the
	// manifests ("gwctl.infergw.dev/dataplane" when empty, as dataplane --controller-name): the
	// compiler stage judges only Gateways of classes naming it or agentgateway's
	// (AgentgatewayController, whose API the dataplane implements), or classes not in the input;
	// another implementation's Gateways are left to it.
	ControllerName string
	// SkipCompile leaves out the last stage, the dataplane's own compiler (pkg/gateway.Compile),
	// whose findings say whether the dataplane accepts the manifests.
	SkipCompile bool
	// Compile replaces pkg/gateway.Compile in that stage (tests use it); nil means gateway.Compile.
	Compile func(objs []*manifest.Object) []finding.Finding
	// Schemas replaces the embedded schema set (tests use it to run upstream CRDs); nil means schemas.FS.
	Schemas fs.FS
	// Logger receives debug lines about schema sources; nil discards them.
	Logger *slog.Logger
}

// Validator validates manifests. It is safe for concurrent use; schemas compile on first use.
type Validator struct {
	opts        Options
	version     registry.Semver     // the agentgateway release targeted
	agw         *registry.Release   // the embedded agentgateway release that describes it
	agwReleases []*registry.Release // every embedded agentgateway release, oldest first
	gie         inferenceExtension
	embedded    *registry.Registry
	builtins    *builtin.Validator
	log         *slog.Logger
}

// AgentgatewayController is agentgateway's GatewayClass controllerName.
const AgentgatewayController = "agentgateway.dev/agentgateway"

// WithControllerName returns a Validator that shares v's schemas and judges Gateways for the
// dataplane serving controllerName (Options.ControllerName): a render knows its own.
func (v *Validator) WithControllerName(name string) *Validator {
	w := *v
	w.opts.ControllerName = name
	return &w
}

// New loads the embedded schemas and the CRD dirs. Schemas compile lazily, once per CRD version.
func New(opts Options) (*Validator, error) {
	if opts.AgentgatewayVersion == "" {
		opts.AgentgatewayVersion = DefaultAgentgatewayVersion
	}
	ver, err := registry.ParseSemver(opts.AgentgatewayVersion)
	if err != nil {
		return nil, fmt.Errorf("agentgateway version: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gie, err := newInferenceExtension(opts.InferenceExtensionVersion)
	if err != nil {
		return nil, err
	}
	agwReleases := registry.Releases(schemas.Agentgateway)
	agw := registry.Pick(agwReleases, ver)
	reg := registry.New()
	if opts.Schemas != nil {
		if err := reg.LoadCRDFS(opts.Schemas, "schemas", false); err != nil {
			return nil, fmt.Errorf("schemas: %w", err)
		}
	} else {
		for _, s := range registry.SelectEmbedded(agw, gie.use) {
			reg.AddSet(s)
		}
	}
	for _, d := range opts.CRDDirs {
		if err := reg.LoadCRDDir(d); err != nil {
			return nil, err
		}
		log.Debug("loaded CRDs", "dir", d)
	}
	b, err := builtin.New()
	if err != nil {
		return nil, err
	}
	v := &Validator{opts: opts, version: ver, agw: agw, agwReleases: agwReleases, gie: gie, embedded: reg, builtins: b, log: log}
	log.Debug("embedded schemas", "agentgateway", agw.Set.Version, "inference-extension", gie.use.Set.Version)
	return v, nil
}

// Summarize counts the findings of a run over objs for the report writers.
func Summarize(objs []*manifest.Object, fs []finding.Finding, strict bool) report.Summary {
	objects := make([]report.Object, 0, len(objs))
	for _, o := range objs {
		objects = append(objects, report.Object{File: o.File, Resource: o.Resource()})
	}
	return report.Summarize(objects, fs, strict)
}

// Summarize counts the findings of a run with the validator's Strict setting.
func (v *Validator) Summarize(objs []*manifest.Object, fs []finding.Finding) report.Summary {
	return Summarize(objs, fs, v.opts.Strict)
}
