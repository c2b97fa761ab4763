package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/pkg/atomicfile"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/portable"
	"github.com/infergw/gwctl/pkg/report"
	"github.com/infergw/gwctl/pkg/validate"
	"github.com/infergw/gwctl/pkg/validate/controls"
	"github.com/infergw/gwctl/pkg/validate/objects"
	"github.com/infergw/gwctl/pkg/version"
)

type validateOptions struct {
	*globalOptions
	opts                            validate.Options
	output                          string
	junitFile, sarifFile, jsonFile  string
	summary, rendered, portableOnly bool
	listSchemas, listRules          bool
	rulesConfig, baseline           string
	closed, allowEmpty              bool
	knownFiles                      []string
	kustomize, ruleFlags            []string
}

func newValidate(g *globalOptions) *cobra.Command {
	o := &validateOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "validate [FILE|DIR|-]...",
		Short: "Check manifests as the API server and the dataplane would, offline",
		Long: `Validates Kubernetes manifests with no cluster and no network:
  - custom resources (Gateway API, InferencePool, agentgateway, External Secrets, Argo CD,
    cert-manager, and any CRD in the input or under --crds) through the API server's own
    pipeline: structural schema, unknown fields as errors, defaults, list-map keys, and the CEL
    rules with the API server's messages; the embedded schemas are upstream releases' published
    CRDs, prose dropped (--list-schemas);
  - built-in kinds by strict decoding into the Kubernetes types, plus name validation;
  - cross-resource checks (parentRefs, backendRefs, ReferenceGrants, policy targets, JWKS and
    MCP Services, secretRefs, model-header routes, duplicates) and semantic lints;
  - the dataplane's own compiler: "valid" means the dataplane accepts it.
With no arguments it validates the current render (as --rendered). Each finding has
file:line:column, resource, field path, rule id and severity.

A repository is read as it is: a file that cannot be parsed (YAML syntax, a duplicate key) is
one error finding with its position and the rest is still checked; Helm values and chart
directories (input/not-a-manifest, input/helm-chart) and Kustomize files and the patches they
name (input/kustomization) are skipped with an info finding.

-k DIR builds the kustomization in DIR in-process, as kubectl apply -k would (files within each
kustomization's root, no plugins), and validates what it builds; a remote base or URL is refused
at its entry, never fetched. A finding names the source file and line where the object, or the
field, comes out of the build as that file wrote it; on what a patch or transformer changed it
names the kustomization and the resource; on a generated object, its generator's entry. Each
kustomization is one closed unit for duplicates, as a render is.

Files and directories are an open world: other charts and operators create objects they do not
hold, so a reference to an object not in the input is a warning (refs/unresolved), and two
objects are duplicates only within one argument (a file, a directory tree, stdin). The render
(no arguments, --rendered) and --closed are a closed world: the input is everything, unresolved
references are errors and duplicates are judged across all of it. --known-objects lists what
exists outside the input ({kind, namespace, name} entries, or a kubectl get -o yaml List).

Rules can be tuned (--list-rules lists them): .gwctl.yaml in the current directory (or
--rules-config FILE) holds rules: {<rule-id>: off|info|warning|error}, and so may the platform
config's validate: section (-c); rule by rule, --rule <rule-id>=<level> wins over .gwctl.yaml,
which wins over the platform config, as a linter's flags win over its config files; an object annotated
gwctl.infergw.dev/ignore: "<rule-id>[,<rule-id>] -- <reason>" has those findings suppressed
(--verbose lists them with the reason; without a reason nothing is suppressed and the annotation
is a warning); --baseline findings.json (an earlier -o json run) reports only new findings,
matched on rule, resource and field path, not lines.

Exit 0 clean, 1 errors (or warnings with --strict), 2 usage or input errors: an unreadable
path, a bad flag, or no resources at all (unless --allow-empty), so a failed render piped in
fails the pipeline. --portable instead lists what would not carry over to a standby gateway on
another implementation, and exits 0.`,
		Example: `  gwctl validate                                   # the bundled platform's render
  gwctl render | gwctl validate - --closed
  gwctl validate manifests/ --strict --junit-file report.xml --sarif-file report.sarif
  gwctl validate apps/ --known-objects cluster-objects.yaml
  gwctl validate -o json clusters/dev/ > findings.json
  gwctl validate -k clusters/prod/chat-ui               # a kustomization, built in-process
  gwctl validate --portable --enable fallback
  gwctl validate --list-schemas --agentgateway-version v1.4.1
  gwctl validate clusters/dev/ --baseline findings.json   # only what is new since findings.json
  gwctl validate --list-rules`,
		RunE: func(c *cobra.Command, args []string) error { return o.run(c, args) },
	}
	f := c.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "stdout format: text, json, junit or sarif")
	f.StringVar(&o.junitFile, "junit-file", "", "also write a JUnit report to this file")
	f.StringVar(&o.sarifFile, "sarif-file", "", "also write a SARIF 2.1.0 report to this file")
	f.StringVar(&o.jsonFile, "json-file", "", "also write the findings as JSON to this file")
	f.BoolVar(&o.summary, "summary", false, "print a summary line to stderr")
	f.BoolVar(&o.rendered, "rendered", false, "validate the current render (the default with no arguments)")
	f.BoolVar(&o.opts.Strict, "strict", false, "warnings fail the run too")
	f.BoolVar(&o.opts.Verbose, "verbose", false, "also report resources skipped")
	f.BoolVar(&o.opts.IgnoreMissingSchemas, "ignore-missing-schemas", false, "skip resources of kinds with no schema instead of failing")
	f.StringVar(&o.opts.AgentgatewayVersion, "agentgateway-version", validate.DefaultAgentgatewayVersion, "agentgateway release the resources target (embedded schemas: v1.2.1, v1.3.1, v1.4.1)")
	f.StringVar(&o.opts.InferenceExtensionVersion, "inference-extension-version", "", "Gateway API Inference Extension release of the cluster's InferencePool CRD (v1.5 or v1.6; default: v1.6, warning on pools v1.5 rejects)")
	f.BoolVar(&o.listSchemas, "list-schemas", false, "list the embedded schemas (group/version/kind, upstream, release, in use) and exit")
	f.StringVar(&o.opts.ControllerName, "controller-name", gateway.DefaultControllerName, "GatewayClass controllerName of the dataplane that serves these manifests (as dataplane --controller-name): the dataplane's own checks apply to Gateways of classes naming it or not in the input, not to other implementations' Gateways")
	f.StringArrayVar(&o.opts.CRDDirs, "crds", nil, "directory of CRDs used for their kinds, over the embedded schemas (repeatable)")
	f.BoolVar(&o.portableOnly, "portable", false, "list implementation-specific resources and fields, with what the standby does instead")
	f.BoolVar(&o.closed, "closed", false, "the input is the whole world: unresolved references are errors, duplicates are judged across all inputs")
	f.BoolVar(&o.allowEmpty, "allow-empty", false, "no resources in the input is a pass, not an input error")
	f.BoolVar(&o.listRules, "list-rules", false, "list every rule id with its default severity and what it checks, and exit")
	f.StringVar(&o.rulesConfig, "rules-config", "", "file with rules: {<rule-id>: off|info|warning|error} (default: .gwctl.yaml in the current directory, if present); wins over the platform config's validate: section, rule by rule")
	f.StringArrayVar(&o.ruleFlags, "rule", nil, "set one rule for this run, <rule-id>=off|info|warning|error (repeatable; wins over every file)")
	f.StringVar(&o.baseline, "baseline", "", "-o json output of an earlier run: report only findings not in it (matched on rule, resource and field, not lines)")
	f.StringArrayVarP(&o.kustomize, "kustomize", "k", nil, "build this kustomization directory in-process (as kubectl apply -k) and validate its output; findings point into the source files (repeatable)")
	f.StringArrayVar(&o.knownFiles, "known-objects", nil, "YAML/JSON file of objects that exist outside the input: {kind, namespace, name} entries or a kubectl get -o yaml List (repeatable)")
	return c
}

