package registry

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

// gvk is a group/version/kind key.
type GVK struct{ Group, Version, Kind string }

func (k GVK) String() string {
	if k.Group == "" {
		return k.Version + "/" + k.Kind
	}
	return k.Group + "/" + k.Version + "/" + k.Kind
}

// registry maps group/version/kind to its schema. User CRDs replace embedded ones.
type Registry struct {
	mu    sync.RWMutex
	Kinds map[GVK]*schema.CRDVersion
	// origin of each group/kind: later sources replace all versions from earlier ones.
	origin map[string]string
	// pending holds the embedded files not read yet, by group/kind: a run reads only the CRDs
	// of the kinds it meets.
	pending map[string]*pendingCRD
}

// pendingCRD is an embedded CRD file, read on the first lookup of its kind.
type pendingCRD struct {
	once  sync.Once
	fsys  fs.FS
	file  string // in fsys
	label string // the directory it came from, for messages
	err   error
}

func New() *Registry {
	return &Registry{Kinds: map[GVK]*schema.CRDVersion{}, origin: map[string]string{}, pending: map[string]*pendingCRD{}}
}

func (r *Registry) Lookup(k GVK) *schema.CRDVersion {
	r.mu.RLock()
	c, p := r.Kinds[k], r.pending[k.Group+"/"+k.Kind]
	r.mu.RUnlock()
	if c != nil || p == nil {
		return c
	}
	if err := r.read(k.Group+"/"+k.Kind, p); err != nil {
		// The embedded files are generated and tested: this is a bug, reported where the
		// kind's schema would have compiled.
		return schema.FailedCRDVersion(p.label, err)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.Kinds[k]
}

// addPending registers an embedded file serving group/kind without reading it.
func (r *Registry) addPending(fsys fs.FS, label, file, group, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[group+"/"+kind] = &pendingCRD{fsys: fsys, file: file, label: label}
}

// read registers a pending file's CRD, once.
func (r *Registry) read(gk string, p *pendingCRD) error {
	p.once.Do(func() {
		name := filepath.Join(p.label, filepath.FromSlash(p.file))
		data, err := fs.ReadFile(p.fsys, p.file)
		var crds []*lazyCRD
		if err == nil {
			crds, err = parseCRDs(name, data, true)
		}
		if err != nil {
			p.err = fmt.Errorf("reading %s: %w", name, err)
			return
		}
		r.mu.RLock()
		current := r.pending[gk] == p // not replaced by a CRD the user gave
		r.mu.RUnlock()
		if !current {
			return
		}
		// addLazy drops the pending entry as it adds the versions, under one lock: a
		// concurrent lookup sees one or the other, and waits on once for the versions.
		for _, crd := range crds {
			r.addLazy(crd, name)
		}
	})
	return p.err
}

// readKind reads the pending file of group/kind, if any (errors surface on lookup).
func (r *Registry) readKind(group, kind string) {
	r.mu.RLock()
	p := r.pending[group+"/"+kind]
	r.mu.RUnlock()
	if p != nil {
		_ = r.read(group+"/"+kind, p)
	}
}

// add registers every served version of crd, replacing what an earlier source registered for its kind.
func (r *Registry) Add(crd *apiextv1.CustomResourceDefinition, source string) {
	r.addLazy(&lazyCRD{crd: crd}, source)
}

// addLazy is add for a CRD whose version schemas may still be undecoded.
func (r *Registry) addLazy(l *lazyCRD, source string) {
	crd := l.crd
	r.mu.Lock()
	defer r.mu.Unlock()
	gk := crd.Spec.Group + "/" + crd.Spec.Names.Kind
	delete(r.pending, gk)
	if prev, ok := r.origin[gk]; ok && prev != source {
		for k := range r.Kinds {
			if k.Group == crd.Spec.Group && k.Kind == crd.Spec.Names.Kind {
				delete(r.Kinds, k)
			}
		}
	}
	r.origin[gk] = source
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		var raw map[string]any
		if i < len(l.schemas) {
			raw = l.schemas[i]
		}
		if !v.Served || (raw == nil && (v.Schema == nil || v.Schema.OpenAPIV3Schema == nil)) {
			continue
		}
		// Only the embedded CRDs come with undecoded schemas (parseCRDs with lazy).
		c := &schema.CRDVersion{Source: source, Namespaced: crd.Spec.Scope != apiextv1.ClusterScoped, Raw: raw, Embedded: raw != nil, Version: v.Name}
		if raw == nil {
			c.Props = v.Schema.OpenAPIV3Schema
		}
		r.Kinds[GVK{crd.Spec.Group, v.Name, crd.Spec.Names.Kind}] = c
	}
}

// isCRD reports whether o is a CustomResourceDefinition.
func IsCRD(o *manifest.Object) bool {
	return o.Kind == "CustomResourceDefinition" && o.Group() == "apiextensions.k8s.io"
}

// crdFromObject converts a decoded CRD object.
func CRDFromObject(o *manifest.Object) (*apiextv1.CustomResourceDefinition, error) {
	crd := &apiextv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Content, crd); err != nil {
		return nil, fmt.Errorf("%s: decoding CustomResourceDefinition %q: %w", o.File, o.Name, err)
	}
	if crd.Spec.Group == "" || crd.Spec.Names.Kind == "" {
		return nil, fmt.Errorf("%s: CustomResourceDefinition %q has no spec.group or spec.names.kind", o.File, o.Name)
	}
	return crd, nil
}

