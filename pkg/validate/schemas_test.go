package validate

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/infergw/gwctl/pkg/testenv"
	"github.com/infergw/gwctl/schemas"
)

// schemaPaths flattens a schema into field path -> type, and collects its rule messages by path.
func schemaPaths(s *apiextv1.JSONSchemaProps, path string, types map[string]string, rules map[string][]string) {
	types[path] = s.Type
	for _, e := range s.Enum {
		rules[path] = append(rules[path], "enum "+string(e.Raw))
	}
	if s.Default != nil {
		rules[path] = append(rules[path], "default "+string(s.Default.Raw))
	}
	for _, r := range s.XValidations {
		rules[path] = append(rules[path], r.Message)
	}
	for k, p := range s.Properties {
		schemaPaths(&p, path+"."+k, types, rules)
	}
	if s.Items != nil && s.Items.Schema != nil {
		schemaPaths(s.Items.Schema, path+"[]", types, rules)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		schemaPaths(s.AdditionalProperties.Schema, path+"{}", types, rules)
	}
}

// Our hand-written agentgateway and InferencePool schemas describe a subset of the published v1.2.1 API: every
// field we model exists upstream with the same type, enum values and default, and every rule
// message we print is one the upstream CRD prints at the same path.
func TestEmbeddedSchemasAreUpstreamSubset(t *testing.T) {
	ref := filepath.Join(testenv.RepoRoot(t), "testdata", "agentgateway-v1.2.1")
	gie := filepath.Join(testenv.RepoRoot(t), "testdata", "gie", "inference.networking.k8s.io_inferencepools.v1.6.0.yaml")
	up, ours := newRegistry(), newRegistry()
	if err := up.loadCRDFS(os.DirFS(ref), "upstream", false); err != nil {
		t.Fatal(err)
	}
	if err := up.loadCRDDir(gie); err != nil {
		t.Fatal(err)
	}
	if err := ours.loadCRDFS(schemas.FS, embeddedLabel, true); err != nil {
		t.Fatal(err)
	}
	for _, k := range []gvk{
		{agentgatewayGroup, "v1alpha1", "AgentgatewayPolicy"},
		{agentgatewayGroup, "v1alpha1", "AgentgatewayBackend"},
		{agentgatewayGroup, "v1alpha1", "AgentgatewayParameters"},
		{inferenceGroup, "v1", "InferencePool"},
	} {
		kind := k.Kind
		if up.kinds[k] == nil || ours.kinds[k] == nil {
			t.Fatalf("%s missing (upstream %v, ours %v)", kind, up.kinds[k] != nil, ours.kinds[k] != nil)
		}
		upTypes, upRules := map[string]string{}, map[string][]string{}
		ourTypes, ourRules := map[string]string{}, map[string][]string{}
		upProps, err := up.kinds[k].schema()
		if err != nil {
			t.Fatal(err)
		}
		ourProps, err := ours.kinds[k].schema()
		if err != nil {
			t.Fatal(err)
		}
		schemaPaths(upProps, "", upTypes, upRules)
		schemaPaths(ourProps, "", ourTypes, ourRules)
		var paths []string
		for p := range ourTypes {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		nrules := 0
		for _, p := range paths {
			ut, ok := upTypes[p]
			if !ok {
				t.Errorf("%s: %s is not in the upstream CRD", kind, p)
				continue
			}
			if ut != ourTypes[p] {
				t.Errorf("%s: %s has type %q, upstream %q", kind, p, ourTypes[p], ut)
			}
			for _, m := range ourRules[p] {
				nrules++
				if !containsString(upRules[p], m) {
					t.Errorf("%s: %s: rule message, enum value or default %q is not upstream's", kind, p, m)
				}
			}
		}
		t.Logf("%s: %d of %d upstream fields modelled, %d rules", kind, len(ourTypes), len(upTypes), nrules)
	}
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestLazySchemasMatchEager: the embedded CRDs, read with their version schemas decoded on first
// use, give the same versions and schemas as reading them whole.
func TestLazySchemasMatchEager(t *testing.T) {
	lazy, eager := newRegistry(), newRegistry()
	if err := lazy.loadCRDFS(schemas.FS, embeddedLabel, true); err != nil {
		t.Fatal(err)
	}
	if err := eager.loadCRDFS(schemas.FS, embeddedLabel, false); err != nil {
		t.Fatal(err)
	}
	if len(lazy.kinds) != len(eager.kinds) || len(lazy.kinds) < 10 {
		t.Fatalf("%d versions read lazily, %d eagerly", len(lazy.kinds), len(eager.kinds))
	}
	for k, e := range eager.kinds {
		l := lazy.kinds[k]
		if l == nil {
			t.Fatalf("%s: missing when read lazily", k)
		}
		lp, err := l.schema()
		if err != nil {
			t.Fatal(err)
		}
		ep, _ := e.schema()
		if l.namespaced != e.namespaced || l.source != e.source || !reflect.DeepEqual(lp, ep) {
			t.Errorf("%s: read lazily differs from read whole", k)
		}
	}
}
