package celnative

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/cel/library"
	"sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/internal/corpus"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/schemas"
)

// rule is one x-kubernetes-validations rule at one schema node, compiled both ways.
type rule struct {
	crd, path, src string
	self           *structuralschema.Structural // the adaptor's schema for self
	celSchema      common.Schema
	prog           cel.Program // nil when cel-go does not compile it or it uses oldSelf
	native         *Program    // nil when Compile declines
}

// ruleNode mirrors pkg/validate's celValidator walk: the rules of a schema node and the nodes below it.
type ruleNode struct {
	rules      []*rule
	items      *ruleNode
	additional *ruleNode
	properties map[string]*ruleNode
}

func buildRuleNode(crd, path string, s *structuralschema.Structural, isRoot bool, declType *apiservercel.DeclType) *ruleNode {
	if s == nil || declType == nil {
		return nil
	}
	n := &ruleNode{}
	if len(s.XValidations) > 0 {
		self := s
		if isRoot {
			self = model.WithTypeAndObjectMeta(s)
		}
		env, err := Env(declType)
		if err != nil {
			panic(fmt.Sprintf("%s %s: %v", crd, path, err))
		}
		for _, xv := range s.XValidations {
			r := &rule{crd: crd, path: path, src: xv.Rule, self: self, celSchema: &model.Structural{Structural: self}}
			ast, iss := env.Compile(xv.Rule)
			if iss.Err() == nil && !usesOldSelf(ast) {
				prog, err := env.Program(ast, cel.CostTracking(&library.CostEstimator{}), cel.CostLimit(celconfig.PerCallLimit))
				if err != nil {
					panic(err)
				}
				r.prog = prog
				r.native, _ = Compile(ast, self)
			}
			n.rules = append(n.rules, r)
		}
	}
	if s.Items != nil {
		n.items = buildRuleNode(crd, path+"[*]", s.Items, s.Items.XEmbeddedResource, declType.ElemType)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
		ap := s.AdditionalProperties.Structural
		n.additional = buildRuleNode(crd, path+"{*}", ap, ap.XEmbeddedResource, declType.ElemType)
	}
	for k := range s.Properties {
		p := s.Properties[k]
		var ft *apiservercel.DeclType
		if escaped, ok := apiservercel.Escape(k); ok {
			if f, ok := declType.Fields[escaped]; ok {
				ft = f.Type
			}
		} else {
			ft = model.SchemaDeclType(&p, p.XEmbeddedResource)
		}
		if c := buildRuleNode(crd, path+"."+k, &p, p.XEmbeddedResource, ft); c != nil {
			if n.properties == nil {
				n.properties = map[string]*ruleNode{}
			}
			n.properties[k] = c
		}
	}
	if len(n.rules) == 0 && n.items == nil && n.additional == nil && n.properties == nil {
		return nil
	}
	return n
}

func usesOldSelf(ast *cel.Ast) bool {
	for _, r := range ast.NativeRep().ReferenceMap() {
		if r.Name == oldSelfVar {
			return true
		}
	}
	return false
}

// visit calls f for every rule and the value it applies to, as pkg/validate's walk does.
func (n *ruleNode) visit(v any, f func(*rule, any)) {
	if n == nil || v == nil {
		return
	}
	for _, r := range n.rules {
		f(r, v)
	}
	switch v := v.(type) {
	case []any:
		if n.items != nil {
			for _, e := range v {
				n.items.visit(e, f)
			}
		}
	case map[string]any:
		for k, e := range v {
			if n.additional != nil {
				n.additional.visit(e, f)
			}
			if c, ok := n.properties[k]; ok {
				c.visit(e, f)
			}
		}
	}
}

func (n *ruleNode) all(f func(*rule)) {
	if n == nil {
		return
	}
	for _, r := range n.rules {
		f(r)
	}
	n.items.all(f)
	n.additional.all(f)
	keys := make([]string, 0, len(n.properties))
	for k := range n.properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.properties[k].all(f)
	}
}

// crdVersion is one served version of a CRD with its compiled rules.
type crdVersion struct {
	name  string
	s     *structuralschema.Structural
	rules *ruleNode
}

// suite is every CRD (gwctl's schemas and the upstream ones), by group/version/kind.
type suite struct {
	byGVK map[string]*crdVersion
	list  []*crdVersion
}

var (
	suiteOnce sync.Once
	theSuite  *suite
	suiteErr  error
)