func (o *validateOptions) run(c *cobra.Command, args []string) error {
	if o.listSchemas {
		return o.writeSchemaList()
	}
	if o.listRules {
		return o.writeRuleList()
	}
	tune, err := o.readTuning()
	if err != nil {
		return err
	}
	if o.rendered && (len(args) > 0 || len(o.kustomize) > 0) {
		return withCode(ExitUsage, fmt.Errorf("--rendered validates the render: give no paths or -k with it"))
	}
	if _, err := report.New(o.output, report.Options{}); err != nil {
		return withCode(ExitUsage, fmt.Errorf("--output: %w", err))
	}
	for _, file := range o.knownFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			return withCode(ExitUsage, fmt.Errorf("--known-objects: %w", err))
		}
		known, err := objects.ReadKnown(file, data)
		if err != nil {
			return withCode(ExitUsage, fmt.Errorf("--known-objects: %w", err))
		}
		o.opts.Known = append(o.opts.Known, known...)
	}
	o.opts.OpenWorld = !o.closed && (len(args) > 0 || len(o.kustomize) > 0)
	// Loading the schemas and reading the input are independent: do both at once.
	type built struct {
		v   *validate.Validator
		err error
	}
	ready := make(chan built, 1)
	if !o.portableOnly {
		go func() {
			v, err := validate.New(o.opts)
			ready <- built{v, err}
		}()
	}
	in, err := o.readWithKustomizations(c.Context(), args)
	if err != nil {
		return err
	}
	objs := in.objs
	var fs []finding.Finding
	var sum report.Summary
	if o.portableOnly {
		rep, err := portable.Check(objs)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		fs = o.applyTuning(tune, objs, append(rep.Findings(), in.findings...))
		sum = validate.Summarize(objs, fs, false)
	} else {
		b := <-ready
		if b.err != nil {
			return withCode(ExitUsage, b.err)
		}
		v := b.v
		if in.controllerName != "" && !c.Flags().Changed("controller-name") {
			v = v.WithControllerName(in.controllerName)
		}
		fs = o.applyTuning(tune, objs, append(in.position(v.Validate(c.Context(), objs)), in.findings...))
		sum = v.Summarize(objs, fs)
	}
	ropts := report.Options{ToolVersion: version.Get().Version, Color: o.color()}
	if err := writeReport(o.streams.Out, o.output, ropts, fs, sum); err != nil {
		return err
	}
	for _, extra := range []struct{ file, format string }{{o.junitFile, "junit"}, {o.sarifFile, "sarif"}, {o.jsonFile, "json"}} {
		if extra.file == "" {
			continue
		}
		var b strings.Builder
		ropts.Color = false
		if err := writeReport(&b, extra.format, ropts, fs, sum); err != nil {
			return err
		}
		if err := atomicfile.Write(extra.file, []byte(b.String()), 0o644); err != nil {
			return withCode(ExitUsage, err)
		}
	}
	if o.summary && o.output != "text" { // the text report ends with the summary line already
		fmt.Fprintln(o.streams.Err, sum.Line())
	}
	switch {
	case !o.portableOnly && sum.Failed():
		return withCode(ExitFindings, nil)
	case len(objs) == 0 && !o.allowEmpty:
		return withCode(ExitUsage, emptyInput(in))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// emptyInput is the error for an input with no resources: an empty stream is what a failed
// render leaves on a pipe, so it must not pass.
func emptyInput(in *input) error {
	msg := "no resources found in " + in.label
	if n := len(in.findings); n > 0 {
		msg += fmt.Sprintf(" (%d %s skipped: see the info findings)", n, plural(n, "file", "files"))
	}
	return errors.New(msg + "; --allow-empty accepts an empty input")
}

func writeReport(w io.Writer, format string, opts report.Options, fs []finding.Finding, sum report.Summary) error {
	wr, err := report.New(format, opts)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	return wr.Write(w, fs, sum)
}

// color is on for a terminal on stdout, unless NO_COLOR is set.
func (o *validateOptions) color() bool {
	if o.env("NO_COLOR") != "" {
		return false
	}
	f, ok := o.streams.Out.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newControls(g *globalOptions) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "controls [FILE|DIR|-]...",
		Short: "Which controls each route of the gateway enforces, computed from the render",
		Long: `For each HTTPRoute: authentication (mode and issuer), rate limiting (with its effective bucket:
requests + burst, per replica, shared by all clients), tracing (and whether its collector is in
the render) and fallback (dataplane priority groups and a standby gateway: implemented only when
both are present), each implemented, partial (with why) or absent. With no arguments it reads the
current render.`,
		Example: `  gwctl controls --enable mcp,observability
  gwctl controls -o json clusters/prod/`,
		RunE: func(c *cobra.Command, args []string) error {
			objs, err := g.objects(c.Context(), args)
			if err != nil {
				return err
			}
			rep := controls.Compute(objs).WithStandby(portable.HasStandby(objs))
			switch output {
			case "markdown", "md":
				return rep.WriteMarkdown(g.streams.Out)
			case "json":
				return rep.WriteJSON(g.streams.Out)
			}
			return withCode(ExitUsage, fmt.Errorf("--output %q: want markdown or json", output))
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "markdown", "markdown or json")
	return c
}
