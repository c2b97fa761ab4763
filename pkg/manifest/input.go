package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/finding"
)

// Rules of the findings Read reports about files rather than objects.
const (
	// RuleNotManifest: a file none of whose documents has apiVersion or kind (Helm values, another
	// tool's configuration). Info; the file is skipped.
	RuleNotManifest = "input/not-a-manifest"
	// RuleKustomization: a Kustomize file (kustomization.yaml, a Kustomization or Component, a
	// patch a kustomization names). Info; the file or object is skipped.
	RuleKustomization = "input/kustomization"
	// RuleHelmChart: a Helm chart directory (one holding Chart.yaml): its templates are not
	// manifests until rendered. Info; the directory is skipped.
	RuleHelmChart = "input/helm-chart"
	// RuleParse: a file that cannot be read as manifests (YAML syntax, a duplicate key, a
	// document that is not an object among documents that are, a limit). Error; the rest of the
	// input is still read.
	RuleParse = "input/parse"
)

const kustomizeGroup = "kustomize.config.k8s.io"

// gwctlGroup is the API group of gwctl's own files (a catalog's Group and Catalog): they sit in
// a platform repo beside its manifests and are not resources.
const gwctlGroup = "gwctl.infergw.dev"

// Input is what Read found: the objects, and findings about the files that gave none.
type Input struct {
	Objects  []*Object
	Findings []finding.Finding
}

// source is one file to read and the argument it was found through.
type source struct{ path, input string }

// Read reads the objects of paths (files, directory trees, "-" for stdin) as a repository holds
// them, like kubeconform: a file that cannot be parsed is one error finding with its position
// and the others are still read; Helm values, chart directories and Kustomize files are not
// manifests and are skipped with an info finding. Each object records the argument it came
// through (Object.Input). Only a path that cannot be read at all is an error.
func Read(paths []string, stdin io.Reader, lim Limits) (*Input, error) {
	srcs, notes, err := walk(paths)
	if err != nil {
		return nil, err
	}
	patches := kustomizePatches(srcs, lim)
	type result struct {
		objs  []*Object
		notes []finding.Finding
		err   error
	}
	results := make([]result, len(srcs))
	read := func(i int) {
		r := &results[i]
		r.objs, r.notes, r.err = readSource(srcs[i], patches, stdin, lim)
	}
	for i, s := range srcs {
		if s.path == "-" {
			read(i)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(srcs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(srcs) {
					return
				}
				if srcs[i].path != "-" {
					read(i)
				}
			}
		})
	}
	wg.Wait()
	in := &Input{Findings: notes}
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		in.Objects = append(in.Objects, r.objs...)
		in.Findings = append(in.Findings, r.notes...)
	}
	return in, nil
}

