package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	apiextcel "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apivalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/infergw/gwctl/internal/corpus"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/registry"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

// apiServer is the reference: kube-apiserver's create-time pipeline for a custom resource
// assembled from apiextensions-apiserver's own packages, unchanged (pruning, ObjectMeta,
// defaulting, the OpenAPI schema validator, list types, and its CEL validator). gwctl's
// pipeline (validateCR) must report exactly what it reports.
type apiServer struct {
	mu  sync.Mutex
	cel map[*schema.CRDVersion]*apiextcel.Validator
}

func (a *apiServer) validator(c *schema.CRDVersion) *apiextcel.Validator {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cel == nil {
		a.cel = map[*schema.CRDVersion]*apiextcel.Validator{}
	}
	v, ok := a.cel[c]
	if !ok {
		v = apiextcel.NewValidator(c.Structural, true, celconfig.PerCallLimit)
		a.cel[c] = v
	}
	return v
}

func (a *apiServer) validate(ctx context.Context, c *schema.CRDVersion, content map[string]any) ([]string, map[string]any) {
	obj := runtime.DeepCopyJSON(content)
	var out []string
	add := func(rule string, e *field.Error) { out = append(out, rule+" "+e.Error()) }
	for _, p := range pruning.PruneWithOptions(obj, c.Structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		add(schema.RuleUnknownField, field.Invalid(field.NewPath(p), nil, fmt.Sprintf("unknown field %q", p)))
	}
	meta, _, metaUnknown, err := objectmeta.GetObjectMetaWithOptions(obj, objectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	for _, p := range metaUnknown {
		add(schema.RuleUnknownField, field.Invalid(field.NewPath(p), nil, fmt.Sprintf("unknown field %q", p)))
	}
	switch {
	case err != nil:
		add(schema.RuleMetadata, field.Invalid(field.NewPath("metadata"), nil, err.Error()))
	case meta != nil:
		m := *meta
		if c.Namespaced && m.Namespace == "" {
			m.Namespace = "default"
		}
		for _, e := range metavalidation.ValidateObjectMeta(&m, c.Namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata")) {
			add(schema.RuleMetadata, e)
		}
	default:
		add(schema.RuleMetadata, field.Required(field.NewPath("metadata"), ""))
	}
	defaulting.Default(obj, c.Structural)
	schemaErrs := apivalidation.ValidateCustomResource(nil, obj, apivalidation.NewSchemaValidatorFromOpenAPI(c.OpenAPI))
	schemaErrs = append(schemaErrs, listtype.ValidateListSetsAndMaps(nil, c.Structural, obj)...)
	for _, e := range schemaErrs {
		add(schema.RuleFor(e), e)
	}
	if v := a.validator(c); v != nil {
		if schema.Blocking(schemaErrs) {
			add(schema.RuleCELSkipped, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"))
		} else {
			errs, _ := v.Validate(ctx, nil, c.Structural, obj, nil, celconfig.RuntimeCELCostBudget)
			for _, e := range errs {
				add(schema.RuleCEL, e)
			}
		}
	}
	sort.Strings(out)
	return out, obj
}

// gwctlCR runs gwctl's pipeline on the same object, rendered the same way.
func gwctlCR(ctx context.Context, c *schema.CRDVersion, content map[string]any) ([]string, map[string]any) {
	errs, obj := schema.ValidateCR(ctx, c, content)
	out := make([]string, 0, len(errs))
	for _, fe := range errs {
		out = append(out, fe.Rule+" "+fe.Err.Error())
	}
	sort.Strings(out)
	return out, obj
}

// oracleObjects gathers custom resources to compare on: the upstream fixtures (valid and
// must-fail), the bundled platform, and the benchmark corpus.
func oracleObjects(t *testing.T) []*manifest.Object {
	t.Helper()
	var objs []*manifest.Object
	parse := func(name string, data []byte) {
		got, err := manifest.Parse(name, data, manifest.DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, o := range got {
			delete(o.Content, "_err")
		}
		objs = append(objs, got...)
	}
	var files []string
	ref := filepath.Join(testenv.RepoRoot(t), "testdata")
	agw, _ := filepath.Glob(filepath.Join(ref, "agentgateway-v1.2.1", "api-tests-testdata", "*.yaml"))
	files = append(files, agw...)
	filepath.WalkDir(filepath.Join(ref, "gateway-api", "invalid-examples"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	platform, _ := filepath.Glob(filepath.Join("testdata", "platform", "*.yaml"))
	files = append(files, platform...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parse(f, data)
	}
	generated, _ := corpus.Generate(1000)
	for _, f := range generated {
		parse(f.Name, f.Data)
	}
	return objs
}

// TestPipelineMatchesAPIServer: on every custom resource of the fixtures, the platform and the
// corpus, gwctl reports the same errors as the API server's own code, and defaults the same.
func TestPipelineMatchesAPIServer(t *testing.T) {
	v, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	compared, failing, celErrors := compareWithAPIServer(t, v, oracleObjects(t))
	if compared < 500 || celErrors < 50 {
		t.Fatalf("only %d custom resources compared, %d CEL errors: the comparison proves little", compared, celErrors)
	}
	t.Logf("%d custom resources (%d with errors, %d CEL errors): same errors and defaults as the API server's pipeline", compared, failing, celErrors)
}

// TestFeaturesMatchAPIServer covers what the CRDs above do not use, with test CRDs under
// testdata/apiserver: every CEL feature (Widget), every OpenAPI value check (Gadget), and
// pruning, defaulting and list types (Thing), the per-call cost limit and the cost budget of
// one object (Budget: gwctl answers most rules natively and counts their costs from above, so
// this is where its accounting must fall back to the API server's).
func TestFeaturesMatchAPIServer(t *testing.T) {
	for _, tc := range []struct {
		crd, objects                    string
		compared, failing, minCELErrors int
	}{
		{"crd.yaml", "widgets.yaml", 11, 10, 14},
		{"gadget-crd.yaml", "gadgets.yaml", 14, 13, 0},
		{"thing-crd.yaml", "things.yaml", 5, 3, 0},
		{"budget-crd.yaml", "budgets.yaml", 4, 3, 3},
	} {
		t.Run(tc.objects, func(t *testing.T) {
			v, err := New(Options{CRDDirs: []string{filepath.Join("testdata", "apiserver", tc.crd)}})
			if err != nil {
				t.Fatal(err)
			}
			compared, failing, celErrors := compareWithAPIServer(t, v, loadDir(t, filepath.Join("testdata", "apiserver", tc.objects)))
			if compared != tc.compared || failing != tc.failing || celErrors < tc.minCELErrors {
				t.Fatalf("compared %d, %d failing, %d CEL errors; want %d, %d, at least %d", compared, failing, celErrors, tc.compared, tc.failing, tc.minCELErrors)
			}
		})
	}
}

func compareWithAPIServer(t *testing.T, v *Validator, objs []*manifest.Object) (compared, failing, celErrors int) {
	t.Helper()
	ref := &apiServer{}
	ctx := context.Background()
	for _, o := range objs {
		c := v.embedded.Lookup(registry.GVK{Group: o.Group(), Version: o.Version(), Kind: o.Kind})
		if c == nil {
			continue
		}
		if err := c.Compile(); err != nil {
			t.Fatal(err)
		}
		compared++
		want, wantObj := ref.validate(ctx, c, o.Content)
		before := runtime.DeepCopyJSON(o.Content)
		got, gotObj := gwctlCR(ctx, c, o.Content)
		// The defaulted object shares what pruning and defaulting leave alone with the input:
		// the input must come out as it went in.
		if !reflect.DeepEqual(before, o.Content) {
			t.Errorf("%s %s/%s: validating changed the input object", o.File, o.Kind, o.Name)
		}
		if len(want) > 0 {
			failing++
		}
		for _, w := range want {
			if strings.HasPrefix(w, schema.RuleCEL+" ") {
				celErrors++
			}
		}
		if testing.Verbose() {
			t.Logf("%s/%s: %s", o.Kind, o.Name, strings.Join(want, "; "))
		}
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("%s %s/%s:\n api server: %s\n gwctl:      %s", o.File, o.Kind, o.Name, strings.Join(want, "\n             "), strings.Join(got, "\n             "))
		}
		if !reflect.DeepEqual(wantObj, gotObj) {
			t.Errorf("%s %s/%s: defaulted objects differ:\n api server: %v\n gwctl:      %v", o.File, o.Kind, o.Name, wantObj, gotObj)
		}
	}
	return compared, failing, celErrors
}