func loadSuite(t testing.TB) *suite {
	t.Helper()
	agw := filepath.Join(testenv.RepoRoot(t), "testdata", "agentgateway-v1.2.1")
	gwapi := filepath.Join(testenv.RepoRoot(t), "testdata", "gateway-api", "crd", "standard")
	suiteOnce.Do(func() {
		theSuite = &suite{byGVK: map[string]*crdVersion{}}
		files, _ := fs.Glob(schemas.FS, "*/*/*.yaml")
		for _, f := range files {
			data, err := fs.ReadFile(schemas.FS, f)
			if err == nil {
				err = theSuite.add("schemas/"+f, data)
			}
			if err != nil {
				suiteErr = err
				return
			}
		}
		for _, dir := range []string{agw, gwapi} {
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err == nil {
					err = theSuite.add("reference/"+filepath.Base(f), data)
				}
				if err != nil {
					suiteErr = err
					return
				}
			}
		}
	})
	if suiteErr != nil {
		t.Fatal(suiteErr)
	}
	return theSuite
}

// add compiles each version of the CRD in data. Upstream CRDs of a kind gwctl also ships are kept
// for their rules but documents validate against the first one loaded (gwctl's).
func (st *suite) add(name string, data []byte) error {
	var crd apiextv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		var internal apiextensions.JSONSchemaProps
		if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s, err := structuralschema.NewStructural(&internal)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		cv := &crdVersion{name: name + "@" + v.Name, s: s}
		cv.rules = buildRuleNode(cv.name, "", s, true, model.SchemaDeclType(s, true))
		st.list = append(st.list, cv)
		gvk := crd.Spec.Group + "/" + v.Name + "/" + crd.Spec.Names.Kind
		if _, ok := st.byGVK[gvk]; !ok {
			st.byGVK[gvk] = cv
		}
	}
	return nil
}

// document is one decoded object with where it came from.
type document struct {
	name string
	obj  map[string]any
}

// loadDocuments returns the upstream fixtures, gwctl's testdata and catalog, and n corpus documents.
func loadDocuments(t testing.TB, n int) []document {
	t.Helper()
	var docs []document
	addFile := func(name string, data []byte) {
		objs, err := manifest.Parse(name, data, manifest.DefaultLimits)
		if err != nil {
			return // templates and deliberately broken inputs
		}
		for i, o := range objs {
			docs = append(docs, document{name: fmt.Sprintf("%s#%d", name, i), obj: o.Content})
		}
	}
	walkDir := func(dir string) {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				return nil
			}
			if data, err := os.ReadFile(p); err == nil {
				addFile(p, data)
			}
			return nil
		})
	}
	root := testenv.RepoRoot(t)
	walkDir(filepath.Join(root, "testdata", "agentgateway-v1.2.1", "api-tests-testdata"))
	walkDir(filepath.Join(root, "testdata", "gateway-api", "invalid-examples"))
	walkDir(filepath.Join(root, "pkg", "validate", "testdata"))
	walkDir(filepath.Join(root, "groups"))
	if n > 0 {
		files, _ := corpus.Generate(n)
		for _, f := range files {
			addFile("corpus/"+f.Name, f.Data)
		}
	}
	return docs
}

// prepare prunes and defaults a copy of the document's object as pkg/validate does before CEL.
func (st *suite) prepare(d document) (*crdVersion, any) {
	apiVersion, _ := d.obj["apiVersion"].(string)
	kind, _ := d.obj["kind"].(string)
	group, version := "", apiVersion
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		group, version = apiVersion[:i], apiVersion[i+1:]
	}
	cv, ok := st.byGVK[group+"/"+version+"/"+kind]
	if !ok {
		return nil, nil
	}
	obj := deepCopy(d.obj).(map[string]any)
	pruning.Prune(obj, cv.s, true)
	structuraldefaulting.Default(obj, cv.s)
	return cv, obj
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// celEval evaluates the rule with cel-go as pkg/validate does: the tracked program over the adaptor.
func (r *rule) celEval(v any) (ref.Val, uint64, error) {
	self := common.UnstructuredToVal(v, r.celSchema)
	out, det, err := r.prog.Eval(map[string]any{selfVar: self})
	var cost uint64
	if det != nil && det.ActualCost() != nil {
		cost = *det.ActualCost()
	}
	if err != nil {
		return types.NewErr("%v", err), cost, err
	}
	return out, cost, nil
}