// walk expands paths as Files does (sorted, hidden entries skipped, symlinked files followed),
// with each file read once, and Helm chart directories left out with a finding.
func walk(paths []string) ([]source, []finding.Finding, error) {
	var out []source
	var notes []finding.Finding
	seen := map[string]bool{}
	add := func(path, input string) {
		key := path
		if path != "-" {
			key = filepath.Clean(path)
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, source{path, input})
		}
	}
	for _, p := range paths {
		if p == "-" {
			add(p, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, &Error{File: p, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
		}
		if !st.IsDir() {
			add(p, p)
			continue
		}
		found, err := walkDir(p, func(dir string) bool {
			chart := filepath.Join(dir, "Chart.yaml")
			if st, err := os.Stat(chart); err == nil && st.Mode().IsRegular() {
				notes = append(notes, chartNote(chart))
				return true
			}
			return false
		})
		if err != nil {
			return nil, nil, err
		}
		for _, f := range found {
			add(f, p)
		}
	}
	return out, notes, nil
}

func chartNote(chart string) finding.Finding {
	return finding.Finding{File: chart, Rule: RuleHelmChart, Severity: finding.Info,
		Message: "Helm chart: its templates are manifests only once rendered, so its directory is skipped (validate `helm template` output through stdin)"}
}

// KustomizationFiles are the names kustomize reads as a directory's kustomization, in its order.
var KustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// isKustomization reports whether a file name is one kustomize reads as a kustomization.
func isKustomization(path string) bool {
	return slices.Contains(KustomizationFiles, filepath.Base(path))
}

// kustomizePatches lists the files the kustomizations among srcs name as patches, replacements
// or transformer configurations: partial objects, not resources.
func kustomizePatches(srcs []source, lim Limits) map[string]string {
	patches := map[string]string{}
	for _, s := range srcs {
		if s.path == "-" || !isKustomization(s.path) {
			continue
		}
		data, err := os.ReadFile(s.path)
		if err != nil {
			continue // reported when the file itself is read
		}
		k, err := ParseMapping(s.path, data, lim)
		if err != nil {
			continue // kustomize reports its own file; gwctl does not validate it
		}
		dir := filepath.Dir(s.path)
		addPath := func(v any) {
			if p, ok := v.(string); ok && p != "" && !strings.ContainsAny(p, "\n:") {
				patches[filepath.Clean(filepath.Join(dir, p))] = s.path
			}
		}
		for _, key := range []string{"patchesStrategicMerge", "configurations", "transformers", "generators", "validators"} {
			l, _ := k.Content[key].([]any)
			for _, v := range l {
				addPath(v)
			}
		}
		for _, key := range []string{"patches", "patchesJson6902", "replacements"} {
			l, _ := k.Content[key].([]any)
			for _, v := range l {
				if m, ok := v.(map[string]any); ok {
					addPath(m["path"])
				}
			}
		}
	}
	return patches
}

// readSource reads one file into objects, or into a finding saying why it holds none.
func readSource(s source, patches map[string]string, stdin io.Reader, lim Limits) ([]*Object, []finding.Finding, error) {
	note := func(rule string, sev finding.Severity, msg string) []finding.Finding {
		return []finding.Finding{{File: s.path, Rule: rule, Severity: sev, Message: msg}}
	}
	if s.path != "-" {
		switch {
		case isKustomization(s.path):
			return nil, note(RuleKustomization, finding.Info, "Kustomize file, not a resource: skipped (`gwctl validate -k DIR` checks what it builds)"), nil
		case filepath.Base(s.path) == "Chart.yaml":
			return nil, []finding.Finding{chartNote(s.path)}, nil
		}
		if k, ok := patches[filepath.Clean(s.path)]; ok {
			return nil, note(RuleKustomization, finding.Info, fmt.Sprintf("Kustomize patch named by %s, not a whole resource: skipped", k)), nil
		}
	}
	data, err := readData(s.path, stdin, lim)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Msg != "" && !strings.HasPrefix(e.Msg, "cannot read") {
			return nil, []finding.Finding{parseFinding(s.path, e)}, nil // over the size limit
		}
		return nil, nil, err
	}
	objs, err := parseFile(s.path, data, lim)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && notObject.MatchString(e.Msg) && !objectLike(data) {
			return nil, note(RuleNotManifest, finding.Info, "no document has apiVersion or kind (Helm values or another tool's configuration): not a manifest, skipped"), nil
		}
		return nil, []finding.Finding{parseFinding(s.path, err)}, nil
	}
	out := objs[:0]
	var notes []finding.Finding
	for _, o := range objs {
		if o.Group() == gwctlGroup {
			notes = append(notes, finding.Finding{File: o.File, Line: o.Pos.Line, Column: o.Pos.Column, Resource: o.Resource(),
				Rule: RuleNotManifest, Severity: finding.Info, Message: "gwctl " + o.Kind + " declaration, not a resource: skipped"})
			continue
		}
		if o.Group() == kustomizeGroup && (o.Kind == "Kustomization" || o.Kind == "Component") {
			notes = append(notes, finding.Finding{File: o.File, Line: o.Pos.Line, Column: o.Pos.Column, Resource: o.Resource(),
				Rule: RuleKustomization, Severity: finding.Info, Message: "Kustomize " + o.Kind + ", not a resource: skipped"})
			continue
		}
		o.Input = s.input
		out = append(out, o)
	}
	return out, notes, nil
}

// readData reads a file, or stdin for "-", up to the size limit.
func readData(path string, stdin io.Reader, lim Limits) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = readLimited(stdin, lim.MaxFileBytes)
	} else {
		var f *os.File
		f, err = os.Open(path)
		if err == nil {
			data, err = readLimited(f, lim.MaxFileBytes)
			f.Close()
		}
	}
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.File = path
			return nil, e
		}
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
	}
	return data, nil
}

// parseFinding turns a parse error into the file's finding, positioned when the error is.
func parseFinding(file string, err error) finding.Finding {
	f := finding.Finding{File: file, Rule: RuleParse, Severity: finding.Error, Message: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		f.Line, f.Column, f.Message = e.Pos.Line, e.Pos.Column, e.Msg
	}
	return f
}

// notObject matches the errors Parse gives for a document that is not a Kubernetes object.
var notObject = regexp.MustCompile(`^document \d+ (has no apiVersion|has no kind|is a \w+, not a Kubernetes object)`)

// objectLike reports whether any document of data is a mapping with apiVersion or kind: such a
// file was meant as manifests, and one document without them is a mistake, not a values file.
func objectLike(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			return true
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i].Value; k == "apiVersion" || k == "kind" {
				return true
			}
		}
	}
}