// lazyCRD is a CRD decoded but for its versions' schemas, which stay decoded YAML until a
// resource of that version needs them: the embedded Gateway API CRDs are most of what gwctl
// reads at start, and a run seldom uses more than one version of each.
type lazyCRD struct {
	crd     *apiextv1.CustomResourceDefinition
	schemas []map[string]any // spec.versions[i].schema.openAPIV3Schema, nil where absent
}

// lazyCRDFromObject converts a decoded CRD object but for its versions' schemas.
func lazyCRDFromObject(o *manifest.Object) (*lazyCRD, error) {
	spec, _ := o.Content["spec"].(map[string]any)
	versions, _ := spec["versions"].([]any)
	if versions == nil {
		crd, err := CRDFromObject(o)
		return &lazyCRD{crd: crd}, err
	}
	l := &lazyCRD{schemas: make([]map[string]any, len(versions))}
	stripped := make([]any, len(versions))
	for i, v := range versions {
		vm, ok := v.(map[string]any)
		if !ok {
			crd, err := CRDFromObject(o) // let the converter report the bad shape
			return &lazyCRD{crd: crd}, err
		}
		stripped[i] = vm
		sm, _ := vm["schema"].(map[string]any)
		if raw, ok := sm["openAPIV3Schema"].(map[string]any); ok {
			l.schemas[i] = raw
			vm = maps.Clone(vm)
			delete(vm, "schema")
			stripped[i] = vm
		}
	}
	specCopy := maps.Clone(spec)
	specCopy["versions"] = stripped
	content := maps.Clone(o.Content)
	content["spec"] = specCopy
	shallow := *o
	shallow.Content = content
	crd, err := CRDFromObject(&shallow)
	if err != nil {
		return nil, err
	}
	l.crd = crd
	return l, nil
}

// loadCRDFS reads every CRD in the YAML/JSON files of fsys (recursively), sorted by path.
// With lazy, version schemas are decoded on first use (the embedded CRDs, known to decode);
// otherwise a schema that does not decode fails the load, naming its file.
func (r *Registry) LoadCRDFS(fsys fs.FS, label string, lazy bool) error {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && manifest.IsManifestFile(p) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading CRDs from %s: %w", label, err)
	}
	sort.Strings(files)
	// Files are parsed in parallel and registered in path order, so that later ones win alike.
	type parsed struct {
		name string
		crds []*lazyCRD
		err  error
	}
	results := make([]parsed, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, goruntime.GOMAXPROCS(0))
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := filepath.Join(label, filepath.FromSlash(f))
			data, err := fs.ReadFile(fsys, f)
			if err != nil {
				results[i] = parsed{err: fmt.Errorf("reading %s: %w", name, err)}
				return
			}
			crds, err := parseCRDs(name, data, lazy)
			results[i] = parsed{name: name, crds: crds, err: err}
		}()
	}
	wg.Wait()
	for _, p := range results {
		if p.err != nil {
			return p.err
		}
		for _, crd := range p.crds {
			r.addLazy(crd, p.name)
		}
	}
	return nil
}

// loadCRDFile registers the CRDs in one file's content; other kinds are ignored.
func (r *Registry) loadCRDFile(name string, data []byte) error {
	crds, err := parseCRDs(name, data, false)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		r.addLazy(crd, name)
	}
	return nil
}

// parseCRDs decodes the CustomResourceDefinitions in one file's content. With lazy, their
// versions' schemas stay undecoded until first use (for the embedded CRDs, known to decode).
func parseCRDs(name string, data []byte, lazy bool) ([]*lazyCRD, error) {
	objs, err := manifest.Parse(name, data, manifest.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("reading CRDs: %w", err)
	}
	var out []*lazyCRD
	for _, o := range objs {
		if !IsCRD(o) {
			continue
		}
		var l *lazyCRD
		if lazy {
			l, err = lazyCRDFromObject(o)
		} else {
			l = &lazyCRD{}
			l.crd, err = CRDFromObject(o)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// loadCRDDir reads the CRDs under a directory or in one file.
func (r *Registry) LoadCRDDir(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("CRD dir: %w", err)
	}
	if !st.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("CRD file: %w", err)
		}
		return r.loadCRDFile(path, data)
	}
	return r.LoadCRDFS(os.DirFS(path), strings.TrimSuffix(path, "/"), false)
}

// versions lists the versions the registry serves of group and kind.
func (r *Registry) Versions(group, kind string) []string {
	r.readKind(group, kind)
	r.mu.RLock()
	defer r.mu.RUnlock()
	var vs []string
	for k := range r.Kinds {
		if k.Group == group && k.Kind == kind {
			vs = append(vs, k.Version)
		}
	}
	return vs
}

// checkCRD compiles each version of a CRD in the input, reporting schemas the API server would refuse.
func CheckCRD(o *manifest.Object) []finding.Finding {
	crd, err := CRDFromObject(o)
	if err != nil {
		return []finding.Finding{o.Finding("spec", schema.RuleBadSchema, finding.Error, err.Error())}
	}
	reg := New()
	reg.Add(crd, o.File)
	var out []finding.Finding
	for i, v := range crd.Spec.Versions {
		c := reg.Kinds[GVK{crd.Spec.Group, v.Name, crd.Spec.Names.Kind}]
		if c == nil {
			continue
		}
		if err := c.Compile(); err != nil {
			out = append(out, o.Finding(fmt.Sprintf("spec.versions[%d].schema.openAPIV3Schema", i), schema.RuleBadSchema, finding.Error, err.Error()))
		}
	}
	return out
}
