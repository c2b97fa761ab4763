package validate

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/lint"
	"github.com/infergw/gwctl/pkg/validate/objects"
	"github.com/infergw/gwctl/pkg/validate/refs"
	"github.com/infergw/gwctl/pkg/validate/registry"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

// Validate checks every object on its own (in parallel), then the set as a whole, and returns
// the findings sorted by file and position, without duplicates.
func (v *Validator) Validate(ctx context.Context, objs []*manifest.Object) []finding.Finding {
	run := &run{v: v, overlay: registry.New()}
	var out []finding.Finding
	// CRDs in the input serve resources of their kind and replace the embedded schema for it.
	for _, o := range objs {
		if !registry.IsCRD(o) {
			continue
		}
		crd, err := registry.CRDFromObject(o)
		if err != nil {
			out = append(out, o.Finding("spec", schema.RuleDecode, finding.Error, err.Error()))
			continue
		}
		run.overlay.Add(crd, o.File)
	}

	per := make([][]finding.Finding, len(objs))
	defaulted := make([]map[string]any, len(objs))
	workers := v.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Workers take the next object from a shared counter: a feeding goroutine would need a
	// processor of its own to hand each object over, and there are only GOMAXPROCS of them.
	var next atomic.Int64
	var wg sync.WaitGroup
	done := ctx.Done()
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				i := int(next.Add(1)) - 1
				if i >= len(objs) {
					return
				}
				per[i], defaulted[i] = run.object(ctx, objs[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return append(out, finding.Finding{Rule: "validate/cancelled", Severity: finding.Error, Message: fmt.Sprintf("validation stopped: %v", err)})
	}
	n := len(out)
	for _, fs := range per {
		n += len(fs)
	}
	out = slices.Grow(out, n-len(out))
	for _, fs := range per {
		out = append(out, fs...)
	}

	// The checks over the whole set only read it: they run side by side.
	set := v.objectSet(objs, defaulted)
	set.ControllerName = v.opts.ControllerName
	var dups, cross, linted, compiled []finding.Finding
	var sg sync.WaitGroup
	sg.Go(func() { dups = objects.Duplicates(set) })
	if !v.opts.SkipCrossResource {
		sg.Go(func() { cross = refs.Check(set) })
	}
	sg.Go(func() { linted = lint.Check(set, v.opts.SkipCrossResource) })
	if !v.opts.SkipCompile {
		perObject := out
		sg.Go(func() { compiled = v.compile(objs, perObject) })
	}
	sg.Wait()
	out = slices.Grow(out, len(dups)+len(cross)+len(linted)+len(compiled))
	out = append(append(append(out, dups...), cross...), linted...)
	compiled, restated := v.restated(compiled)
	out = explainKnockOns(append(out, repeats(compiled, out)...), restated)
	if !v.opts.Verbose {
		out = dropInfoVerbose(out)
	}
	out = dedupe(out)
	finding.Sort(out)
	return out
}

// run holds the state of one Validate call.
type run struct {
	v       *Validator
	overlay *registry.Registry
}

func (r *run) lookup(k registry.GVK) *schema.CRDVersion {
	if c := r.overlay.Lookup(k); c != nil {
		return c
	}
	return r.v.embedded.Lookup(k)
}

// object validates one object alone and returns its findings and, for custom resources, the
// object with schema defaults applied (cross-resource checks read defaulted values).
func (r *run) object(ctx context.Context, o *manifest.Object) ([]finding.Finding, map[string]any) {
	k := registry.GVK{Group: o.Group(), Version: o.Version(), Kind: o.Kind}
	if c := r.lookup(k); c != nil {
		if err := c.Compile(); err != nil {
			return []finding.Finding{o.Finding("", schema.RuleBadSchema, finding.Error, err.Error())}, nil
		}
		errs, defaulted := schema.ValidateCR(ctx, c, o.Content)
		fs := make([]finding.Finding, 0, len(errs))
		for _, fe := range errs {
			fs = append(fs, schema.ToFinding(o, fe))
		}
		if o.Group() == objects.AgentgatewayGroup && registry.IsEmbeddedSource(c.Source) {
			fs = r.v.versionFindings(o, fs)
		}
		if o.Group() == objects.InferenceGroup && registry.IsEmbeddedSource(c.Source) && len(r.v.gie.older) > 0 && !finding.HasErrors(fs, false) {
			fs = append(fs, r.v.olderReleases(ctx, o)...)
		}
		return fs, defaulted
	}
	if r.v.builtins.Recognizes(k) {
		fs := r.v.builtins.Validate(o)
		if registry.IsCRD(o) {
			fs = append(fs, registry.CheckCRD(o)...)
		}
		return fs, nil
	}
	sev, msg := finding.Error, fmt.Sprintf("no schema for %s %s: pass its CRD in the input or with --crds, or use --ignore-missing-schemas", o.APIVersion, o.Kind)
	if r.v.opts.IgnoreMissingSchemas {
		sev, msg = finding.Info, fmt.Sprintf("skipped: no schema for %s %s", o.APIVersion, o.Kind)
	}
	if known := r.otherVersions(k); known != "" {
		msg = fmt.Sprintf("%s %s is not a served version of %s (served: %s)", o.APIVersion, o.Kind, o.Kind, known)
		sev = finding.Error
	}
	return []finding.Finding{o.Finding("apiVersion", schema.RuleMissingSchema, sev, msg)}, nil
}

// otherVersions lists the served versions of k's group and kind, when k's version is not one.
func (r *run) otherVersions(k registry.GVK) string {
	var vs []string
	for _, reg := range []*registry.Registry{r.overlay, r.v.embedded} {
		vs = append(vs, reg.Versions(k.Group, k.Kind)...)
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}

// compile runs the dataplane's compiler over the objects that passed their own checks, so
// that its findings are about what the dataplane does, not a repeat of schema errors (the
// caller drops those that restate another check's finding).
func (v *Validator) compile(objs []*manifest.Object, prior []finding.Finding) []finding.Finding {
	bad := map[object]bool{}
	for _, f := range prior {
		if f.Severity == finding.Error && strings.HasPrefix(f.Rule, "schema/") {
			bad[objectAt(f.File, f.Resource)] = true
		}
	}
	var ok []*manifest.Object
	for _, o := range objs {
		if !bad[objectAt(o.File, o.Resource())] {
			ok = append(ok, o)
		}
	}
	var fs []finding.Finding
	if v.opts.Compile != nil {
		fs = v.opts.Compile(ok)
	} else {
		_, fs = gateway.Compile(ok, gateway.Options{AssumeServices: v.opts.OpenWorld || len(v.opts.Known) > 0,
			ControllerName: cmp.Or(v.opts.ControllerName, gateway.DefaultControllerName), AlsoControllers: []string{AgentgatewayController}})
	}
	return fs
}

// object identifies the object a finding is about as its text does (file, and the resource as
// Resource.String prints it), without building the text.
type object struct{ file, kind, ns, name string }

func objectAt(file string, r finding.Resource) object {
	if r.Kind == "" {
		return object{file: file}
	}
	return object{file, r.Kind, r.Namespace, r.Name}
}

// repeats drops compiler findings that restate an earlier finding on the same object: same
// field, or a field inside it (the compiler often points at .name of the reference we reported).
// A compiler error is dropped only for an earlier error: the dataplane refuses what the
// compiler reports as an error, so validate must fail too, even where a lint only warned.
func repeats(fs, prior []finding.Finding) []finding.Finding {
	type at struct {
		field string
		sev   finding.Severity
	}
	fields := map[object][]at{}
	for _, f := range prior {
		if f.Severity == finding.Info {
			continue
		}
		k := objectAt(f.File, f.Resource)
		fields[k] = append(fields[k], at{f.Field, f.Severity})
	}
	out := fs[:0]
next:
	for _, f := range fs {
		for _, p := range fields[objectAt(f.File, f.Resource)] {
			if p.sev < f.Severity {
				continue
			}
			if f.Field == p.field || (p.field != "" && (strings.HasPrefix(f.Field, p.field+".") || strings.HasPrefix(f.Field, p.field+"["))) {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// dropInfoVerbose removes the info findings that only --verbose shows.
func dropInfoVerbose(fs []finding.Finding) []finding.Finding {
	out := fs[:0]
	for _, f := range fs {
		if f.Severity == finding.Info && verboseOnly[f.Rule] {
			continue
		}
		out = append(out, f)
	}
	return out
}

// verboseOnly are the info rules shown only with Verbose.
var verboseOnly = map[string]bool{schema.RuleMissingSchema: true}

// dedupe drops findings with the same file, line, field and message (the compiler and the
// cross-resource checks may both report a problem).
func dedupe(fs []finding.Finding) []finding.Finding {
	type key struct {
		file       string
		line       int
		field, msg string
	}
	seen := make(map[key]struct{}, len(fs))
	out := fs[:0]
	for _, f := range fs {
		k := key{f.File, f.Line, f.Field, f.Message}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, f)
	}
	return out
}
