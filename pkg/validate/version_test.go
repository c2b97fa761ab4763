package validate

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/validate/objects"
	"github.com/infergw/gwctl/pkg/validate/registry"
	"github.com/infergw/gwctl/schemas"
)

// TestVersionTableMatchesSchemas: the hand-written rows for releases older than any embedded
// agree with the oldest embedded release: what they say is there is, what they say was removed
// is not, and none is about a release the embedded schemas already describe.
func TestVersionTableMatchesSchemas(t *testing.T) {
	oldest := registry.Releases(schemas.Agentgateway)[0]
	reg := oldest.Registry()
	for _, vf := range versionFields {
		if oldest.Ver.Less(vf.since) {
			t.Errorf("%s %s: since %s, which the embedded schemas describe: drop the row", vf.kind, vf.path, vf.since)
		}
		c := reg.Lookup(registry.GVK{Group: objects.AgentgatewayGroup, Version: "v1alpha1", Kind: vf.kind})
		if c == nil {
			t.Fatalf("no %s in %s", vf.kind, oldest.Set.Dir)
		}
		props, err := c.Schema()
		if err != nil {
			t.Fatal(err)
		}
		has := schemaAt(props, strings.Split(vf.path, ".")) != nil
		if removed := vf.until != (registry.Semver{}); has == removed {
			t.Errorf("%s %s: in %s = %v, but the table says removed = %v", vf.kind, vf.path, oldest.Set.Version, has, removed)
		}
	}
}

func TestPickRelease(t *testing.T) {
	rs := registry.Releases(schemas.Agentgateway)
	for target, want := range map[string]string{
		"v1.0.1": "v1.2.1", "v1.2.0": "v1.2.1", "v1.2.9": "v1.2.1", "v1.3.0": "v1.3.1", "v1.4.2": "v1.4.1", "v2.0.0": "v1.4.1",
	} {
		if got := registry.Pick(rs, registry.MustSemver(target)).Set.Version; got != want {
			t.Errorf("%s: picked %s, want %s", target, got, want)
		}
	}
}

func TestInferenceExtensionVersion(t *testing.T) {
	for _, tc := range []struct {
		version, use, err string
		compared          int
	}{
		{version: "", use: "v1.6.0", compared: 1},
		{version: "v1.5", use: "v1.5.0"},
		{version: "v1.5.0", use: "v1.5.0"},
		{version: "1.6.2", use: "v1.6.0"},
		{version: "v1.7.0", use: "v1.6.0"},
		{version: "v1.4.0", err: "pass your release's CRD with --crds"},
		{version: "latest", err: "latest"},
	} {
		v, err := New(Options{InferenceExtensionVersion: tc.version})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want one containing %q", tc.version, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.gie.use.Set.Version != tc.use || len(v.gie.older) != tc.compared {
			t.Errorf("%q: uses %s and compares %d, want %s and %d", tc.version, v.gie.use.Set.Version, len(v.gie.older), tc.use, tc.compared)
		}
	}
}

// TestListSchemas: every embedded file is listed, and each kind version is used from exactly
// one release.
func TestListSchemas(t *testing.T) {
	list, err := ListSchemas(Options{AgentgatewayVersion: "v1.3.0", InferenceExtensionVersion: "v1.5"})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	used := map[string][]string{}
	for _, s := range list {
		files[s.File] = true
		if s.Use == "yes" {
			k := s.Group + "/" + s.Version + "/" + s.Kind
			used[k] = append(used[k], s.Release)
		}
		if s.Constraints == 0 {
			t.Errorf("%s/%s %s: no constraints counted", s.Group, s.Kind, s.Release)
		}
	}
	for _, set := range schemas.Sets() {
		for _, f := range set.Files {
			if !files["schemas/"+f.Path] {
				t.Errorf("schemas/%s not listed", f.Path)
			}
		}
	}
	for k, rs := range used {
		if len(rs) != 1 {
			t.Errorf("%s used from %v", k, rs)
		}
	}
	for k, want := range map[string]string{
		"agentgateway.dev/v1alpha1/AgentgatewayPolicy":   "v1.3.1",
		"inference.networking.k8s.io/v1/InferencePool":   "v1.5.0",
		"gateway.networking.k8s.io/v1/HTTPRoute":         "v1.6.3",
		"external-secrets.io/v1/ExternalSecret":          "v2.9.0",
		"gateway.networking.k8s.io/v1beta1/GatewayClass": "v1.6.3",
	} {
		if got := used[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s: used from %v, want %s", k, got, want)
		}
	}
}
